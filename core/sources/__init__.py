"""Sources: serial ports and pyserial URLs, recordings, CSV series, stdin and MQTT.

One module per kind; :mod:`sensorscope.sources.base` holds what they share and
:mod:`sensorscope.sources.open` chooses one for a command-line argument. Every name is
also importable from here, as it was when this package was one module.

Those names are looked up when first asked for, not imported here: Python runs this file
before any module of the package, so importing them here would make the recording format
(which needs only ``sensorscope.sources.base``) import the replays that read it, an import
cycle. The same goes for MQTT, and for start-up: ``base`` alone pulls in neither pyserial
nor the MQTT client.
"""

from __future__ import annotations

import importlib
from typing import Any

# Where each name lives.
_HOME = {
    "sensorscope.sources.base": (
        "DEFAULT_MAX_LINE",
        "FILE_BATCH",
        "READ_TIMEOUT",
        "Frame",
        "LineFramer",
        "Source",
        "SourceStatus",
        "decode_line",
    ),
    "sensorscope.sources.serial": (
        "APPEAR_POLL",
        "BACKOFF_MAX",
        "BACKOFF_START",
        "DEFAULT_BAUD",
        "SerialSource",
        "open_error",
        "serial_name",
        "split_baud",
    ),
    "sensorscope.sources.stdin": ("StdinSource", "keys_from_terminal"),
    "sensorscope.sources.replay": ("FollowSource", "Pacer", "RecordingSource", "ReplaySource"),
    "sensorscope.sources.csv": ("TIME_COLUMNS", "CsvSource"),
    "sensorscope.sources.mqtt": ("MqttSource",),
    "sensorscope.sources.open": (
        "describe_sources",
        "is_serial_spec",
        "make_source",
        "several_sources",
    ),
}
_WHERE = {name: module for module, names in _HOME.items() for name in names}

__all__ = sorted(_WHERE)


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_WHERE})
