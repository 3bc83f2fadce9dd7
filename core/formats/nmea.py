"""NMEA 0183 sentences: ``$IIXDR,C,21.5,C,AIRTEMP*hh`` (transducer readings by name),
``$IIMTW,18.5,C*hh`` (water temperature); other sentences keep their numbers, named
``address.field``. A sentence that fails its checksum is garbage (damaged on the wire)."""

from __future__ import annotations

import re

from sensorscope.formats.base import CORRUPT, Parsed
from sensorscope.formats.columns import Columns
from sensorscope.formats.values import BAD, conv

_ADDR = re.compile(r"[A-Z][A-Z0-9]{1,9}", re.ASCII)
_HEX = frozenset("0123456789abcdefABCDEF")


class Nmea:
    name = "nmea"
    leads = "$!"
    exclusive = True
    priority = 0
    self_describing = True
    positional = False

    def parse(self, s: str, strict: bool, cols: Columns) -> Parsed:
        if s[0] != "$" and s[0] != "!":
            return None
        body = s[1:]
        star = body.rfind("*")
        checksum = None
        if star != -1:
            checksum = body[star + 1 :]
            body = body[:star]
        fields = body.split(",")
        addr = fields[0]
        if len(fields) < 2 or _ADDR.fullmatch(addr) is None:
            return None
        if checksum is not None:
            # A sentence that fails its checksum was damaged on the wire: noise, not text.
            if len(checksum) != 2 or not _HEX.issuperset(checksum) or not body.isascii():
                return CORRUPT
            x = 0
            for b in body.encode():
                x ^= b
            if x != int(checksum, 16):
                return CORRUPT
        kind = addr[2:] if len(addr) == 5 else addr
        known = cols.known
        values: dict[str, float | None] = {}
        good = errors = 0
        hit = False
        if kind == "XDR" or kind == "MTW":
            for name, val in _named(kind, fields):
                v = conv(val, False)
                if v is BAD:
                    errors += 1
                    v = None
                    if name in known:
                        hit = True
                elif v is None:
                    if name in known:
                        hit = True
                else:
                    good += 1
                values[name] = v
        else:
            # Other sentences mix numbers with letters (N/S, units): keep the numbers only.
            for i in range(1, len(fields)):
                f = fields[i]
                if f:
                    v = conv(f, False)
                    if v is not None and v is not BAD:
                        values[f"{addr}.{i}"] = v
                        good += 1
        return values, good, errors, hit, None

    def keyed(self, s: str) -> bool:
        return False

    template = None  # no fast path


def _named(kind: str, fields: list[str]) -> list[tuple[str, str]]:
    """(name, value) of an XDR sentence's transducers, or of an MTW's water temperature."""
    if kind == "MTW":
        return [("water_temp", fields[1])]
    items = []
    rest = fields[1:]
    for q in range(0, len(rest), 4):
        grp = rest[q : q + 4]
        if not any(x.strip() for x in grp):
            continue
        name = grp[3].strip() if len(grp) > 3 else ""
        if not name:
            name = f"{grp[0].strip() or 'XDR'}{q // 4}"
        items.append((name, grp[1] if len(grp) > 1 else ""))
    return items


FORMAT = Nmea()
