"""InfluxDB line protocol: ``env,room=lab temp=21.5,hum=40i 1700000000000000000``; fields
are named ``measurement.field``, string fields are notes and skipped."""

from __future__ import annotations

from sensorscope.formats.base import Parsed
from sensorscope.formats.columns import Columns
from sensorscope.formats.times import epoch
from sensorscope.formats.values import BAD, Value, collect, conv

_TRUE = frozenset({"t", "T", "true", "True", "TRUE"})
_FALSE = frozenset({"f", "F", "false", "False", "FALSE"})


class Influx:
    name = "influx"
    leads = ""
    exclusive = False
    priority = 10
    self_describing = True
    positional = False

    def parse(self, s: str, strict: bool, cols: Columns) -> Parsed:
        if "=" not in s or " " not in s:
            return None
        quoted = '"' in s or "\\" in s
        parts = _split_outside_quotes(s, " ") if quoted else s.split(" ")
        parts = [p for p in parts if p]
        if len(parts) == 3:
            stamp = parts[2]
            if not (stamp.isascii() and stamp.lstrip("-").isdigit()):
                return None
        elif len(parts) != 2:
            return None
        head = _split_outside_quotes(parts[0], ",") if quoted else parts[0].split(",")
        meas = head[0]
        if not meas or "=" in meas or ":" in meas:
            return None
        for tag in head[1:]:
            if "=" not in tag:
                return None
        fields = _split_outside_quotes(parts[1], ",") if quoted else parts[1].split(",")
        if quoted:
            meas = meas.replace("\\", "")
        pairs = []
        for f in fields:
            k, sep, val = f.partition("=")
            if not sep or not k:
                return None
            if val[:1] == '"':
                continue  # string fields are notes, not measurements
            pairs.append((k.replace("\\", "") if quoted else k, val))
        values, good, errors, hit, dt = collect(pairs, _value, cols.known, prefix=meas + ".")
        if len(parts) == 3:
            d = epoch(float(parts[2]))
            if d is not None:
                dt = d
        return values, good, errors, hit, dt

    def keyed(self, s: str) -> bool:
        return True

    template = None  # no fast path


def _value(val: str) -> Value:
    if not val:
        return BAD
    if val[-1] in "iu" and len(val) > 1:
        body = val[:-1]
        if body.isascii() and body.lstrip("-").isdigit():
            v = float(body)
            return v if v - v == 0.0 else None
    if val in _TRUE:
        return 1.0
    if val in _FALSE:
        return 0.0
    return conv(val, False)


def _split_outside_quotes(s: str, sep: str) -> list[str]:
    parts = []
    start = 0
    quoted = False
    i = 0
    n = len(s)
    while i < n:
        ch = s[i]
        if ch == "\\":
            i += 2
            continue
        if ch == '"':
            quoted = not quoted
        elif ch == sep and not quoted:
            parts.append(s[start:i])
            start = i + 1
        i += 1
    parts.append(s[start:])
    return parts


FORMAT = Influx()
