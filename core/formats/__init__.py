"""Line formats -> :class:`~sensorscope.model.Reading`: find a source's format once, then
parse on its fast path.

A device prints text lines in one of a handful of conventions (Arduino Serial Plotter,
key=value, CSV, prose with units, Teleplot, JSON, Influx line protocol, NMEA 0183), one
module each here, each a :class:`LineFormat` (:mod:`.base`) listed in :mod:`.registry`.
:class:`LineParser` (:mod:`.parser`) detects which one a source speaks, locks it, and
learns templates for the fast path (:mod:`.template`, :mod:`.fast`); channel birth is
:mod:`.channels`, headers and positional names :mod:`.columns`, device times :mod:`.times`.
"""

from __future__ import annotations

from sensorscope.formats.base import LineFormat, ParseCounters, ParsedLines, ParseError
from sensorscope.formats.parser import REDETECT_AFTER, LineParser
from sensorscope.formats.registry import FORMATS, formats, register, unregister
from sensorscope.formats.times import parse_time, parse_times

__all__ = [
    "FORMATS",
    "REDETECT_AFTER",
    "LineFormat",
    "LineParser",
    "ParseCounters",
    "ParseError",
    "ParsedLines",
    "formats",
    "parse_time",
    "parse_times",
    "register",
    "unregister",
]
