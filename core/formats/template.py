"""Templates, the fast path's unit: a clean line with its numbers cut out.

Once a data line has parsed cleanly, the parser asks its format for the line's *template*
(``temp:(…) hum:(…)``): one regular expression whose groups are the line's numbers, and
the channel of each. A later line that matches it exactly, with nothing in between that
could have changed what the parser knows, is parsed by that expression alone. A format
makes templates only from shapes for which its full parse provably depends on nothing but
the numbers, and the parser checks each against the full parse of the line it was made
from (:mod:`sensorscope.formats.fast`).
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable
from dataclasses import dataclass

from sensorscope.formats.values import TIME_KEYS

# A number as a template's group: float() has the last word ("1.2.3" goes the full way);
# without an exponent, 40 characters cannot overflow, and all are ASCII.
TNUM = "[-+.0-9]{1,40}"
NUM_TOKEN = re.compile(TNUM)
# Labels a template may hold literally: ASCII names that cannot start a logger prefix or a
# time field, contain no separator and no colon (plotter splits on the first one).
TLABEL = "[A-Za-z_][A-Za-z0-9_.\\-]*"
_TEMPLATES: dict[str, Callable[[str], re.Match[str] | None]] = {}
# The same pattern over many lines at once (see Template.block), by its fullmatch.
_BLOCKS: dict[Callable[[str], re.Match[str] | None], Callable[[str], list[tuple[str, ...]]]] = {}
_TEMPLATES_MAX = 256


@dataclass(slots=True)
class Template:
    match: Callable[[str], re.Match[str] | None]
    keys: tuple[str, ...]  # the channel of each number group, in the order of the groups
    rest: tuple[str, ...] = ()  # csv header names past the row's end: None
    times: tuple[int, ...] = ()  # groups holding a csv time field (0-based)
    picks: tuple[int, ...] = ()  # the number groups when not every group is one (0-based)
    sep: str = ""  # the field delimiter of a csv template
    numbers: Callable[[tuple[str, ...]], tuple[str, ...]] | None = None  # groups -> numbers
    plain: bool = True  # every group is a number and nothing else goes into the Reading
    # findall of the pattern over lines joined by "\n": the groups (a tuple) of each line
    # that fits (None for a match made some other way than by compiled()).
    block: Callable[[str], list[tuple[str, ...]]] | None = None
    # The names of a line's Reading in its order (keys then rest, as a dict keeps them),
    # and where each one's value comes from: an index into the numbers, -1 for None (a
    # name in rest). None when that is simply the numbers in order.
    names: tuple[str, ...] = ()
    gather: tuple[int, ...] | None = None

    def __post_init__(self) -> None:
        if self.picks:
            self.numbers = (
                operator.itemgetter(*self.picks) if len(self.picks) > 1 else single(self.picks[0])
            )
        self.plain = self.numbers is None and not self.rest
        self.block = _BLOCKS.get(self.match)
        # A header naming a column twice keeps its last value, in the first one's place.
        order = dict.fromkeys((*self.keys, *self.rest))
        self.names = tuple(order)
        if self.names != (*self.keys, *self.rest):
            last = {name: i for i, name in enumerate(self.keys)}
            self.gather = tuple(-1 if n in self.rest else last[n] for n in self.names)
        elif self.rest:
            self.gather = (*range(len(self.keys)), *([-1] * len(self.rest)))


def compiled(pattern: str) -> Callable[[str], re.Match[str] | None]:
    """The fullmatch of a pattern, compiled once for all parsers (devices share shapes)."""
    fn = _TEMPLATES.get(pattern)
    if fn is None:
        if len(_TEMPLATES) >= _TEMPLATES_MAX:
            _TEMPLATES.clear()
            _BLOCKS.clear()
        fn = _TEMPLATES[pattern] = re.compile(pattern).fullmatch
        # A template holds no "\n" and is anchored at both ends: over lines joined by
        # "\n", a match is one line that fullmatches, and each line gives one at most.
        lines = re.compile(f"^(?:{pattern})$", re.MULTILINE)
        _BLOCKS[fn] = lines.findall if lines.groups > 1 else one_group(lines.findall)
    return fn


def one_group(findall: Callable[[str], list]) -> Callable[[str], list]:
    """``findall`` of a pattern with one group, giving 1-tuples as for more (not strings)."""

    def tuples(text: str) -> list[tuple[str, ...]]:
        return list(zip(findall(text)))  # noqa: B905 - one iterable

    return tuples


def tokens(s: str, token: re.Pattern[str], gap: re.Pattern[str], end: re.Pattern[str]):
    """The token matches covering ``s`` with ``gap`` between them and ``end`` around them,
    as (pieces of the pattern, token matches); None if ``s`` is not such a sequence."""
    parts: list[str] = []
    found = []
    pos = 0
    for m in token.finditer(s):
        between = s[pos : m.start()]
        if not (end if pos == 0 else gap).fullmatch(between):
            return None
        parts.append(re.escape(between))
        found.append(m)
        pos = m.end()
    if not found or not end.fullmatch(s[pos:]):
        return None
    parts.append(re.escape(s[pos:]))
    return parts, found


def labeled_template(lead: str, trail: str, found, sep: str | None) -> Template | None:
    """The template of a line of ``label<sep>number`` tokens (as :func:`tokens` found them,
    each match's groups label, [separator,] number); ``sep`` None means each match's own
    separator (its group 2). None if a label is a time field."""
    parts, matches = found
    pattern = [re.escape(lead), parts[0]]
    keys = []
    for m, after in zip(matches, parts[1:], strict=True):
        label = m.group(1)
        if label in TIME_KEYS:
            return None
        keys.append(label)
        pattern += [re.escape(label), re.escape(m.group(2)) if sep is None else sep]
        pattern += ["(", TNUM, ")", after]
    pattern.append(re.escape(trail))
    return Template(compiled("".join(pattern)), tuple(keys))


def single(i: int) -> Callable[[tuple[str, ...]], tuple[str, ...]]:
    """Groups -> the one number group ``i``, as a tuple (itemgetter of one gives no tuple)."""

    def pick(groups: tuple[str, ...]) -> tuple[str, ...]:
        return (groups[i],)

    return pick
