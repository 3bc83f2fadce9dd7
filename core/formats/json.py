"""JSON objects, one a line: ``{"temp": 21.5, "env": {"hum": 40}}`` (nested names joined
by '.', booleans 1/0, numeric strings count, words are skipped)."""

from __future__ import annotations

import json

from sensorscope.formats.base import Parsed
from sensorscope.formats.columns import Columns
from sensorscope.formats.times import epoch, parse_time
from sensorscope.formats.values import BAD, TIME_KEYS, conv

_DEPTH = 16


class Json:
    name = "json"
    leads = "{"
    exclusive = True
    priority = 0
    self_describing = True
    positional = False

    def parse(self, s: str, strict: bool, cols: Columns) -> Parsed:
        if s[0] != "{":
            return None
        try:
            obj = json.loads(s)
        except (ValueError, RecursionError):
            return None
        if not isinstance(obj, dict):
            return None
        values: dict[str, float | None] = {}
        dt = None
        for k, v in obj.items():
            k = k.strip()
            if not k:
                continue
            if k in TIME_KEYS:
                d = _json_time(v)
                if d is not None:
                    dt = d
                continue
            _put(k, v, values, 0)
        good = 0
        hit = False
        known = cols.known
        for k, v in values.items():
            if v is None:
                if k in known:
                    hit = True
            else:
                good += 1
        return values, good, 0, hit, dt

    def keyed(self, s: str) -> bool:
        return True

    template = None  # no fast path


def _json_time(v: object) -> float | None:
    if isinstance(v, bool):
        return None
    if isinstance(v, (int, float)):
        try:
            return epoch(float(v))
        except OverflowError:
            return None
    if isinstance(v, str):
        return parse_time(v)
    return None


def _put(name: str, v: object, out: dict[str, float | None], depth: int) -> None:
    if isinstance(v, bool):
        out[name] = 1.0 if v else 0.0
    elif isinstance(v, (int, float)):
        try:
            f = float(v)
        except OverflowError:
            out[name] = None
            return
        out[name] = f if f - f == 0.0 else None
    elif v is None:
        out[name] = None
    elif isinstance(v, str):
        # Numeric strings count; words are labels or states, skipped rather than errors.
        if v.strip():
            r = conv(v, False)
            if r is not BAD:
                out[name] = r
    elif depth < _DEPTH:
        if isinstance(v, dict):
            for k, item in v.items():
                k = k.strip()
                if k:
                    _put(f"{name}.{k}", item, out, depth + 1)
        elif isinstance(v, list):
            for i, item in enumerate(v):
                _put(f"{name}.{i}", item, out, depth + 1)


FORMAT = Json()
