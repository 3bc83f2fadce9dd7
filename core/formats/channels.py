"""Channel birth: which names a data line offers become channels, and when.

A name becomes a channel at once from a line that vouches for it; any other name is on
probation until it comes back, so that a burst of noise which happens to hold "value1:"
leaves a ghost (counted) rather than a channel.
"""

from __future__ import annotations

from sensorscope.formats.base import LineFormat, ParseCounters
from sensorscope.formats.columns import Columns
from sensorscope.model import Reading

# A name a line offers that is not yet a channel, on a line that does not vouch for it,
# becomes one only once it has come back: this many lines naming it within this many lines.
BIRTH_SEEN = 3
BIRTH_WITHIN = 20


class Channels:
    """One source's channels, in order of birth, and the names on probation."""

    __slots__ = ("names", "set", "released", "_pending", "_source", "_counters", "_cols")

    def __init__(self, source: str, counters: ParseCounters, cols: Columns) -> None:
        self.names: list[str] = []
        self.set: set[str] = set()
        # The readings released at a birth, for the caller to take (each with its line).
        self.released: list[tuple[Reading, str]] = []
        # Names on probation: the lines (counter values) that named them and their held
        # readings.
        self._pending: dict[str, tuple[list[int], list[tuple[int, Reading, str]]]] = {}
        self._source = source
        self._counters = counters
        self._cols = cols

    def admit(
        self,
        values: dict[str, float | None],
        errors: int,
        t: float,
        line: str,
        vouched: bool,
        fmt: LineFormat | None,
    ) -> dict[str, float | None] | None:
        """The values of a line that names channels not yet known, with the names that do
        not become channels (yet) taken out; None if nothing is left.

        A name becomes a channel at once from a line that vouches for it: the first data a
        source prints, a header that announced it, a clean line beside known channels, a
        clean line of a format whose syntax leaves no doubt (`fmt` self-describing), or the
        line that (re)locks a format (``vouched``). A name without a value on a line with
        bad fields waits (a CSV text column never gets one). Any other name is on
        probation: its readings are held until it has been named on ``BIRTH_SEEN`` lines
        within ``BIRTH_WITHIN``, then released; one that does not come back is a ghost,
        counted in ``counters.ghosts``, never a channel.
        """
        chset = self.set
        counters = self._counters
        cols = self._cols
        line_no = counters.lines
        clean = not errors
        vouched = (
            vouched
            or not chset
            or (
                clean
                and ((fmt is not None and fmt.self_describing) or any(k in chset for k in values))
            )
        )
        kept: dict[str, float | None] = {}
        for k, v in values.items():
            if k in chset:
                kept[k] = v
                continue
            if v is None and errors:
                continue  # perhaps a text column; it waits for a number or a clean line
            if not k.isprintable() or "\ufffd" in k:
                counters.ghosts += 1
                continue
            pending = self._pending.get(k)
            # A name a header announced is vouched for by the header.
            cand = cols.cand
            if not vouched and k not in cols.known and (cand is None or k not in cand[0]):
                if pending is None:
                    pending = self._pending[k] = ([], [])
                seen, held = pending
                seen.append(line_no)
                old = line_no - BIRTH_WITHIN
                while seen[0] < old:
                    seen.pop(0)
                # What falls out of the window stays counted: those values are ghosts now.
                while held and held[0][0] < old:
                    held.pop(0)
                if len(seen) < BIRTH_SEEN:
                    if v is not None:
                        held.append((line_no, Reading(t, self._source, {k: v}), line))
                        counters.ghosts += 1
                    continue
            if pending is not None:
                counters.ghosts -= len(pending[1])
                self.released.extend((r, ln) for _n, r, ln in pending[1])
                del self._pending[k]
            chset.add(k)
            cols.known.add(k)
            self.names.append(k)
            kept[k] = v
        if len(self._pending) > 64:
            self._forget_ghosts(line_no)
        return kept or None

    def _forget_ghosts(self, line_no: int) -> None:
        """Drop names on probation that have not come back in time (they are ghosts)."""
        for k, (seen, _held) in list(self._pending.items()):
            if seen[-1] < line_no - BIRTH_WITHIN:
                del self._pending[k]
