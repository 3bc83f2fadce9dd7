"""Score files: one row per channel sample, ``timestamp, channel, value, imputed, score, alert``.

:class:`ScoreWriter` writes CSV or JSONL. The pipeline hands it whole
:class:`~core.pipeline.ScoredBatch` columns (:meth:`ScoreWriter.write_batch`); formatting
them row by row through ``csv.writer``, ``datetime`` and ``round`` would cost more than
scoring, so the columns are formatted together: timestamps with numpy, numbers with one
``%`` format over the batch, and only the rare values whose ``repr`` cannot be told from
a fixed-point format (tiny, huge, infinite) one by one. The text is byte for byte what the
per-row path (:meth:`ScoreWriter.__call__`) writes.
"""

from __future__ import annotations

import csv
import io
import json
import sys
from collections.abc import Callable
from datetime import datetime, timezone
from typing import IO, TYPE_CHECKING, Any

from core.errors import UserError

if TYPE_CHECKING:
    import numpy as np

    from core.pipeline import ScoredBatch, ScoredSample

__all__ = ["ScoreWriter", "iso"]

COLUMNS = ("timestamp", "channel", "value", "imputed", "score", "alert")

# Seconds of 1000-01-01 and 10000-01-01: inside, numpy's ISO text is datetime's (outside,
# strftime leaves years unpadded or datetime refuses the time altogether).
_ISO_MIN = -30610224000
_ISO_MAX = 253402300800

# Powers of ten from 1e-4 to 1e15 as doubles: exact from 1 up, and just above the real power
# below 1, so comparing with them finds a double's decimal exponent exactly.
_POW10 = tuple(10.0**k for k in range(-4, 16))
# repr picks the shortest digits that round-trip; "%g" prints the digits of the rounding. They
# agree when there are at most this many (any such decimal is the only short one to map to
# its double).
_MAX_DIGITS = 15


def iso(t: float) -> str:
    """UTC ISO 8601 with milliseconds when the time has a fraction: ``2023-11-14T22:13:20Z``."""
    dt = datetime.fromtimestamp(t, timezone.utc)
    if dt.microsecond:
        return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}Z"
    return dt.strftime("%Y-%m-%dT%H:%M:%SZ")


def iso_many(t: np.ndarray) -> list[str]:
    """:func:`iso` of every element, vectorised; identical text, including the rounding.

    ``datetime.fromtimestamp`` splits a float into whole seconds and microseconds rounded
    half to even (CPython's ``_PyTime_DoubleToDenominator``); this does the same steps.
    """
    import numpy as np

    t = np.asarray(t, dtype=np.float64)
    whole = np.trunc(t)
    frac = np.rint((t - whole) * 1e6)
    carry = frac >= 1e6
    borrow = frac < 0
    frac[carry] -= 1e6
    whole[carry] += 1.0
    frac[borrow] += 1e6
    whole[borrow] -= 1.0
    ok = (whole >= _ISO_MIN) & (whole < _ISO_MAX)
    if not ok.all():
        out = iso_many(np.where(ok, t, 0.0))
        for i in np.flatnonzero(~ok).tolist():
            out[i] = iso(float(t[i]))
        return out
    us = frac.astype(np.int64)
    ms = whole.astype(np.int64) * 1000 + us // 1000
    text = np.datetime_as_string(ms.astype("datetime64[ms]"), unit="ms")
    # Whole seconds lose ".000" (a fixed-width cast cuts it), the rest get their "Z" there.
    text = np.where(us != 0, text, text.astype("<U19"))
    return [x + "Z" for x in text.tolist()]


# Three-digit groups of a fraction: as they are, and without their trailing zeros.
_GROUPS: list[tuple[str, str]] = [(f"{i:03d}", f"{i:03d}".rstrip("0")) for i in range(1000)]


def format_rounded(x: np.ndarray, ndigits: int) -> list[str]:
    """``repr(round(v, ndigits))`` of every element of ``x`` (float64), vectorised.

    Scores (six digits, between 1e-4 and 1) are put together from tables of digit groups;
    everything else goes through :func:`_format_general`.
    """
    import numpy as np

    if ndigits != 6 or len(x) == 0:
        return _format_general(x, ndigits)
    with np.errstate(invalid="ignore", over="ignore"):
        r = x * 1e6
        k = np.rint(r)
        # Away from a tie, the rounded product is the exact rounding; at and above 1e-4
        # and below 1, repr writes "0." and the six digits without trailing zeros.
        unit = (k >= 100) & (k < 1e6) & (np.abs(r - np.floor(r) - 0.5) > 2.3e-10)
    if not unit.any():
        return _format_general(x, ndigits)
    hi, lo = np.divmod(k[unit].astype(np.int64), 1000)
    table = _digit_groups()
    padded, stripped = table[:, 0], table[:, 1]
    has_lo = lo != 0
    first = np.where(has_lo, padded[hi], stripped[hi]).tolist()
    second = np.where(has_lo, stripped[lo], "").tolist()
    m = len(first)
    args: list[str] = [""] * (2 * m)
    args[0::2] = first
    args[1::2] = second
    text = (("0.%s%s " * m) % tuple(args)).split(" ")
    text.pop()
    if unit.all():
        return text
    out = np.empty(len(x), dtype=object)
    out[unit] = text
    out[~unit] = _format_general(x[~unit], ndigits)
    return out.tolist()


def _digit_groups() -> np.ndarray:
    global _GROUP_TABLE
    if _GROUP_TABLE is None:
        import numpy as np

        _GROUP_TABLE = np.array(_GROUPS, dtype=object)
    return _GROUP_TABLE


_GROUP_TABLE: np.ndarray | None = None


def _format_general(x: np.ndarray, ndigits: int) -> list[str]:
    """``repr(round(v, ndigits))`` of every element of ``x`` (float64), vectorised.

    ``round`` rounds the exact binary value to ``ndigits`` decimals; ``"%.{p}g"`` with ``p``
    = ``ndigits`` + 1 + the decimal exponent does the same rounding and drops trailing zeros
    as repr does. Whole results get repr's ".0". What this cannot get right for sure (near
    a tie, too many digits, tiny or huge, inf, nan) is formatted one by one.
    """
    import numpy as np

    n = len(x)
    if n == 0:
        return []
    a = np.abs(x)
    with np.errstate(invalid="ignore", over="ignore"):  # inf and nan go the slow way below
        r = a * 10.0**ndigits
        # The product is rounded, so near a half the whole-number test could be wrong.
        near_tie = np.abs(r - np.floor(r) - 0.5) <= r * 2.3e-16
        whole = np.fmod(np.rint(r), 10.0**ndigits) == 0
    zero = a < 0.4 * 10.0**-ndigits
    exp10 = np.searchsorted(np.array(_POW10), a, side="right") - 5
    digits = ndigits + 1 + exp10
    ok = zero | ((a >= _POW10[0]) & (digits <= _MAX_DIGITS) & ~near_tie)
    whole |= zero
    digits[zero] = 1
    values = np.where(zero, np.copysign(0.0, x), x)
    if not ok.all():
        values[~ok] = 0.0
        digits[~ok] = 1
    args: list[Any] = [None] * (2 * n)
    args[0::2] = digits.tolist()
    args[1::2] = values.tolist()
    out = (("%.*g " * n) % tuple(args)).split(" ")
    out.pop()
    for i in np.flatnonzero(whole).tolist():
        out[i] += ".0"
    if not ok.all():
        for i in np.flatnonzero(~ok).tolist():
            out[i] = repr(round(float(x[i]), ndigits))
    return out


def _round9(x: np.ndarray) -> list[str]:
    return format_rounded(x, 9)


def _round6(x: np.ndarray) -> list[str]:
    return format_rounded(x, 6)


def _reprs(x: np.ndarray) -> list[str]:
    return list(map(float.__repr__, x.tolist()))


class _Distinct:
    """``fmt(x)``, formatting each distinct value once when few are: sensors print few
    distinct values, and HST's scores take few. Finding them costs a sort, so a column
    whose values turn out nearly all distinct skips it for a while (calibrated scores)."""

    RETRY = 16  # batches formatted directly before looking again

    def __init__(self, fmt: Callable[[np.ndarray], list[str]]) -> None:
        self.fmt = fmt
        self.skip = 0

    def __call__(self, x: np.ndarray) -> list[str]:
        import numpy as np

        if self.skip:
            self.skip -= 1
            return self.fmt(x)
        # By bit pattern, so that -0.0 and 0.0 keep their own text.
        uniq, inverse = np.unique(x.view(np.int64), return_inverse=True)
        if len(uniq) * 5 > len(x) * 4:
            self.skip = self.RETRY
            return self.fmt(x)
        return list(map(self.fmt(uniq.view(np.float64)).__getitem__, inverse.tolist()))


def _runs(x: np.ndarray, fmt: Callable[[np.ndarray], list[str]]) -> list[str]:
    """``fmt(x)``, formatting each run of equal values once: a reading's channels share
    its time, and they are consecutive rows."""
    import numpy as np

    new = np.empty(len(x), dtype=bool)
    new[:1] = True
    np.not_equal(x[1:], x[:-1], out=new[1:])
    if np.count_nonzero(new) * 2 > len(x):
        return fmt(x)
    text = fmt(x[new])
    return list(map(text.__getitem__, (np.cumsum(new) - 1).tolist()))


def _csv_field(text: str) -> str:
    """``text`` as csv.writer writes it in a row of several fields (quoted if it must be)."""
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerow((text, ""))
    return buf.getvalue()[:-2]


class ScoreWriter:
    """Writes one row per channel sample to CSV or JSONL (``-`` is stdout).

    >>> import numpy as np, tempfile, os
    >>> from core.pipeline import ScoredBatch
    >>> path = os.path.join(tempfile.mkdtemp(), "s.csv")
    >>> w = ScoreWriter(path)
    >>> w.write_batch(ScoredBatch(["temp"], np.array([1.7e9, 1.7e9 + 0.25]),
    ...     np.zeros(2, np.int32), np.array([21.5, np.nan]), np.array([False, True]),
    ...     np.array([0.0, 0.981234567]), np.array([False, True]), np.zeros(2, np.int32), []))
    >>> w.close()
    >>> print(open(path).read(), end="")
    timestamp,channel,value,imputed,score,alert
    2023-11-14T22:13:20Z,temp,21.5,0,0.0,0
    2023-11-14T22:13:20.250Z,temp,,1,0.981235,1
    """

    COLUMNS = COLUMNS

    def __init__(self, path: str) -> None:
        self.path = path
        self.jsonl = path.lower().endswith((".jsonl", ".ndjson"))
        self.rows = 0
        try:
            self._fh: IO[str] = (
                sys.stdout if path == "-" else open(path, "w", newline="", encoding="utf-8")
            )
        except OSError as exc:
            raise UserError(f"cannot write {path}: {exc.strerror or exc}") from None
        self._csv: Any = None
        # Channel names as they appear in a row, per name (csv-quoted, or JSON strings).
        self._quoted: dict[str, str] = {}
        self._values = _Distinct(_round9)
        self._scores = _Distinct(_round6)
        if not self.jsonl:
            self._csv = csv.writer(self._fh, lineterminator="\n")
            self._csv.writerow(self.COLUMNS)

    def __call__(self, s: ScoredSample) -> None:
        """Write one sample (the per-row path; :meth:`write_batch` writes the same text)."""
        value = "" if s.value is None else round(s.value, 9)
        score = round(s.score, 6)
        if self._csv is not None:
            self._csv.writerow((iso(s.t), s.channel, value, int(s.imputed), score, int(s.alert)))
        else:
            row = {
                "timestamp": iso(s.t),
                "t": s.t,
                "channel": s.channel,
                "value": None if s.value is None else value,
                "imputed": s.imputed,
                "score": score,
                "alert": s.alert,
            }
            self._fh.write(json.dumps(row) + "\n")
        self.rows += 1

    def write_batch(self, batch: ScoredBatch) -> None:
        """Write every row of a batch, in order."""
        import numpy as np

        n = len(batch)
        if n == 0:
            return
        names = self._names(batch.names)
        channel = list(map(names.__getitem__, batch.channel.tolist()))
        t = np.asarray(batch.t, dtype=np.float64)
        value = np.asarray(batch.value, dtype=np.float64)
        score = np.asarray(batch.score, dtype=np.float64)
        missing = np.isnan(value)
        stamps = _runs(t, iso_many)
        values = self._values(np.where(missing, 0.0, value))
        scores = self._scores(score)
        yes, no = ("true", "false") if self.jsonl else ("1", "0")
        imputed = np.where(batch.imputed, yes, no).tolist()
        alert = np.where(batch.alert, yes, no).tolist()
        if missing.any():
            empty = "null" if self.jsonl else ""
            for i in np.flatnonzero(missing).tolist():
                values[i] = empty
        if not self.jsonl:
            cols = (stamps, channel, values, imputed, scores, alert)
            self._fh.write("\n".join(map(",".join, zip(*cols, strict=True))) + "\n")
            self.rows += n
            return
        # json spells what repr calls inf and nan its own way.
        for col, x in ((values, np.where(missing, 0.0, value)), (scores, score)):
            for i in np.flatnonzero(~np.isfinite(x)).tolist():
                col[i] = json.dumps(float(x[i]))
        cols = (stamps, _runs(t, _reprs), channel, values, imputed, scores, alert)
        args: list[str] = [""] * (n * len(cols))
        for k, col in enumerate(cols):
            args[k :: len(cols)] = col
        row = (
            '{"timestamp": "%s", "t": %s, "channel": %s, "value": %s, '
            '"imputed": %s, "score": %s, "alert": %s}\n'
        )
        self._fh.write((row * n) % tuple(args))
        self.rows += n

    def _names(self, names: list[str]) -> list[str]:
        quoted = self._quoted
        out = []
        for name in names:
            q = quoted.get(name)
            if q is None:
                q = quoted[name] = json.dumps(name) if self.jsonl else _csv_field(name)
            out.append(q)
        return out

    def close(self) -> None:
        self._fh.flush()
        if self._fh is not sys.stdout:
            self._fh.close()
