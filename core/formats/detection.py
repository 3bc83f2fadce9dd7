"""Which format a source speaks: the order formats are tried in, the votes that lock a
lenient one, and the streak of another format's lines that means the device was reflashed.
"""

from __future__ import annotations

from collections.abc import Sequence

from sensorscope.formats.base import CORRUPT, Corrupt, LineFormat, Result
from sensorscope.formats.columns import Columns
from sensorscope.model import Reading

# While nothing is locked, a format that only ever parses with some bad fields (a device
# that prints "status=ok" beside its numbers) still wins after this many lines in a row with
# the same channels; boot ROM chatter such as "load:0x3fff0030,len:1184" repeats only ~3x.
VOTES_TO_LOCK = 5
# A locked format's line that is no data but clean data in another format counts toward a
# switch; this many in a row (with the same names) and the source was reflashed.
SWITCH_AFTER = 3


class Detection:
    """Detection state of one source: votes while nothing is locked, the switch streak
    while something is."""

    __slots__ = ("votes", "streak", "_source", "_default", "_by_lead", "_vote_key", "_held")

    def __init__(self, source: str, formats: Sequence[LineFormat]) -> None:
        self._source = source
        # Formats no first character claims, by priority; then, for each claimed first
        # character, its claimants (and after them the others, unless one is exclusive).
        self._default = tuple(sorted((f for f in formats if not f.leads), key=_priority))
        self._by_lead: dict[str, tuple[LineFormat, ...]] = {}
        for c in {c for f in formats for c in f.leads}:
            claim = tuple(sorted((f for f in formats if c in f.leads), key=_priority))
            exclusive = any(f.exclusive for f in claim)
            self._by_lead[c] = claim if exclusive else claim + self._default
        self.votes = 0
        self._vote_key: tuple[str, frozenset[str]] | None = None
        # The format and names of the current switch streak (None: no streak).
        self.streak: tuple[str, frozenset[str]] | None = None
        self._held: list[tuple[Reading, str]] = []

    def order(self, c: str) -> tuple[LineFormat, ...]:
        """The formats to try, in order, on a line starting with `c`."""
        return self._by_lead.get(c, self._default)

    def locked(self) -> None:
        """A format was just locked: votes and any switch streak start over."""
        self.votes = 0
        self._vote_key = None
        self.end_switch()

    def end_switch(self) -> None:
        """A line was data in the locked format: any switch streak is over."""
        if self.streak is not None:
            self.streak = None
            self._held = []

    def detect(self, s: str, cols: Columns) -> tuple[LineFormat, Result | None] | Corrupt | None:
        """The format to lock for line `s` while nothing is locked, with its parse of `s`
        (None if the line, parsed the locked way, is no data after all); CORRUPT if the
        line failed a format's integrity check; None to lock nothing yet."""
        lenient: tuple[LineFormat, Result] | None = None
        for fmt in self._by_lead.get(s[0], self._default):  # self.order(), inlined
            r = fmt.parse(s, True, cols)
            if r is None:
                continue
            if r is CORRUPT:
                self.votes = 0
                return CORRUPT
            if r[1]:
                if not r[2]:
                    return fmt, r
                if lenient is None:
                    lenient = (fmt, r)
        if lenient is None:
            self.votes = 0
            self._vote_key = None
            return None
        fmt = lenient[0]
        key = (fmt.name, frozenset(lenient[1][0]))
        if key == self._vote_key:
            self.votes += 1
        else:
            self._vote_key = key
            self.votes = 1
        if self.votes < VOTES_TO_LOCK:
            return None
        # Strict mode counts stray words as errors; parse again the way it will be parsed
        # from now on.
        again = fmt.parse(s, False, cols)
        if again is not None and again is not CORRUPT and (again[1] or again[3]):
            return fmt, again
        return fmt, None

    def switch(
        self, s: str, t: float, line: str, current: LineFormat, cols: Columns
    ) -> tuple[LineFormat, Result, list[tuple[Reading, str]]] | None:
        """A line that is no data in the `current` format: if it is clean data in another
        one, count it toward a switch, and on the ``SWITCH_AFTER``th such line in a row
        return that format, its parse of `s` and the held lines' readings (each with its
        line); else None."""
        for fmt in self._by_lead.get(s[0], self._default):  # self.order(), inlined
            if fmt is current:
                continue
            r = fmt.parse(s, True, cols)
            if r is None or r is CORRUPT or not r[1] or r[2]:
                continue
            key = (fmt.name, frozenset(r[0]))
            if key != self.streak:
                self.streak = key
                self._held = []
            held = self._held
            if len(held) + 1 < SWITCH_AFTER:
                dt = r[4]
                values = {k: v for k, v in r[0].items() if v is not None}
                held.append((Reading(t if dt is None else dt, self._source, values), line))
                return None
            return fmt, r, held
        self.streak = None
        self._held = []
        return None


def _priority(fmt: LineFormat) -> int:
    return fmt.priority
