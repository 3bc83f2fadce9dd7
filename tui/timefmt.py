"""How times, durations, speeds and readings are written on screen (all times in UTC)."""

from __future__ import annotations

import math
from datetime import datetime, timezone

STAMP_FORMAT = "YYYY-MM-DD HH:MM:SS.fff"


def _ms_parts(t: float) -> tuple[datetime, int]:
    ms = int(round(t * 1000))
    return datetime.fromtimestamp(ms // 1000, timezone.utc), ms % 1000


def utc_clock(t: float | None) -> str:
    """``HH:MM:SS`` (UTC), or a dash when there is no time yet."""
    if t is None or not math.isfinite(t):
        return "--:--:--"
    return _ms_parts(t)[0].strftime("%H:%M:%S")


def local_clock(t: float | None) -> str:
    """``HH:MM:SS`` in this machine's time zone (``TZ``), or a dash when there is no time."""
    if t is None or not math.isfinite(t):
        return "--:--:--"
    return datetime.fromtimestamp(t).strftime("%H:%M:%S")


def utc_clock_ms(t: float) -> str:
    dt, ms = _ms_parts(t)
    return f"{dt:%H:%M:%S}.{ms:03d}"


def utc_datetime(t: float | None) -> str:
    """``YYYY-MM-DD HH:MM:SS`` (UTC)."""
    if t is None or not math.isfinite(t):
        return "----------- --:--:--"
    return _ms_parts(t)[0].strftime("%Y-%m-%d %H:%M:%S")


def utc_stamp(t: float) -> str:
    """``YYYY-MM-DD HH:MM:SS.fff`` (UTC), the form the missed-anomaly dialog edits.

    >>> utc_stamp(1763884860.25)
    '2025-11-23 08:01:00.250'
    """
    dt, ms = _ms_parts(t)
    return f"{dt:%Y-%m-%d %H:%M:%S}.{ms:03d}"


def parse_utc_stamp(text: str, default_date: str | None = None) -> float:
    """Read a UTC time typed as ``YYYY-MM-DD HH:MM:SS[.fff]`` (or ``HH:MM:SS[.fff]`` on
    ``default_date``, itself ``YYYY-MM-DD``); raise ValueError with a readable reason.

    >>> parse_utc_stamp("2025-11-23 08:01:00.250")
    1763884860.25
    >>> parse_utc_stamp("08:01:02", default_date="2025-11-23")
    1763884862.0
    """
    s = " ".join(text.strip().replace("T", " ").removesuffix("Z").split())
    if not s:
        raise ValueError("empty time")
    if " " not in s and default_date:
        s = f"{default_date} {s}"
    for fmt in ("%Y-%m-%d %H:%M:%S.%f", "%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M"):
        try:
            dt = datetime.strptime(s, fmt)
        except ValueError:
            continue
        return round(dt.replace(tzinfo=timezone.utc).timestamp(), 6)
    raise ValueError(f"{text.strip()!r} is not a time like {STAMP_FORMAT}")


def fmt_duration(seconds: float) -> str:
    """
    >>> [fmt_duration(s) for s in (0, 0.84, 12.3, 185, 7380)]
    ['0.0s', '0.8s', '12s', '3m05s', '2h03m']
    """
    if not math.isfinite(seconds) or seconds < 0:
        return "?"
    if seconds < 10:
        return f"{seconds:.1f}s"
    if seconds < 60:
        return f"{seconds:.0f}s"
    if seconds < 3600:
        m, s = divmod(int(round(seconds)), 60)
        return f"{m}m{s:02d}s"
    h, m = divmod(int(round(seconds)) // 60, 60)
    return f"{h}h{m:02d}m"


def fmt_speed(speed: float | None) -> str:
    """
    >>> [fmt_speed(s) for s in (0.25, 1, 2.0, None)]
    ['0.25x', '1x', '2x', 'max']
    """
    if speed is None:
        return "max"
    return f"{speed:g}x"


# Text from a device is shown, never obeyed: control characters (escape codes included)
# are replaced so a channel name or a line cannot move the cursor or change colours.
_CONTROL = {c: "·" for c in range(32)} | {0x1B: "␛", 0x7F: "·", 0x09: " "}


def printable(text: str) -> str:
    r"""
    >>> printable("temp\x1b[2J\tx")
    'temp␛[2J x'
    """
    return text.translate(_CONTROL)


def fmt_value(value: float | None) -> str:
    """A reading in at most 9 characters; a dash when missing.

    >>> [fmt_value(v) for v in (21.5, 1012.874, -0.00012, 1234567.0, None, float("nan"))]
    ['21.50', '1012.87', '-0.00012', '1.235e+06', '—', '—']
    """
    if value is None or not math.isfinite(value):
        return "—"
    a = abs(value)
    if a >= 1e5 or (0 < a < 1e-2):
        return f"{value:.4g}"
    return f"{value:.2f}"
