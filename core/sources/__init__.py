"""Sources: serial ports and pyserial URLs, recordings, CSV series, stdin and MQTT.

One module per kind; :mod:`sensorscope.sources.base` holds what they share and
:mod:`sensorscope.sources.open` chooses one for a command-line argument. Every name is
also importable from here, as it was when this package was one module.
"""

from __future__ import annotations

from sensorscope.sources.base import (
    DEFAULT_MAX_LINE,
    FILE_BATCH,
    READ_TIMEOUT,
    Frame,
    LineFramer,
    Source,
    SourceStatus,
    decode_line,
)
from sensorscope.sources.csv import TIME_COLUMNS, CsvSource
from sensorscope.sources.open import (
    describe_sources,
    is_serial_spec,
    make_source,
    several_sources,
)
from sensorscope.sources.replay import FollowSource, Pacer, RecordingSource, ReplaySource
from sensorscope.sources.serial import (
    APPEAR_POLL,
    BACKOFF_MAX,
    BACKOFF_START,
    DEFAULT_BAUD,
    SerialSource,
    open_error,
    serial_name,
    split_baud,
)
from sensorscope.sources.stdin import StdinSource, keys_from_terminal

__all__ = [
    "APPEAR_POLL",
    "BACKOFF_MAX",
    "BACKOFF_START",
    "DEFAULT_BAUD",
    "DEFAULT_MAX_LINE",
    "FILE_BATCH",
    "READ_TIMEOUT",
    "TIME_COLUMNS",
    "CsvSource",
    "FollowSource",
    "Frame",
    "LineFramer",
    "Pacer",
    "RecordingSource",
    "ReplaySource",
    "SerialSource",
    "Source",
    "SourceStatus",
    "StdinSource",
    "decode_line",
    "describe_sources",
    "is_serial_spec",
    "keys_from_terminal",
    "make_source",
    "open_error",
    "serial_name",
    "several_sources",
    "split_baud",
]
