"""Choosing a source: what a command-line argument names, and what a recording's header
says about the sources it holds."""

from __future__ import annotations

import os
import stat
from collections.abc import Sequence
from typing import Any

from sensorscope.errors import UserError
from sensorscope.sources.base import DEFAULT_MAX_LINE, Source
from sensorscope.sources.csv import CsvSource
from sensorscope.sources.replay import FollowSource, RecordingSource
from sensorscope.sources.serial import DEFAULT_BAUD, SerialSource, split_baud
from sensorscope.sources.stdin import StdinSource


def several_sources(names: Sequence[str]) -> bool:
    """True when channels need their source's name in front of them: several sources, or
    one that stands for many (an MQTT topic filter with a wildcard, each topic a source).

    >>> several_sources(["ttyACM0"]), several_sources(["a", "b"]), several_sources(["mqtt:lab/#"])
    (False, True, True)
    """
    if len(set(names)) > 1:
        return True
    return any(n.startswith(("mqtt:", "mqtts:")) and ("#" in n or "+" in n) for n in names)


def describe_sources(sources: Sequence[Source]) -> dict[str, dict[str, Any]]:
    """What a recording's header says about its sources."""
    out: dict[str, dict[str, Any]] = {}
    for s in sources:
        info: dict[str, Any] = {"kind": s.kind}
        if isinstance(s, SerialSource):
            info.update(port=s.port, baud=s.baud)
        elif isinstance(getattr(s, "url", None), str):
            info.update(url=s.url)
        elif hasattr(s, "path"):
            info.update(path=s.path)
        for name in s.names:
            out[name] = info
    return out


def is_serial_spec(spec: str) -> bool:
    if "://" in spec:
        return True
    path = spec.split("@")[0]
    return path.startswith("/dev/") or path.upper().startswith("COM")


def make_source(
    spec: str,
    *,
    baud: int = DEFAULT_BAUD,
    speed: float | None = None,
    max_line: int = DEFAULT_MAX_LINE,
    follow: bool = False,
    loop: bool = False,
    mqtt: Any = None,
    stdin: int | None = None,
    send_on_connect: bytes | None = None,
) -> Source:
    """Build the source a command-line argument names (``send_on_connect``: bytes a port
    is sent each time it connects).

    ``-`` is stdin; ``*.csv`` a CSV series; a file that starts like a sensorscope recording is
    replayed (or tailed with ``follow``); ``mqtt://`` and ``mqtts://`` URLs subscribe to a
    broker (``mqtt`` holds credentials and TLS files, a :class:`sensorscope.mqtt.MqttOptions`);
    ``stdin`` is the descriptor ``-`` reads when not 0 (see :func:`keys_from_terminal`);
    device paths and other URLs (``socket://``, ``rfc2217://``, ``loop://``) are serial.
    """
    if spec == "-":
        return StdinSource(stream=stdin, max_line=max_line)
    if spec.lower().startswith(("mqtt://", "mqtts://")):
        # Here, not at the top: the MQTT modules (and ssl) would cost every serial port,
        # file and pipe some 25 ms of start-up.
        from sensorscope.mqtt import parse_url
        from sensorscope.sources.mqtt import MqttSource

        return MqttSource(parse_url(spec, topic="filter"), mqtt, max_line=max_line)
    if is_serial_spec(spec):
        port, port_baud = split_baud(spec, baud)
        if "://" in port or not os.path.isfile(port):
            return SerialSource(port, port_baud, max_line=max_line, send_on_connect=send_on_connect)
    if not os.path.exists(spec):
        raise UserError(f"no such file or port: {spec}")
    if os.path.isdir(spec):
        raise UserError(f"{spec} is a directory, not a recording or port")
    if not os.access(spec, os.R_OK):
        raise UserError(f"permission denied: cannot read {spec}")
    if spec.lower().endswith(".csv"):
        if follow:
            raise UserError(f"{spec}: --follow tails recordings (.jsonl), not CSV files")
        return CsvSource(spec, speed, loop)
    if spec.lower().endswith((".jsonl", ".json")):
        return FollowSource(spec) if follow else RecordingSource(spec, speed, loop)
    # Character devices that are not under /dev (a symlink like ./board -> /dev/pts/3).
    if stat.S_ISCHR(os.stat(spec).st_mode):
        port, port_baud = split_baud(spec, baud)
        return SerialSource(port, port_baud, max_line=max_line, send_on_connect=send_on_connect)
    return FollowSource(spec) if follow else RecordingSource(spec, speed, loop)
