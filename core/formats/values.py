"""Tokens -> values: the number rules every format shares.

A token is a number (ASCII digits only; ``inf``/``nan`` count as missing), a missing-value
marker (``nan``, ``null``, ``-``, ``n/a`` ...), a number with a unit glued on where the
format allows units (``23.5C``, ``45 %``), or bad (:data:`BAD`).
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable, Iterable

from sensorscope.formats.times import parse_time


class Bad:
    """Sentinel: a token that is neither a number nor a missing-value marker."""

    __slots__ = ()


BAD = Bad()

Value = float | None | Bad

MISSING = frozenset({"", "nan", "inf", "-inf", "+inf", "ovf", "null", "none", "-", "n/a", "na"})


def _case_variants(word: str) -> set[str]:
    return {"".join(p) for p in itertools.product(*((c.lower(), c.upper()) for c in word))}


# Precomputed spellings so the per-field check is one set lookup instead of a .lower().
# A lone "T" stays a channel: "T=23.5 H=45.1" is a temperature far more often than a clock.
TIME_KEYS = frozenset(
    {"t"} | _case_variants("time") | _case_variants("ts") | _case_variants("timestamp")
)
CSV_TIME_KEYS = TIME_KEYS | _case_variants("date") | _case_variants("datetime")

# A number glued to (or one space from) a unit: "23.5C", "45 %", "23.50 *C", "23.5 Â°C".
# The unit may not start with a digit, '.', a sign or 'x', so "1.2.3", "12-3" and "0x1F"
# stay errors instead of turning into 1.2, 12 and 0.
_NUM_UNIT = re.compile(
    r"([-+]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][-+]?[0-9]+)?)"
    r"[ \t]*(?![xX])[^\s0-9.,;:+\-=][^\s0-9]*[23]?"
)


def slow_value(tok: str, units: bool) -> Value:
    """The value of a token ``float()`` refused: missing, a number with a unit, or bad."""
    t = tok.strip()
    if t.lower() in MISSING:
        return None
    if units:
        m = _NUM_UNIT.fullmatch(t)
        if m is not None:
            v = float(m.group(1))
            return v if v - v == 0.0 else None
    return BAD


def unit_of(tok: str) -> str:
    """The unit glued to (or one space from) a number, as printed; "" when there is none.

    Mojibake of a degree sign ("Â°", UTF-8 read as Latin-1 on the way) is shown as "°".

    >>> unit_of("23.5C"), unit_of("45 %"), unit_of("21.5"), unit_of("23.5 Â°C")
    ('C', '%', '', '°C')
    """
    m = _NUM_UNIT.fullmatch(tok.strip())
    if m is None:
        return ""
    return m.group(0)[m.end(1) - m.start(0) :].strip().replace("Â°", "°")


def conv(tok: str, units: bool) -> Value:
    """A token's value: a finite float, None (missing) or :data:`BAD`.

    >>> conv("21.5", False), conv("nan", False), conv("23.5C", True), conv("23.5C", False) is BAD
    (21.5, None, 23.5, True)
    """
    try:
        v = float(tok)
    except ValueError:
        return slow_value(tok, units)
    # float() also takes "٣" and other non-ASCII digits; a device never means those.
    if tok.isascii():
        # inf - inf is nan, so this is isfinite() without the call.
        return v if v - v == 0.0 else None
    return BAD


def conv_units(tok: str) -> Value:
    """:func:`conv` where units may follow the number."""
    return conv(tok, True)


def collect(
    pairs: Iterable[tuple[str, str]],
    convert: Callable[[str], Value],
    known: set[str],
    errors: int = 0,
    prefix: str = "",
) -> tuple[dict[str, float | None], int, int, bool, float | None]:
    """Named tokens -> a format's result (see :data:`sensorscope.formats.base.Result`),
    counting good, bad and known-but-missing fields.

    A name in ``TIME_KEYS`` is the device time, not a channel; channels are named
    ``prefix + name``.

    >>> collect([("temp", "21.5"), ("hum", "x"), ("time", "1700000000")], conv_units, set())
    ({'temp': 21.5, 'hum': None}, 1, 1, False, 1700000000.0)
    """
    values: dict[str, float | None] = {}
    good = 0
    hit = False
    dt = None
    for k, val in pairs:
        if k in TIME_KEYS:
            d = parse_time(val)
            if d is not None:
                dt = d
            continue
        name = prefix + k
        v = convert(val)
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
    return values, good, errors, hit, dt
