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

from sensorscope.lazy import lazy_exports

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
__all__, __getattr__, __dir__ = lazy_exports(globals(), _HOME)
