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

from sensorscope.lazy import lazy_exports

# Where each name lives. Looked up when first asked for: a command that only needs the
# format names (the --format help) does not load the parser and its fast path.
_HOME = {
    "sensorscope.formats.base": ("LineFormat", "ParseCounters", "ParsedLines", "ParseError"),
    "sensorscope.formats.parser": ("REDETECT_AFTER", "LineParser"),
    "sensorscope.formats.registry": ("FORMATS", "formats", "register", "unregister"),
    "sensorscope.formats.times": ("parse_time", "parse_times"),
}
__all__, __getattr__, __dir__ = lazy_exports(globals(), _HOME)
