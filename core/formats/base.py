"""What a line format is (:class:`LineFormat`), what its parse of a line gives, and what
a parser reports (:class:`ParseCounters`, :class:`ParsedLines`).

A format has no separate "sniff": it recognises a line by parsing it *strictly* (words it
cannot place count as bad fields), and the detecting parser locks the first format, in
detection order, whose strict parse of a line is clean data. Detection order comes from the
formats themselves: a line whose first character some format ``leads`` with is tried on
those formats first (only on them, if one is ``exclusive``), then on the formats that claim
no first character, by ``priority``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

from sensorscope.model import Reading

if TYPE_CHECKING:
    from sensorscope.formats.columns import Columns
    from sensorscope.formats.template import Template


class Corrupt:
    """Sentinel: the line is in the right format but failed its own integrity check."""

    __slots__ = ()


CORRUPT = Corrupt()

# A format's parse of a line that is in that format: (values by name, good fields, bad
# fields, "touches a known channel", device time or None). A plain tuple, not a record:
# every line the template path cannot take builds one, and a NamedTuple costs several
# times more to make.
Result = tuple[dict[str, float | None], int, int, bool, float | None]
# None when the line is not in the format at all.
Parsed = Result | Corrupt | None


class LineFormat(Protocol):
    """One text line convention (plotter, kv, csv, ...): how to recognise and parse it.

    A format is an object with these attributes and methods, registered once in
    :mod:`sensorscope.formats.registry`; the detecting parser
    (:class:`sensorscope.formats.LineParser`) does the rest (prefixes, locking, channels).
    """

    #: The ``--format`` name.
    name: str
    #: First characters that mark this format's lines (">" for teleplot), or "".
    leads: str
    #: A line starting with one of ``leads`` is this format or no data at all: "{temp:21}"
    #: must not become a channel "{temp" of some looser format.
    exclusive: bool
    #: Order among the formats no first character claims: lower is tried first.
    priority: int
    #: The syntax alone vouches for a clean line's names (they become channels at once
    #: instead of waiting on probation).
    self_describing: bool
    #: Values may be named by position (a header row, or ch0, ch1 ... / value1 ...).
    positional: bool
    #: The fast path, for a format that has one (else None): ``template(s, lead, trail,
    #: cols)`` is a template for the clean line ``s`` (``lead`` and ``trail`` the whitespace
    #: around it) if its full parse depends on nothing but its numbers, else None. See
    #: :mod:`sensorscope.formats.template`.
    template: Callable[[str, str, str, Columns], Template | None] | None

    def parse(self, s: str, strict: bool, cols: Columns) -> Parsed:
        """The stripped line ``s`` parsed, or None if it is not this format.

        ``strict`` is set while detecting: words the format cannot place then count as bad
        fields, so that only clean lines lock. ``cols`` is what the parser knows that the
        parse may depend on (known names, header columns); a positional format records in
        ``cols.shape`` the shape of the row it parsed.
        """
        ...

    def keyed(self, s: str) -> bool:
        """True if line ``s`` names each value, so that a line cut anywhere (the first one
        after a reconnect) loses or changes its first key and a whole one can be told."""
        ...

    # Optional, and so not declared here (a format without it stays a LineFormat):
    # ``units(s) -> dict[str, str]``, the unit text each name's value carries on line
    # ``s`` ("45.00 %", "§°C", "21.5C"). The parser asks it only for the line a channel is
    # born from, so a format pays nothing per line for it.


@dataclass(slots=True)
class ParseCounters:
    """How many lines of each kind a parser has seen; ``field_errors`` counts fields."""

    lines: int = 0
    data: int = 0
    header: int = 0
    text: int = 0
    garbage: int = 0
    empty: int = 0
    partial: int = 0
    overlong: int = 0
    field_errors: int = 0
    # Values of names that are no channel (see formats.channels): held on probation or
    # thrown away as ghosts.
    ghosts: int = 0


@dataclass(slots=True)
class TemplateRun:
    """Lines ``start`` to ``stop`` (exclusive) of a :meth:`LineParser.feed_many` batch
    that fit one template, as columns: each is a data line with no bad field whose Reading
    holds ``names`` in that order. The scorer wants columns, and a Reading and a dict per
    line cost more than the rest of the parse of such a line."""

    start: int
    stop: int
    names: tuple[str, ...]
    #: Row-major, ``len(names)`` a line; NaN where the Reading holds None.
    values: list[float]
    #: Each line's reading time: its device time, else the time it came with.
    times: list[float]

    def readings(self, source: str) -> list[Reading]:
        """The run's lines as Readings (for a caller that wants one per line)."""
        names, width, vals = self.names, len(self.names), self.values
        out = []
        for n, t in enumerate(self.times):
            row = vals[n * width : (n + 1) * width]
            values = {k: None if v != v else v for k, v in zip(names, row, strict=True)}
            out.append(Reading(t, source, values))
        return out


@dataclass(slots=True)
class ParsedLines:
    """What :meth:`LineParser.feed_many` made of each line, in order: the line's kind and
    its bad fields, as :meth:`LineParser.feed` leaves them in ``last_kind`` and
    ``last_errors``; the lines that fit a template as :class:`TemplateRun` columns, and
    the Reading of every other line (None for those in a run and lines that are no data).
    """

    readings: list[Reading | None]
    kinds: list[str]
    errors: list[int]
    # Readings of a channel held back while it was on probation, released with the line at
    # this index (before that line's own reading), each with the line it came from.
    released: dict[int, list[tuple[Reading, str]]] = field(default_factory=dict)
    runs: list[TemplateRun] = field(default_factory=list)

    def every_reading(self, source: str) -> list[Reading | None]:
        """What :meth:`LineParser.feed` would have returned for each line."""
        out = list(self.readings)
        for run in self.runs:
            out[run.start : run.stop] = run.readings(source)
        return out


class ParseError(ValueError):
    """An unknown format name was asked for."""
