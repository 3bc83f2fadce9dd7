"""Per-channel settings: units, scale and offset matched to a channel, and the
``[channels.NAME]`` tables of ``sensorscope.toml`` read and written.

A table holds what the monitor used for one channel (``unit``, ``scale``, ``offset``,
``threshold``, ``low``/``high``), so that the next start on the same recording or board
goes on with it. The file is ``--config`` when one is given, else ``sensorscope.toml``
beside the recording (the one replayed or the ``--record`` file), else in the working
directory. Saving rewrites only the ``[channels…]`` tables: the rest of the file (the
user's ``[detect]`` and ``[keys]``, comments too) is kept as written, and the result is
checked to read back the same before it replaces the file (a temporary file renamed over
it, so a crash leaves the old file or the new one, never half of one).
"""

from __future__ import annotations

import fnmatch
import math
import os
import re
import stat
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from sensorscope.errors import UserError
from sensorscope.model import ChannelConfig, Settings
from sensorscope.settings import read_config, read_toml

if TYPE_CHECKING:
    from sensorscope.pipeline import Pipeline

FILE_NAME = "sensorscope.toml"
T = TypeVar("T")


def for_channel(channel: str, table: Mapping[str, T]) -> T | None:
    """What ``table`` sets for ``channel``: by its name, its name without the source
    prefix, or a shell pattern (``temp*``); an exact name wins over a pattern (as
    ``--range`` matches).

    >>> for_channel("lab1/temp", {"temp": 0.1}), for_channel("hum", {"t*": 2.0})
    (0.1, None)
    """
    if not table:
        return None
    short = channel.rsplit("/", 1)[-1]
    for name in (channel, short):
        if name in table:
            return table[name]
    for pattern, value in table.items():
        if fnmatch.fnmatchcase(channel, pattern) or fnmatch.fnmatchcase(short, pattern):
            return value
    return None


# --------------------------------------------------------------------------- reading


_NUMBERS = ("scale", "offset", "threshold", "low", "high")


def _checked(name: str, table: Any, path: str) -> ChannelConfig:
    where = f"{path}: [channels.{name}]"
    if not isinstance(table, dict):
        raise UserError(f"{where} must be a table (unit, scale, offset, threshold, low, high)")
    known = {f.name for f in fields(ChannelConfig)}
    for key, value in table.items():
        if key not in known:
            raise UserError(f"{where}: unknown key {key!r} (unit, scale, offset, threshold, "
                            "low, high)")  # fmt: skip
        if key == "unit":
            if not isinstance(value, str):
                raise UserError(f'{where}: unit = {value!r}: expected a unit in quotes, "°C"')
            continue
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise UserError(f"{where}: {key} = {value!r}: expected a number")
        if not math.isfinite(value):
            raise UserError(f"{where}: {key} = {value!r}: expected a finite number")
    conf = ChannelConfig(**{k: float(v) if k in _NUMBERS else v for k, v in table.items()})
    if conf.threshold is not None and not 0.0 <= conf.threshold <= 1.0:
        raise UserError(f"{where}: threshold = {conf.threshold:g}: expected a number from 0 to 1")
    if conf.scale == 0:
        raise UserError(f"{where}: scale = 0: the factor must not be 0")
    if conf.low is not None and conf.high is not None and not conf.low < conf.high:
        raise UserError(f"{where}: low must be below high")
    return conf


def read_channels(path: str) -> dict[str, ChannelConfig]:
    """The ``[channels.NAME]`` tables of a settings file, checked; {} if it has none."""
    channels = read_toml(path).get("channels", {})
    if not isinstance(channels, dict):
        raise UserError(f"{path}: [channels] must hold one [channels.NAME] table per channel")
    return {str(name): _checked(str(name), table, path) for name, table in channels.items()}


def with_channels(settings: Settings, channels: Mapping[str, ChannelConfig]) -> Settings:
    """``settings`` with what a file's ``[channels]`` tables set, wherever the settings
    (the command line) do not already set it for that name: the options win."""
    s = replace(
        settings,
        units=dict(settings.units),
        scales=dict(settings.scales),
        offsets=dict(settings.offsets),
        thresholds=dict(settings.thresholds),
        limits=dict(settings.limits),
    )
    for name, conf in channels.items():
        if conf.unit:
            s.units.setdefault(name, conf.unit)
        if conf.scale is not None:
            s.scales.setdefault(name, conf.scale)
        if conf.offset is not None:
            s.offsets.setdefault(name, conf.offset)
        if conf.threshold is not None:
            s.thresholds.setdefault(name, conf.threshold)
        if conf.low is not None or conf.high is not None:
            lo = -math.inf if conf.low is None else conf.low
            hi = math.inf if conf.high is None else conf.high
            s.limits.setdefault(name, (lo, hi))
    return s


def channels_path(config: str | None, record: str | None, files: Sequence[str]) -> str:
    """Where the channels' settings are read and saved: the ``--config`` file, else
    ``sensorscope.toml`` beside the recording replayed (or followed), else beside the one
    being written, else in the working directory."""
    if config:
        return config
    for beside in (*files, record):
        if beside:
            return str(Path(beside).resolve().with_name(FILE_NAME))
    return FILE_NAME


# --------------------------------------------------------------------------- writing


def channel_configs(pipeline: Pipeline, settings: Settings) -> dict[str, ChannelConfig]:
    """What each channel of a run uses now, as its ``[channels.NAME]`` table keeps it: the
    unit shown, scale, offset, a threshold changed from the default, a range."""
    thresholds = pipeline.set_thresholds()
    out = {}
    for name in pipeline.channel_names():
        lo_hi = for_channel(name, settings.limits)
        lo, hi = lo_hi if lo_hi is not None else (-math.inf, math.inf)
        out[name] = ChannelConfig(
            unit=pipeline.unit_of(name) or None,
            scale=for_channel(name, settings.scales),
            offset=for_channel(name, settings.offsets),
            threshold=thresholds.get(name),
            low=lo if math.isfinite(lo) else None,
            high=hi if math.isfinite(hi) else None,
        )
    return out


@dataclass(frozen=True)
class Saved:
    """What :func:`save_channels` did: the file and how many channel tables it holds."""

    path: str
    channels: int


def _string(text: str) -> str:
    """A TOML basic string: quotes, backslashes and control characters escaped."""
    out = ['"']
    for c in text:
        if c in ('"', "\\"):
            out.append("\\" + c)
        elif c == "\n":
            out.append("\\n")
        elif c == "\t":
            out.append("\\t")
        elif ord(c) < 0x20 or ord(c) == 0x7F:
            out.append(f"\\u{ord(c):04x}")
        else:
            out.append(c)
    out.append('"')
    return "".join(out)


def _number(v: float) -> str:
    # repr of a float is TOML's float syntax too ("0.1", "1e-05", "inf").
    return repr(float(v))


def channel_tables(channels: Mapping[str, ChannelConfig]) -> str:
    """The ``[channels."NAME"]`` tables, names sorted, unset fields left out.

    >>> print(channel_tables({"temp": ChannelConfig(unit="°C", scale=0.1)}), end="")
    [channels."temp"]
    unit = "°C"
    scale = 0.1
    """
    lines: list[str] = []
    for name in sorted(channels):
        conf = channels[name]
        body = []
        for f in fields(ChannelConfig):
            value = getattr(conf, f.name)
            if value is None or value == "":
                continue
            shown = _string(value) if isinstance(value, str) else _number(value)
            body.append(f"{f.name} = {shown}")
        if body:
            if lines:
                lines.append("")
            lines += [f"[channels.{_string(name)}]", *body]
    return "\n".join(lines) + "\n" if lines else ""


# A table header: "[name]" or "[[name]]", a comment after it allowed.
_HEADER = re.compile(r"^[ \t]*\[\[?[ \t]*([^\]\n]*?)[ \t]*\]\]?[ \t]*(?:#.*)?$")
_CHANNELS = re.compile(r"""^(?:channels|"channels"|'channels')[ \t]*(?:\.|$)""")


def _without_channels(text: str) -> str:
    """The file's text with its ``[channels…]`` tables taken out, the rest as written."""
    kept: list[str] = []
    inside = False
    for line in text.splitlines(keepends=True):
        m = _HEADER.match(line)
        if m is not None:
            inside = _CHANNELS.match(m.group(1)) is not None
        if not inside:
            kept.append(line)
    body = "".join(kept).rstrip()
    return body + "\n" if body else ""


def save_channels(path: str, channels: Mapping[str, ChannelConfig]) -> Saved:
    """Write the ``[channels]`` tables into the settings file at ``path`` (made if need
    be), keeping the rest of it; a UserError says why it could not be."""
    try:
        old = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        old = ""
    except (OSError, UnicodeDecodeError) as exc:
        raise UserError(f"cannot read {path}: {getattr(exc, 'strerror', None) or exc}") from None
    kept = _without_channels(old)
    tables = channel_tables(channels)
    text = kept + ("\n" if kept and tables else "") + tables
    if not text:
        text = "# sensorscope: no channel settings\n"
    _check_round_trip(path, old, text, channels)
    # A link to the user's file stays a link: the file it points at is the one replaced.
    target = os.path.realpath(path)
    try:
        mode = stat.S_IMODE(os.stat(target).st_mode) if old else 0o644
        fd, tmp = tempfile.mkstemp(
            prefix=".sensorscope-", suffix=".toml", dir=os.path.dirname(target)
        )
        try:
            with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as fh:
                fh.write(text)
                fh.flush()
                os.fsync(fh.fileno())
            # mkstemp makes it private; the file keeps the permissions it had.
            os.chmod(tmp, mode)
            os.replace(tmp, target)
        except BaseException:
            os.unlink(tmp)
            raise
    except OSError as exc:
        raise UserError(f"cannot write {path}: {exc.strerror or exc}") from None
    return Saved(path, sum(1 for line in tables.splitlines() if line.startswith("[")))


def update_channels(path: str, channels: Mapping[str, ChannelConfig]) -> Saved:
    """:func:`save_channels` of these channels' tables into the file at ``path``, the
    tables it holds for other channels (not in this run) kept as they are."""
    exists = os.path.exists(path)
    kept = read_channels(path) if exists else {}
    ranges = _file_ranges(path) if exists else {}
    for name, conf in channels.items():
        if conf.low is not None or conf.high is not None:
            lo = -math.inf if conf.low is None else conf.low
            hi = math.inf if conf.high is None else conf.high
            if for_channel(name, ranges) == (lo, hi):
                # The file's [detect.limits] says it already; a copy here would shadow a
                # later edit of that table.
                conf = replace(conf, low=None, high=None)
        kept[name] = conf
    return save_channels(path, kept)


def _file_ranges(path: str) -> dict[str, tuple[float, float]]:
    limits = read_config(path).get("limits", {})
    return {str(k): (float(v[0]), float(v[1])) for k, v in limits.items()}


def _check_round_trip(
    path: str, old: str, text: str, channels: Mapping[str, ChannelConfig]
) -> None:
    """The new text must read as the old file's other tables plus these channels: a file
    that keeps ``channels`` some way the line-wise cut cannot see (an inline table, a
    dotted key) is left alone rather than mangled."""
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        import tomli as tomllib  # type: ignore[no-redef]

    try:
        before = tomllib.loads(old) if old else {}
    except tomllib.TOMLDecodeError as exc:
        raise UserError(f"{path}: not TOML ({exc}); not overwritten") from None
    try:
        after = tomllib.loads(text)
    except tomllib.TOMLDecodeError:
        after = None
    before.pop("channels", None)
    theirs = dict(after or {})
    got = theirs.pop("channels", {})
    wanted = {
        name: {f.name: getattr(c, f.name) for f in fields(ChannelConfig)
               if getattr(c, f.name) not in (None, "")}
        for name, c in channels.items()
    }  # fmt: skip
    if after is None or theirs != before or got != {k: v for k, v in wanted.items() if v}:
        raise UserError(f"{path}: its [channels] are written in a way this cannot update "
                        "(an inline table or dotted keys?); not overwritten")  # fmt: skip
