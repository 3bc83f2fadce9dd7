"""The template path: which lines get a template, the number cache, and runs of template
lines (:class:`TemplatePath`, the part of :class:`~sensorscope.formats.LineParser` that
parses without parsing), matched a block of lines at a time and given back as columns
(:class:`~sensorscope.formats.base.TemplateRun`), their time fields parsed together.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from itertools import chain
from operator import itemgetter

from sensorscope.formats.base import LineFormat, ParseCounters, TemplateRun
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
# Lines of a run matched at once: the first block, and the most.
FIRST_BLOCK = 16
LAST_BLOCK = 4096


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


def fitting(fast: Template, lines: Sequence[str], i: int, stop: int) -> list[tuple[str, ...]]:
    """The groups of each line from ``i`` on (before ``stop``) that fits the template, up
    to the first that does not. Lines go to the regular expression joined into blocks that
    double in size, so a run that ends early costs hardly more than its own lines; a block
    with a line that does not fit (or a line holding a newline) goes one line at a time."""
    found: list[tuple[str, ...]] = []
    block = fast.block
    size = FIRST_BLOCK
    while i < stop:
        end = min(stop, i + size)
        if block is not None:
            text = "\n".join(lines[i:end])
            if text.count("\n") == end - i - 1:
                got = block(text)
                if len(got) == end - i:
                    found += got
                    i = end
                    size = min(2 * size, LAST_BLOCK)
                    continue
        match = fast.match
        for j in range(i, end):
            m = match(lines[j])
            if m is None:
                return found
            found.append(m.groups())
        i = end
    return found


def number_texts(fast: Template, found: list[tuple[str, ...]]) -> Iterable[str]:
    """The number groups of the lines' groups ``found``, line after line."""
    picks = fast.picks
    if not picks:
        return chain.from_iterable(found)
    if len(picks) == 1:
        return map(itemgetter(picks[0]), found)
    return chain.from_iterable(map(itemgetter(*picks), found))


def columns(
    fast: Template,
    number: Callable[[str], float],
    found: list[tuple[str, ...]],
    ts: Sequence[float],
    i: int,
    given: bool,
) -> TemplateRun | None:
    """The run of lines from ``i`` whose groups are ``found``, as columns; it ends before
    a line with a "number" float() refuses ("1.2.3", which then takes the full path). The
    times of a template with time fields are parsed together, unless ``given``: the times
    ``ts`` came with are those fields' already."""
    try:
        values = list(map(number, number_texts(fast, found)))
    except ValueError:
        # float() gives what the number cache gives, and leaves its count of misses as the
        # line-by-line path leaves it.
        ok = 0
        for groups in found:
            try:
                list(map(float, number_texts(fast, [groups])))
            except ValueError:
                break
            ok += 1
        found = found[:ok]
        values = list(map(float, number_texts(fast, found)))
    n = len(found)
    if not n:
        return None
    times = list(ts[i : i + n])
    if fast.times and not given:
        for k in fast.times:
            parsed = parse_times(list(map(itemgetter(k), found)))
            times = [t if d is None else d for t, d in zip(times, parsed, strict=True)]
    if fast.gather is not None:
        values = gathered(values, n, fast.gather)
    return TemplateRun(i, i + n, fast.names, values, times)


def gathered(values: list[float], n: int, gather: tuple[int, ...]) -> list[float]:
    """The numbers of ``n`` lines (row-major) laid out as ``gather`` says (NaN at -1)."""
    import numpy as np  # not at import time: `record` opens its port before numpy loads

    nums = np.array(values, dtype=np.float64).reshape(n, -1)
    pick = np.array(gather)
    out = np.full((n, len(gather)), np.nan)
    out[:, pick >= 0] = nums[:, pick[pick >= 0]]
    return out.ravel().tolist()


class TemplatePath:
    """The template path of a parser: the template of the last clean line, the number
    cache, and the bookkeeping that stops rebuilding templates nobody uses.

    A base class of :class:`~sensorscope.formats.LineParser` rather than an object it
    holds: the per-line code reads ``self._fast`` and ``self._number`` on the parser itself,
    one attribute load fewer per line on the hot path. It uses the parser's counters,
    source, locked format, columns and channel set (declared below).

    ``time_column`` is the index of a csv time column when the times the lines come with
    already are that column's, as :func:`~sensorscope.formats.parse_time` gives them where
    it gives one (a CSV source reads them so): a template whose one time field is that
    column of a comma-separated row then takes them instead of parsing the field again.
    The field is the text the source parsed, give or take the blanks around the line,
    which parse_time ignores.
    """

    counters: ParseCounters
    source: str
    last_kind: str
    last_errors: int
    _locked: LineFormat | None
    _cols: Columns
    _chset: set[str]

    def __init__(self, time_column: int | None = None) -> None:
        self._time_column = time_column
        self._fast: Template | None = None
        self._floats = Floats()
        self._number: Callable[[str], float] = self._floats.__getitem__
        self._fast_from = 0
        self._fast_wait = 0
        self._backoff = 0
        self._reviewed = (0, 0)

    def _run(
        self, lines: Sequence[str], ts: Sequence[float], i: int, stop: int
    ) -> TemplateRun | None:
        """The lines from ``i`` on (before ``stop``) that fit the template, as columns
        (None if line ``i`` does not), counted as data lines."""
        fast = self._fast
        assert fast is not None
        # A csv source parses its time column into the times it sends (see __init__).
        given = fast.times == (self._time_column,) and fast.sep == ","
        run = columns(fast, self._number, fitting(fast, lines, i, stop), ts, i, given)
        if run is None:
            return None
        c = self.counters
        done = run.stop - i
        c.lines += done
        before = c.data
        c.data += done
        self.last_errors = 0
        self.last_kind = "data"
        if (before ^ c.data) & -REVIEW_EVERY:
            self._review()
        return run

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
