"""Score files: one row per channel sample, ``timestamp, channel, value, imputed, score, alert``.

:class:`ScoreWriter` writes CSV or JSONL. The pipeline hands it whole
:class:`~sensorscope.pipeline.ScoredBatch` columns (:meth:`ScoreWriter.write_batch`); formatting
them row by row through ``csv.writer``, ``datetime`` and ``round`` would cost more than
scoring, so the columns are formatted together: timestamps with numpy, numbers with one
``%`` format over the batch, and only the rare values whose ``repr`` cannot be told from
a fixed-point format (tiny, huge, infinite) one by one. The text is byte for byte what the
per-row path (:meth:`ScoreWriter.__call__`) writes.

:class:`ScoreFileWriter` is what ``sensorscope score -o FILE`` uses: past the first
:data:`BACKGROUND_ROWS` rows it hands the columns to a child process that formats and
writes them, so that a long replay is scored on one core and written on the other.
"""

from __future__ import annotations

import csv
import io
import json
import os
import pickle
import signal
import subprocess
import sys
from collections.abc import Callable
from datetime import datetime, timezone
from typing import IO, TYPE_CHECKING, Any

from sensorscope.errors import UserError

if TYPE_CHECKING:
    import numpy as np

    from sensorscope.model import ScoredBatch, ScoredSample

__all__ = ["ScoreFileWriter", "ScoreWriter", "iso"]

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
    >>> from sensorscope.model import ScoredBatch
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

    def __init__(self, path: str, *, fd: int | None = None) -> None:
        """``fd``: go on writing ``path``, open on that descriptor with its header written."""
        self.path = path
        self.jsonl = path.lower().endswith((".jsonl", ".ndjson"))
        self.rows = 0
        self.error: str | None = None  # why writing failed, once it has
        try:
            if fd is not None:
                self._fh: IO[str] = open(fd, "w", newline="", encoding="utf-8")
            elif path == "-":
                self._fh = sys.stdout
            else:
                self._fh = open(path, "w", newline="", encoding="utf-8")
        except OSError as exc:
            raise self._error(exc) from None
        self._csv: Any = None
        # Channel names as they appear in a row, per name (csv-quoted, or JSON strings).
        self._quoted: dict[str, str] = {}
        self._values = _Distinct(_round9)
        self._scores = _Distinct(_round6)
        if not self.jsonl:
            self._csv = csv.writer(self._fh, lineterminator="\n")
            if fd is None:
                self._guard(self._csv.writerow, self.COLUMNS)

    def _error(self, exc: OSError) -> UserError:
        self.error = f"cannot write {self.path}: {exc.strerror or exc}"
        return UserError(self.error)

    def _guard(self, write: Callable[..., Any], *args: Any) -> None:
        try:
            write(*args)
        except BrokenPipeError:
            raise
        except OSError as exc:
            raise self._error(exc) from None

    def __call__(self, s: ScoredSample) -> None:
        """Write one sample (the per-row path; :meth:`write_batch` writes the same text)."""
        value = "" if s.value is None else round(s.value, 9)
        score = round(s.score, 6)
        if self._csv is not None:
            row = (iso(s.t), s.channel, value, int(s.imputed), score, int(s.alert))
            self._guard(self._csv.writerow, row)
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
            self._guard(self._fh.write, json.dumps(row) + "\n")
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
        filled = np.where(missing, 0.0, value)
        values = self._values(filled)
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
            self._guard(self._fh.write, "\n".join(map(",".join, zip(*cols, strict=True))) + "\n")
            self.rows += n
            return
        # json spells what repr calls inf and nan its own way.
        for col, x in ((values, filled), (scores, score)):
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
        self._guard(self._fh.write, (row * n) % tuple(args))
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
        try:
            self._guard(self._fh.flush)
        finally:
            if self._fh is not sys.stdout:
                try:
                    self._fh.close()
                except OSError:
                    pass  # the flush above said what went wrong


# --------------------------------------------------------------------------- in background

# Rows written in this process before a child takes over: a short run never waits for one.
BACKGROUND_ROWS = 100_000


class _Columns:
    """What :meth:`ScoreWriter.write_batch` reads of a ScoredBatch, as the child gets it."""

    __slots__ = ("names", "t", "channel", "value", "imputed", "score", "alert")

    def __init__(self, names, t, channel, value, imputed, score, alert) -> None:  # noqa: ANN001
        self.names, self.t, self.channel, self.value = names, t, channel, value
        self.imputed, self.score, self.alert = imputed, score, alert

    def __len__(self) -> int:
        return len(self.t)


class ScoreFileWriter:
    """A :class:`ScoreWriter` to a file that, past :data:`BACKGROUND_ROWS` rows, passes the
    columns through a pipe to a child process (``python -m sensorscope.output``) that writes them.

    Formatting costs about as much as a fifth of scoring and holds the GIL, so in this
    process it would take turns with scoring; in a child it runs on the other core. The
    child is started at once, so it has imported what it needs before the switch, and told
    to leave without touching the file if the run ends first. It inherits the open file and
    writes on from where this process stopped, so a pipe or a device (``-o /dev/stdout``,
    a FIFO) works as a file does. The pipe's buffer bounds what
    is in flight: the scorer waits for a slow disk rather than piling rows up in memory.
    The child does not see Ctrl-C and writes everything it was sent before it exits.
    """

    def __init__(self, path: str, switch_rows: int = BACKGROUND_ROWS) -> None:
        self.path = path
        self.switch_rows = switch_rows
        self._local: ScoreWriter | None = ScoreWriter(path)
        self._sent = 0
        self._rows: int | None = None  # as the child counted them, once it is done
        self._failed: str | None = None
        self._child: subprocess.Popen[bytes] | None = None
        root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(filter(None, (root, env.get("PYTHONPATH"))))
        # The child writes to this same open file (a pipe or a device too, and at the same
        # offset), never to the path opened again.
        self._fd = self._local._fh.fileno()
        try:
            self._child = subprocess.Popen(
                [sys.executable, "-m", "sensorscope.output"],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                env=env,
                pass_fds=(self._fd,),
                # Out of the terminal's process group: Ctrl-C is the parent's to handle, and
                # the child must live on to write what it was sent.
                start_new_session=True,
            )
        except (OSError, ValueError, TypeError):  # no interpreter to start, or no fork
            self._child = None  # then this process writes everything itself

    @property
    def error(self) -> str | None:
        """Why writing failed, once it has."""
        if self._local is not None:
            return self._local.error
        return self._failed

    @property
    def rows(self) -> int:
        if self._local is not None:
            return self._local.rows
        return self._rows if self._rows is not None else self._sent

    def write_batch(self, batch: Any) -> None:
        if self._failed is not None:
            raise UserError(self._failed)
        if self._local is not None:
            self._local.write_batch(batch)
            if self._local.rows >= self.switch_rows and self._child is not None:
                self._switch()
            return
        cols = (batch.names, batch.t, batch.channel, batch.value, batch.imputed,
                batch.score, batch.alert)  # fmt: skip
        self._send(("rows", cols))
        self._sent += len(batch)

    def _switch(self) -> None:
        assert self._local is not None and self._child is not None
        before = self._local.rows
        self._local.close()
        self._local = None
        self._sent = before
        self._send(("open", self.path, self._fd, before))

    def _send(self, item: Any) -> None:
        assert self._child is not None and self._child.stdin is not None
        try:
            pickle.dump(item, self._child.stdin, protocol=pickle.HIGHEST_PROTOCOL)
        except (BrokenPipeError, OSError):
            self._failed = self._child_error()
            raise UserError(self._failed) from None

    def _child_error(self) -> str:
        """The child's one-line reason for stopping (it has stopped or is stopping)."""
        assert self._child is not None
        out = self._child.stdout.read() if self._child.stdout is not None else b""
        self._child.wait()
        return self._reason(out)

    def _reason(self, out: bytes) -> str:
        lines = out.decode("utf-8", "replace").strip().splitlines()
        last = lines[-1] if lines else ""
        if last.startswith("error: "):
            return last[len("error: ") :]
        code = self._child.returncode if self._child is not None else None
        return f"cannot write {self.path}: the writer process stopped (exit {code})"

    def close(self) -> None:
        if self._local is not None:
            try:
                self._local.close()
            finally:
                if self._child is not None:
                    self._child.kill()
                    self._child.wait()
                    for fh in (self._child.stdin, self._child.stdout):
                        if fh is not None:
                            try:
                                fh.close()
                            except OSError:
                                pass
            return
        if self._failed is not None:
            raise UserError(self._failed)
        assert self._child is not None and self._child.stdin is not None
        try:
            self._child.stdin.close()
        except OSError:
            pass
        out = self._child.stdout.read() if self._child.stdout is not None else b""
        self._child.wait()
        text = out.decode("utf-8", "replace").strip()
        if self._child.returncode == 0 and text.startswith("rows "):
            self._rows = int(text.split()[1])
            return
        self._failed = self._reason(out)
        raise UserError(self._failed)


def _child_main() -> int:
    """The writer child: ``("open", path, rows before)`` then ``("rows", columns)`` items
    on stdin until it closes; prints ``rows N`` (or ``error: ...``) on stdout."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides when input ends
    import numpy  # noqa: F401 - now, while the parent writes its first rows itself

    stdin = sys.stdin.buffer
    out = sys.stdout
    writer: ScoreWriter | None = None
    try:
        while True:
            try:
                item = pickle.load(stdin)
            except EOFError:
                break
            if item[0] == "open":
                _, path, fd, before = item
                writer = ScoreWriter(path, fd=fd)
                writer.rows = before
            elif writer is not None:
                writer.write_batch(_Columns(*item[1]))
        if writer is not None:
            writer.close()
            out.write(f"rows {writer.rows}\n")
    except UserError as exc:
        out.write(f"error: {exc}\n")
        return 1
    except Exception as exc:  # noqa: BLE001 - one line for the parent to show
        where = writer.path if writer is not None else "the scores file"
        out.write(f"error: cannot write {where}: {type(exc).__name__}: {exc}\n")
        return 1
    out.flush()
    return 0


if __name__ == "__main__":
    sys.exit(_child_main())
