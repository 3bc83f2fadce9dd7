"""Prose with units: ``Temperature: 23.5 *C  Humidity: 45 %`` (labels may hold spaces)."""

from __future__ import annotations

import re

from sensorscope.formats.base import Parsed
from sensorscope.formats.columns import Columns
from sensorscope.formats.values import collect, conv_units, unit_of

_PROSE = re.compile(
    r"([^\W\d_][^:=]*?)[ \t]*:[ \t]*"  # label, may hold spaces: "Air temp"
    r"([^\s,;|:]+)"  # value, maybe with its unit glued on
    r"([ \t]{1,2}[^\s\d,;:|.+\-=][^\s,;:|=]*)?"  # unit after a space: "%", "*C", "Â°C"
    r"(?![^\s,;|])(?![ \t]*[:=])"  # ...unless that "unit" is really the next label
    r"[\s,;|]*"
)


class Prose:
    name = "prose"
    leads = ""
    exclusive = False
    priority = 40
    self_describing = False
    positional = False

    def parse(self, s: str, strict: bool, cols: Columns) -> Parsed:
        if ":" not in s:
            return None
        errors = 0
        if strict:
            matches = []
            pos = 0
            end = len(s)
            while pos < end:
                m = _PROSE.match(s, pos)
                if m is None:
                    errors += 1
                    break
                matches.append(m)
                pos = m.end()
        else:
            matches = list(_PROSE.finditer(s))
        if not matches:
            return None
        return collect(
            ((m.group(1).strip(), m.group(2)) for m in matches), conv_units, cols.known, errors
        )

    def keyed(self, s: str) -> bool:
        return False

    def units(self, s: str) -> dict[str, str]:
        """The unit each label's value carries, glued on or after a space ("45.00 %")."""
        found = {}
        for m in _PROSE.finditer(s):
            after = m.group(3)
            unit = after.strip().replace("Â°", "°") if after else unit_of(m.group(2))
            if unit:
                found[m.group(1).strip()] = unit
        return found

    template = None  # no fast path


FORMAT = Prose()
