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
class ParsedLines:
    """What :meth:`LineParser.feed_many` made of each line, in order: the Reading (None for
    lines that are no data), the line's kind and its bad fields, as :meth:`LineParser.feed`
    returns and leaves in ``last_kind`` and ``last_errors``."""

    readings: list[Reading | None]
    kinds: list[str]
    errors: list[int]
    # Readings of a channel held back while it was on probation, released with the line at
    # this index (before that line's own reading), each with the line it came from.
    released: dict[int, list[tuple[Reading, str]]] = field(default_factory=dict)


class ParseError(ValueError):
    """An unknown format name was asked for."""
