"""The template path: which lines get a template, the number cache, runs of template
lines (:class:`TemplatePath`, the part of :class:`~sensorscope.formats.LineParser` that
parses without parsing), and runs with time fields, whose times are parsed together.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

from sensorscope.formats.base import LineFormat, ParseCounters
from sensorscope.formats.columns import Columns
from sensorscope.formats.prefix import strip_prefix
from sensorscope.formats.template import Template
from sensorscope.formats.times import parse_time, parse_times
from sensorscope.model import Reading

# Converted numbers kept per parser, and how often a template is rebuilt when its
# predecessor was hardly used (a stream whose shape keeps changing).
FLOAT_CACHE = 1 << 15
REBUILD_BACKOFF_MAX = 64
REVIEW_EVERY = 4096


class Floats(dict):
    """float() of number tokens, remembered: a sensor prints the same few values again and
    again, and a dict lookup is several times cheaper than parsing the text."""

    misses = 0

    def __missing__(self, key: str) -> float:
        v = float(key)
        if len(self) >= FLOAT_CACHE:
            self.clear()
        self[key] = v
        self.misses += 1
        return v


def template_for(fmt: LineFormat, line: str, cols: Columns) -> Template | None:
    """The template of a line that just parsed cleanly as the locked format `fmt`, if the
    format has a fast path and the line is plain text with no prefix to strip."""
    make = fmt.template
    if make is None or not line.isascii():
        return None
    if not line.replace("\t", " ").isprintable():
        return None
    s = line.strip()
    if not s or strip_prefix(s) != s:
        return None
    lead = line[: len(line) - len(line.lstrip())]
    trail = line[len(line.rstrip()) :]
    return make(s, lead, trail, cols)


def timed_run(
    fast: Template,
    number: Callable[[str], float],
    source: str,
    lines: Sequence[str],
    ts: Sequence[float],
    i: int,
    stop: int,
    add: Callable[[Reading], None],
) -> int:
    """Readings of the template lines from ``i`` on (before ``stop``), for a template
    with time fields: their times are parsed together. Returns where the run ended."""
    match = fast.match
    keys = fast.keys
    rest = fast.rest
    pick = fast.numbers
    assert pick is not None
    found: list[tuple[dict[str, float | None], tuple[str, ...]]] = []
    j = i
    for j in range(i, stop):  # noqa: B007 - j is where the run ends
        m = match(lines[j])
        if m is None:
            break
        groups = m.groups()
        try:
            values: dict[str, float | None] = dict(zip(keys, map(number, pick(groups))))  # noqa: B905
        except ValueError:
            break
        for name in rest:
            values[name] = None
        found.append((values, groups))
    else:
        j = stop
    times: list[float | None] = [None] * len(found)
    for k in fast.times:
        for n, d in enumerate(parse_times([g[k] for _v, g in found])):
            if d is not None:
                times[n] = d
    for n, ((values, _g), d) in enumerate(zip(found, times, strict=True)):
        add(Reading(ts[i + n] if d is None else d, source, values))
    return j


class TemplatePath:
    """The template path of a parser: the template of the last clean line, the number
    cache, and the bookkeeping that stops rebuilding templates nobody uses.

    A base class of :class:`~sensorscope.formats.LineParser` rather than an object it
    holds: the per-line code reads ``self._fast`` and ``self._number`` on the parser itself,
    one attribute load fewer per line on the hot path. It uses the parser's counters,
    source, locked format, columns and channel set (declared below).
    """

    counters: ParseCounters
    source: str
    last_kind: str
    last_errors: int
    _locked: LineFormat | None
    _cols: Columns
    _chset: set[str]

    def __init__(self) -> None:
        self._fast: Template | None = None
        self._floats = Floats()
        self._number: Callable[[str], float] = self._floats.__getitem__
        self._fast_from = 0
        self._fast_wait = 0
        self._backoff = 0
        self._reviewed = (0, 0)

    def _run(
        self,
        lines: Sequence[str],
        ts: Sequence[float],
        i: int,
        stop: int,
        add: Callable[[Reading], None],
    ) -> int:
        """Readings of the lines from ``i`` on (before ``stop``) that fit the template, and
        their count; returns where the run ended. The loop is inlined: it is the hot path."""
        fast = self._fast
        assert fast is not None
        match = fast.match
        keys = fast.keys
        number = self._number
        plain = fast.plain
        source = self.source
        j = i
        for j in range(i, stop):  # noqa: B007 - j is where the run ends
            m = match(lines[j])
            if m is None:
                break
            if plain:
                try:
                    # As many groups as keys: zip need not check.
                    values = dict(zip(keys, map(number, m.groups())))  # noqa: B905
                except ValueError:
                    break
                add(Reading(ts[j], source, values))
            elif fast.times:
                j = timed_run(fast, number, source, lines, ts, j, stop, add)
                break
            else:
                r = self._fast_reading(fast, m, ts[j], count=False)
                if r is None:
                    break
                add(r)
        else:
            j = stop
        if j > i:
            c = self.counters
            done = j - i
            c.lines += done
            before = c.data
            c.data += done
            self.last_errors = 0
            self.last_kind = "data"
            if (before ^ c.data) & -REVIEW_EVERY:
                self._review()
        return j

    def _fast_reading(
        self, fast: Template, m: re.Match[str], t: float, count: bool = True
    ) -> Reading | None:
        """The Reading of a line that matched the template; None if a number in it is not
        one after all (the line then takes the full path)."""
        dt = None
        try:
            if fast.numbers is None:
                values = dict(zip(fast.keys, map(self._number, m.groups())))  # noqa: B905
            else:
                groups = m.groups()
                values = dict(zip(fast.keys, map(self._number, fast.numbers(groups))))  # noqa: B905
                for k in fast.times:
                    d = parse_time(groups[k])
                    if d is not None:
                        dt = d
        except ValueError:
            return None
        for name in fast.rest:
            values[name] = None
        if count:
            c = self.counters
            c.lines += 1
            c.data += 1
            self.last_errors = 0
            self.last_kind = "data"
            if not c.data & (REVIEW_EVERY - 1):
                self._review()
        return Reading(t if dt is None else dt, self.source, values)

    def _drop_template(self) -> None:
        used = self.counters.data - self._fast_from
        self._backoff = 0 if used >= 4 else min(max(1, 2 * self._backoff), REBUILD_BACKOFF_MAX)
        self._fast_wait = self._backoff
        self._fast = None

    def _learn_template(self, line: str, t: float, reading: Reading) -> None:
        if self._fast_wait:
            self._fast_wait -= 1
            return
        fmt = self._locked
        tmpl = None if fmt is None else template_for(fmt, line, self._cols)
        if tmpl is None:
            return
        m = tmpl.match(line)
        # The template must give back exactly what the full parse just gave.
        if m is None or not set(reading.values) <= self._chset:
            return
        check = self._fast_reading(tmpl, m, t, count=False)
        if check is None or check.values != reading.values or check.t != reading.t:
            return
        if list(check.values) != list(reading.values):
            return
        self._fast = tmpl
        self._fast_from = self.counters.data

    def _review(self) -> None:
        """Stop caching numbers for a stream whose values hardly ever repeat."""
        data, misses = self._reviewed
        self._reviewed = (self.counters.data, self._floats.misses)
        fast = self._fast
        values = (self.counters.data - data) * (len(fast.keys) if fast is not None else 1)
        if 2 * (self._floats.misses - misses) > values and self._number is not float:
            self._number = float
            self._floats.clear()
