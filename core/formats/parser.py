"""The detecting parser: one source's text lines -> :class:`Reading`, format found once.

Trying every format on every line would cost more than the rest of the pipeline, so a
:class:`LineParser` tries them in detection order (:mod:`sensorscope.formats.detection`)
only until one line is clean data in some format, locks that format and afterwards runs
only that format's parser. Boot banners, error messages and binary noise are classified
and counted rather than raised, because one odd line must never stop a monitor.

Once a line of the locked format has parsed cleanly, the parser learns its template
(:mod:`sensorscope.formats.template`) where the format has one; later lines that match it
skip the full parse, their numbers converted through a small cache (devices repeat their
values). :meth:`LineParser.feed_many` runs whole batches of lines through it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from sensorscope.formats import registry
from sensorscope.formats.base import (
    CORRUPT,
    LineFormat,
    ParseCounters,
    Parsed,
    ParsedLines,
    ParseError,
    Result,
    TemplateRun,
)
from sensorscope.formats.channels import Channels
from sensorscope.formats.columns import Columns, header_like
from sensorscope.formats.detection import Detection
from sensorscope.formats.fast import TemplatePath
from sensorscope.formats.prefix import ANSI, is_noise, strip_prefix
from sensorscope.model import Reading

# A locked format that yields this many non-empty non-data lines in a row is dropped: the
# device was most likely reflashed with a sketch that prints something else.
REDETECT_AFTER = 50


class LineParser(TemplatePath):
    """Turns one source's text lines into :class:`Reading` objects.

    ``fmt="auto"`` finds the format from the lines themselves and re-detects after
    ``REDETECT_AFTER`` non-data lines in a row; any name in :data:`FORMATS` (or ``"bare"``)
    forces one. ``header`` presets column names, as for a CSV file whose first row is the
    header, and ``time_column`` its time column if the lines' times are already that
    column's (see :class:`~sensorscope.formats.fast.TemplatePath`). :meth:`feed` never
    raises: every line is classified in ``last_kind`` and counted in ``counters``.

    >>> p = LineParser("lab1")
    >>> r = p.feed("temp:21.5 hum:40.2", 1700000000.0)
    >>> p.format, r.values
    ('plotter', {'temp': 21.5, 'hum': 40.2})
    >>> p.feed("Failed to read from DHT sensor!", 1700000001.0) is None, p.last_kind
    (True, 'text')
    >>> p.feed("temp:abc hum:40.3", 1700000002.0).values, p.last_errors
    ({'temp': None, 'hum': 40.3}, 1)
    """

    def __init__(
        self, source: str, fmt: str = "auto", *, header: list[str] | None = None,
        time_column: int | None = None,
    ):  # fmt: skip
        forced = registry.lookup(fmt) if fmt != "auto" else None
        if fmt != "auto" and forced is None:
            choices = ", ".join(("auto", *registry.names(), *registry.ALIASES))
            raise ParseError(f"unknown format {fmt!r} (choose from: {choices})")
        super().__init__(time_column)
        self.source = source
        self.format: str | None = None
        self.last_kind = "empty"
        self.last_errors = 0
        self.counters = ParseCounters()
        self._cols = Columns(header)
        self._channels = Channels(source, self.counters, self._cols)
        self.channels: list[str] = self._channels.names
        self._chset = self._channels.set
        self._detection = Detection(source, registry.formats())
        self._locked: LineFormat | None = None
        self._fn: Callable[[str, bool, Columns], Parsed] | None = None
        self._forced = forced is not None
        self._miss = 0
        self._line = ""
        self._text = ""  # the line as the format parses it, for the units of a birth
        self.units: dict[str, str] = {}  # by channel: learn_units'
        if forced is not None:
            self._lock(forced)

    # -- public -------------------------------------------------------------------------

    def feed(
        self, line: str, t: float, *, first: bool = False, cut: bool = False
    ) -> Reading | None:
        """Classify and parse one line (no terminator) received at epoch time `t`.

        `first` marks the first line after a (re)connect, which may be a fragment; `cut`
        marks a line truncated at the length limit. Returns a Reading for data lines only.
        """
        fast = self._fast
        if fast is not None and not first and not cut:
            m = fast.match(line)
            if m is not None:
                reading = self._fast_reading(fast, m, t)
                if reading is not None:
                    return reading
        return self._feed_slow(line, t, first, cut)

    def feed_many(
        self,
        lines: Sequence[str],
        ts: Sequence[float],
        firsts: Sequence[bool] | None = None,
        cuts: Sequence[bool] | None = None,
    ) -> ParsedLines:
        """:meth:`feed` of each line in turn (``firsts`` and ``cuts`` as its flags), with
        the same results and the same state afterwards, but runs of lines that fit the
        current template go through without a call per line and come back as columns
        (:class:`~sensorscope.formats.base.TemplateRun`), not as Readings.

        >>> p = LineParser("lab1")
        >>> out = p.feed_many(["temp:21.5 hum:40", "temp:21.6 hum:41", "oops"], [1.0, 2.0, 3.0])
        >>> [r and r.values for r in out.every_reading("lab1")], out.kinds
        ([{'temp': 21.5, 'hum': 40.0}, {'temp': 21.6, 'hum': 41.0}, None], ['data', 'data', 'text'])
        """
        n = len(lines)
        readings: list[Reading | None] = []
        kinds: list[str] = []
        errors: list[int] = []
        released: dict[int, list[tuple[Reading, str]]] = {}
        runs: list[TemplateRun] = []
        flagged = flagged_lines(n, firsts, cuts)
        nxt = 0
        channels = self._channels
        i = 0
        while i < n:
            while flagged[nxt] < i:
                nxt += 1
            stop = flagged[nxt]
            if self._fast is not None and i < stop:
                run = self._run(lines, ts, i, stop)
                if run is not None:
                    runs.append(run)
                    done = run.stop - i
                    readings.extend([None] * done)
                    kinds.extend(["data"] * done)
                    errors.extend([0] * done)
                    i = run.stop
                    continue
            first = i == stop and firsts is not None and bool(firsts[i])
            cut = i == stop and cuts is not None and bool(cuts[i])
            readings.append(self._feed_slow(lines[i], ts[i], first, cut))
            kinds.append(self.last_kind)
            errors.append(self.last_errors)
            if channels.released:
                released[i] = channels.released
                channels.released = []
            i += 1
        return ParsedLines(readings, kinds, errors, released, runs)

    def take_released(self) -> list[tuple[Reading, str]]:
        """After :meth:`feed`: readings of a channel just born, held while it was on
        probation (each with its line), to be used before the line's own reading."""
        out, self._channels.released = self._channels.released, []
        return out

    def _feed_slow(self, line: str, t: float, first: bool, cut: bool) -> Reading | None:
        self._line = line
        reading = self._feed_full(line, t, first=first, cut=cut)
        kind = self.last_kind
        # Empty and cut lines change nothing the template relies on; anything else may.
        if kind != "empty" and kind != "overlong":
            if self._fast is not None:
                self._drop_template()
            if reading is not None and not self.last_errors:
                self._learn_template(line, t, reading)
        return reading

    # -- the full path ----------------------------------------------------------------------

    def _feed_full(
        self, line: str, t: float, *, first: bool = False, cut: bool = False
    ) -> Reading | None:
        c = self.counters
        c.lines += 1
        self.last_errors = 0
        if cut:
            return self._kind("overlong")
        if "\x1b" in line:
            line = ANSI.sub("", line)
        s = line.strip()
        if not s:
            return self._kind("empty")
        if is_noise(s):
            self._not_data()
            return self._kind("garbage")
        c0 = s[0]
        if c0 == "[" or c0 in "EWIDV" or ("0" <= c0 <= "9" and "->" in s):
            s = strip_prefix(s)
            if not s:
                return self._kind("empty")
        self._text = s
        if first:
            if header_like(s) is not None:
                self._cols.nondata_kind(s, self._locked, first=True)
                self._miss = 0
                return self._kind("header")
            whole = self._whole_first(s)
            if whole is None:
                return self._kind("partial")
            return self._emit(whole, t)
        fn = self._fn
        if fn is not None:
            r = fn(s, False, self._cols)
            if r is not None:
                if r is CORRUPT:
                    self._not_data()
                    return self._kind("garbage")
                if r[1] or r[3]:
                    return self._emit(r, t)
            kind = self._cols.nondata_kind(s, self._locked)
            if kind == "header":
                self._miss = 0
                return self._kind(kind)
            if not self._forced:
                switched = self._switch(s, t)
                if switched is not None:
                    return switched
            if self._forced or not self._not_data():
                return self._kind(kind)
            # The streak just unlocked the format; this line may be the new format's first.
        return self._detect(s, t)

    def _whole_first(self, s: str) -> Result | None:
        """The first line after a reconnect, parsed, when it cannot be a fragment.

        Only a keyed format can tell: a line cut anywhere loses or changes its first key, so
        one naming every known channel, each value clean, is whole. A positional line (csv,
        bare plotter values) cut inside its first number looks whole and would be a spike.
        """
        fmt = self._locked
        if fmt is None or not self._chset or not fmt.keyed(s):
            return None
        r = fmt.parse(s, False, self._cols)
        if r is None or r is CORRUPT:
            return None
        values, _good, errors, _hit, _dt = r
        if errors or values.keys() != self._chset or None in values.values():
            return None
        return r

    # -- bookkeeping ----------------------------------------------------------------------

    def _kind(self, kind: str) -> None:
        c = self.counters
        setattr(c, kind, getattr(c, kind) + 1)
        self.last_kind = kind
        return None

    def _lock(self, fmt: LineFormat) -> None:
        self.format = fmt.name
        self._locked = fmt
        self._fn = fmt.parse
        self._miss = 0
        self._detection.locked()

    def _not_data(self) -> bool:
        """Count a non-data line against the locked format; True if that unlocked it."""
        if self._fn is None or self._forced:
            return False
        self._miss += 1
        if self._miss < REDETECT_AFTER:
            return False
        self.format = None
        self._locked = None
        self._fn = None
        self._miss = 0
        return True

    def _emit(self, r: Result, t: float, vouched: bool = False) -> Reading | None:
        values, _good, errors, _hit, dt = r
        cols = self._cols
        if not values.keys() <= self._chset:
            born = len(self.channels)
            admitted = self._channels.admit(
                values, errors, t if dt is None else dt, self._line, vouched, self._locked
            )
            if admitted is None:
                cols.shape = None
                self._not_data()
                return self._kind("text")
            values = admitted
            if len(self.channels) > born:
                learn_units(self._locked, self._text, self.channels[born:], self.units)
        # The checks are inlined: this runs for every line the template path cannot take.
        if cols.shape is not None or cols.cand is not None:
            cols.commit(self._locked is not None and self._locked.positional)
        self._miss = 0
        detection = self._detection
        detection.votes = 0
        if detection.streak is not None:
            detection.end_switch()
        c = self.counters
        c.data += 1
        if errors:
            c.field_errors += errors
            self.last_errors = errors
        self.last_kind = "data"
        return Reading(t if dt is None else dt, self.source, values)

    def _switch(self, s: str, t: float) -> Reading | None:
        """A line that is no data in the locked format: if it is clean data in another one
        for the third line in a row (see Detection.switch), switch to that format; the held
        lines' readings are released with the switch."""
        assert self._locked is not None
        found = self._detection.switch(s, t, self._line, self._locked, self._cols)
        if found is None:
            return None
        fmt, r, held = found
        self._lock(fmt)
        reading = self._emit(r, t, vouched=True)
        chset = self._chset
        for rd, line in held:
            kept = {k: v for k, v in rd.values.items() if k in chset}
            self._channels.released.append((Reading(rd.t, rd.source, kept), line))
        # The held lines were counted as text; they were data after all.
        self.counters.text -= len(held)
        self.counters.data += len(held)
        return reading

    def _detect(self, s: str, t: float) -> Reading | None:
        found = self._detection.detect(s, self._cols)
        if found is CORRUPT:
            return self._kind("garbage")
        if found is not None:
            fmt, r = found
            self._lock(fmt)
            if r is not None:
                return self._emit(r, t, vouched=True)
        return self._kind(self._cols.nondata_kind(s, self._locked))


def flagged_lines(n: int, firsts: Sequence[bool] | None, cuts: Sequence[bool] | None) -> list[int]:
    """The indices of the first and cut lines of ``n``, in order, then ``n``: they never
    take the template path, so runs end before them."""
    marked: set[int] = set()
    for flags in (firsts, cuts):
        if flags is not None:
            marked.update(k for k, flag in enumerate(flags) if flag)
    return [*sorted(marked), n]


def learn_units(fmt: LineFormat | None, s: str, names: list[str], units: dict[str, str]) -> None:
    """Into ``units``: the units line ``s``, which gave birth to the channels ``names``,
    printed with their values, if its format can tell (the optional ``units(s)`` of a
    format). Asked once per birth, never per line: the fast path stays as it was."""
    units_of = getattr(fmt, "units", None)
    if units_of is None:
        return
    found = units_of(s)
    for name in names:
        unit = found.get(name)
        if unit:
            units[name] = unit
