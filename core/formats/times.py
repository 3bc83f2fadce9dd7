"""Device time fields -> epoch seconds: numbers told apart by magnitude, ISO 8601 strings."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime

__all__ = ["epoch", "epochs", "iso_time", "parse_time", "parse_times"]

_ISO = re.compile(
    r"(\d{4})-(\d\d)-(\d\d)(?:[T ](\d\d):(\d\d)(?::(\d\d)(?:[.,](\d+))?)?)?"
    r"[ \t]*(Z|[+-]\d\d(?::?\d\d)?)?",
    re.ASCII | re.IGNORECASE,
)
_EPOCH = datetime(1970, 1, 1)


def epoch(v: float) -> float | None:
    """Epoch seconds from a number of seconds, ms, us or ns since 1970; None if it is none."""
    # Units told apart by magnitude; anything else (uptime millis, counters) is no clock.
    if 1e9 <= v < 1e10:
        return v
    if 1e12 <= v < 1e13:
        return v / 1e3
    if 1e15 <= v < 1e16:
        return v / 1e6
    if 1e18 <= v < 1e19:
        return v / 1e9
    return None


def iso_time(text: str) -> float | None:
    """Epoch seconds from an ISO 8601 date or date-time (naive means UTC); None if none."""
    m = _ISO.fullmatch(text.strip())
    if m is None:
        return None
    y, mo, d, h, mi, sec, frac, tz = m.groups()
    try:
        dt = datetime(int(y), int(mo), int(d), int(h or 0), int(mi or 0), int(sec or 0))
    except ValueError:
        return None
    ts = (dt - _EPOCH).total_seconds()
    if frac:
        frac = frac[:9]
        ts += int(frac) / 10 ** len(frac)
    if tz and tz.upper() != "Z":
        offset = int(tz[1:3]) * 3600 + (int(tz[-2:]) * 60 if len(tz) > 3 else 0)
        ts += -offset if tz[0] == "+" else offset
    return ts


def parse_time(text: str) -> float | None:
    """Epoch seconds from a device time field, or None if it is no plausible clock.

    Numbers are epoch seconds, ms, us or ns told apart by magnitude; strings are ISO 8601
    (naive means UTC). Uptime counters give None.

    >>> parse_time("1700000000123"), parse_time("2024-01-02T03:04:05Z"), parse_time("12345")
    (1700000000.123, 1704164645.0, None)
    """
    try:
        v = float(text)
    except ValueError:
        return iso_time(text)
    if not text.isascii():
        return None
    return epoch(v)


def epochs(texts: Sequence[str]) -> list[float | None] | None:
    """:func:`parse_time` of each text when every one is an ASCII number (a column of
    epoch stamps), told apart by magnitude for all at once as :func:`epoch` does; None
    when some text is not.

    >>> epochs(["1700000000.5", "1700000000123", "12345", "nan"])
    [1700000000.5, 1700000000.123, None, None]
    """
    try:
        values = list(map(float, texts))
    except ValueError:
        return None
    if not all(map(str.isascii, texts)):
        return None
    import numpy as np  # not at import time: `record` opens its port before numpy loads

    v = np.array(values, dtype=np.float64)
    out = np.full(len(v), np.nan)
    # The same divisions as epoch's, so the same roundings.
    for low, high, div in ((1e9, 1e10, 1.0), (1e12, 1e13, 1e3), (1e15, 1e16, 1e6),
                           (1e18, 1e19, 1e9)):  # fmt: skip
        sel = (v >= low) & (v < high)
        out[sel] = v[sel] if div == 1.0 else v[sel] / div
    got: list[float | None] = out.tolist()
    for i in np.flatnonzero(np.isnan(out)).tolist():
        got[i] = None
    return got


# Days before each month in a common year, and a month's length (index 0 unused).
_MONTH_DAYS = (0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)
_ORD = tuple(ord(c) for c in "0123456789-:TtZz ")


def parse_times(texts: Sequence[str]) -> list[float | None]:
    """:func:`parse_time` of each text; the ISO shape files use most, ``YYYY-MM-DD
    HH:MM:SS`` (``T`` or space, optional ``Z``), is done for all of them at once.

    >>> parse_times(["2014-04-01 00:00:00", "2014-02-30T00:00:00Z", "1700000000123", "x"])
    [1396310400.0, None, 1700000000.123, None]
    """
    n = len(texts)
    if n < 8:
        return [parse_time(x) for x in texts]
    import numpy as np

    numbers = epochs(texts)
    if numbers is not None:
        return numbers
    lens = np.fromiter(map(len, texts), dtype=np.intp, count=n)
    shaped = (lens == 19) | (lens == 20)
    if not shaped.any():
        return [parse_time(x) for x in texts]
    # Longer texts are cut to 20 here, and left to parse_time by their length.
    c = np.array(texts, dtype="<U20").view(np.uint32).reshape(n, 20).astype(np.int64)
    zero, nine, dash, colon, t_up, t_low, z_up, z_low, space = _ORD[0], *_ORD[9:]
    d = c - zero
    for j in (0, 1, 2, 3, 5, 6, 8, 9, 11, 12, 14, 15, 17, 18):
        shaped &= (c[:, j] >= zero) & (c[:, j] <= nine)
    sep = c[:, 10]
    shaped &= (c[:, 4] == dash) & (c[:, 7] == dash) & (c[:, 13] == colon) & (c[:, 16] == colon)
    shaped &= (sep == t_up) | (sep == t_low) | (sep == space)
    shaped &= (lens == 19) | (c[:, 19] == z_up) | (c[:, 19] == z_low)
    year = d[:, 0] * 1000 + d[:, 1] * 100 + d[:, 2] * 10 + d[:, 3]
    month = d[:, 5] * 10 + d[:, 6]
    day = d[:, 8] * 10 + d[:, 9]
    hour, minute, sec = d[:, 11] * 10 + d[:, 12], d[:, 14] * 10 + d[:, 15], d[:, 17] * 10 + d[:, 18]
    leap = (year % 4 == 0) & ((year % 100 != 0) | (year % 400 == 0))
    length = np.array(_MONTH_DAYS)[np.clip(month, 0, 12)] + ((month == 2) & leap)
    valid = (year >= 1) & (month >= 1) & (month <= 12) & (day >= 1) & (day <= length)
    valid &= (hour <= 23) & (minute <= 59) & (sec <= 59)
    # Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil).
    y = year - (month <= 2)
    era = y // 400
    yoe = y - era * 400
    doy = (153 * ((month + 9) % 12) + 2) // 5 + day - 1
    days = era * 146097 + yoe * 365 + yoe // 4 - yoe // 100 + doy - 719468
    out: list[float | None] = (
        (days * 86400 + hour * 3600 + minute * 60 + sec).astype(np.float64).tolist()
    )
    for i in np.flatnonzero(~shaped).tolist():
        out[i] = parse_time(texts[i])
    for i in np.flatnonzero(shaped & ~valid).tolist():
        out[i] = None
    return out
