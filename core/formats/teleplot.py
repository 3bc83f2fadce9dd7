"""Teleplot: ``>temp:21.5``, ``>temp:1700000000123:21.5`` (with a time), ``>temp:21.5§C``."""

from __future__ import annotations

from sensorscope.formats.base import Parsed
from sensorscope.formats.columns import Columns
from sensorscope.formats.times import parse_time
from sensorscope.formats.values import BAD, TIME_KEYS, conv, unit_of


class Teleplot:
    name = "teleplot"
    leads = ">"
    exclusive = False
    priority = 0
    self_describing = True
    positional = False

    def parse(self, s: str, strict: bool, cols: Columns) -> Parsed:
        if s[0] != ">":
            return None
        body = s[1:]
        bar = body.find("|")
        if bar != -1:
            flags = body[bar + 1 :].replace(",", " ").split()
            if "t" in flags or "xy" in flags:
                return None  # text and xy telemetry carry no scalar value
            body = body[:bar]
        unit = body.find("§")
        if unit != -1:
            body = body[:unit]
        name, sep, rest = body.partition(":")
        name = name.strip()
        if not sep or not name or name in TIME_KEYS:
            return None
        if ";" in rest:
            rest = rest[rest.rfind(";") + 1 :]  # several points: the newest is the last
        stamp, sep, val = rest.rpartition(":")
        if ":" in stamp:
            return None
        dt = parse_time(stamp.strip()) if sep else None
        v = conv(val.strip(), True)
        if v is BAD:
            return {name: None}, 0, 1, name in cols.known, dt
        if v is None:
            return {name: None}, 0, 0, name in cols.known, dt
        return {name: v}, 1, 0, False, dt

    def keyed(self, s: str) -> bool:
        return True

    def units(self, s: str) -> dict[str, str]:
        """``>temp:21.5§°C``: what follows '§' (up to the flags); else a unit glued on."""
        if s[:1] != ">":
            return {}
        body = s[1:].partition("|")[0]
        body, mark, unit = body.partition("§")
        name, _sep, rest = body.partition(":")
        unit = unit.strip() if mark else unit_of(rest.rpartition(":")[2])
        return {name.strip(): unit} if unit and name.strip() else {}

    template = None  # no fast path


FORMAT = Teleplot()
