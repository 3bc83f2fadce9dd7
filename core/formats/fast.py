"""The fast path's helpers: which lines get a template, the number cache, and runs of
template lines with time fields (whose times are parsed together).

The per-line loops themselves stay in :class:`sensorscope.formats.LineParser`, inlined:
they are the hot path, and a call per line would cost more than the parse.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from sensorscope.formats.base import LineFormat
from sensorscope.formats.columns import Columns
from sensorscope.formats.prefix import strip_prefix
from sensorscope.formats.template import Template
from sensorscope.formats.times import parse_times
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
