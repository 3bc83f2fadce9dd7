"""Line formats -> :class:`Reading`: find a source's format once, then parse on its fast path.

A device prints text lines in one of a handful of conventions (Arduino Serial Plotter,
key=value, CSV, prose with units, Teleplot, JSON, Influx line protocol, NMEA 0183). Trying
every convention on every line would cost more than the rest of the pipeline, so a
:class:`LineParser` tries them in priority order only until one line is clean data in some
format, locks that format and afterwards runs only that format's parser (``str.split`` and
``float``). Boot banners, error messages and binary noise are classified and counted rather
than raised, because one odd line must never stop a monitor.

Once a data line has parsed cleanly, the parser also learns its *template*: the line with
its numbers cut out (``temp:(…) hum:(…)``). A later line that matches the template exactly,
with nothing in between that could have changed what the parser knows, is parsed by that
one regular expression, its numbers converted through a small cache (devices repeat their
values). Templates are made only from shapes for which the full parse provably depends on
nothing but the numbers, and each is checked against the full parse of the line it was
made from, so the fast path returns what the full path would. :meth:`LineParser.feed_many`
runs whole batches of lines through it.
"""

from __future__ import annotations

import itertools
import json
import operator
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sensorscope.model import Reading

__all__ = [
    "FORMATS",
    "LineParser",
    "ParseCounters",
    "ParseError",
    "ParsedLines",
    "Reading",
    "parse_time",
    "parse_times",
]

FORMATS: tuple[str, ...] = ("plotter", "kv", "csv", "prose", "teleplot", "json", "influx", "nmea")
_ALIASES = {"bare": "csv"}

# A locked format that yields this many non-empty non-data lines in a row is dropped: the
# device was most likely reflashed with a sketch that prints something else.
REDETECT_AFTER = 50
# While nothing is locked, a format that only ever parses with some bad fields (a device
# that prints "status=ok" beside its numbers) still wins after this many lines in a row with
# the same channels; boot ROM chatter such as "load:0x3fff0030,len:1184" repeats only ~3x.
_VOTES_TO_LOCK = 5
# A name a line offers that is not yet a channel, on a line that does not vouch for it (see
# LineParser._admit), becomes one only once it has come back: this many lines naming it
# within this many lines. A burst of noise that happens to hold "value1:" is then a ghost,
# counted but never a channel.
_BIRTH_SEEN = 3
_BIRTH_WITHIN = 20
# A locked format's line that is no data but clean data in another format counts toward a
# switch; this many in a row (with the same names) and the source was reflashed.
_SWITCH_AFTER = 3
# Formats whose syntax alone vouches for a clean line's names.
_SELF_DESCRIBING = frozenset({"teleplot", "json", "influx", "nmea"})


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
    # Values of names that are no channel (see LineParser._admit): held on probation or
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


class _Bad:
    """Sentinel: a token that is neither a number nor a missing-value marker."""

    __slots__ = ()


class _Corrupt:
    """Sentinel: the line is in the right format but failed its own integrity check."""

    __slots__ = ()


_BAD = _Bad()
_CORRUPT = _Corrupt()

_Value = float | None | _Bad
# values, good fields, bad fields, "touches a known channel", device time
_Result = tuple[dict[str, float | None], int, int, bool, float | None]
_Parsed = _Result | _Corrupt | None

_MISSING = frozenset({"", "nan", "inf", "-inf", "+inf", "ovf", "null", "none", "-", "n/a", "na"})


def _case_variants(word: str) -> set[str]:
    return {"".join(p) for p in itertools.product(*((c.lower(), c.upper()) for c in word))}


# Precomputed spellings so the per-field check is one set lookup instead of a .lower().
# A lone "T" stays a channel: "T=23.5 H=45.1" is a temperature far more often than a clock.
_TIME_KEYS = frozenset(
    {"t"} | _case_variants("time") | _case_variants("ts") | _case_variants("timestamp")
)
_CSV_TIME_KEYS = _TIME_KEYS | _case_variants("date") | _case_variants("datetime")

# A number glued to (or one space from) a unit: "23.5C", "45 %", "23.50 *C", "23.5 Â°C".
# The unit may not start with a digit, '.', a sign or 'x', so "1.2.3", "12-3" and "0x1F"
# stay errors instead of turning into 1.2, 12 and 0.
_NUM_UNIT = re.compile(
    r"([-+]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][-+]?[0-9]+)?)"
    r"[ \t]*(?![xX])[^\s0-9.,;:+\-=][^\s0-9]*[23]?"
)

_ISO = re.compile(
    r"(\d{4})-(\d\d)-(\d\d)(?:[T ](\d\d):(\d\d)(?::(\d\d)(?:[.,](\d+))?)?)?"
    r"[ \t]*(Z|[+-]\d\d(?::?\d\d)?)?",
    re.ASCII | re.IGNORECASE,
)
_EPOCH = datetime(1970, 1, 1)

_ANSI = re.compile(r"\x1b(?:\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(?:\x07|\x1b\\)?|[@-Z\\-_])")
_BRACKET_TS = re.compile(
    r"\[(?:\d{4}-\d\d-\d\d[ T])?\d{1,2}:\d\d:\d\d(?:[.,]\d+)?\][ \t]*", re.ASCII
)
_ARROW_TS = re.compile(r"\d{1,2}:\d\d:\d\d(?:[.,]\d+)?[ \t]*->[ \t]*", re.ASCII)
_ESP_IDF = re.compile(
    r"[EWIDV] \((?:\d+|\d{1,2}:\d\d:\d\d(?:\.\d+)?)\) [A-Za-z0-9_\-]+:[ \t]?", re.ASCII
)

_NOISE = frozenset(
    [chr(i) for i in itertools.chain(range(0, 9), range(10, 32), range(127, 160))] + ["\ufffd"]
)

# "temp: 21.5" -> "temp:21.5", but only when a value follows: in "temp:\thum:" the tab
# separates two labels.
_COLON_JOIN = re.compile(
    r"[ \t]*:[ \t]+(?=[-+.0-9]|(?i:nan|[-+]?inf|ovf|null|none|n/a|na)(?![^\s,;]))"
)
_PROSE = re.compile(
    r"([^\W\d_][^:=]*?)[ \t]*:[ \t]*"  # label, may hold spaces: "Air temp"
    r"([^\s,;|:]+)"  # value, maybe with its unit glued on
    r"(?:[ \t]{1,2}[^\s\d,;:|.+\-=][^\s,;:|=]*)?"  # unit after a space: "%", "*C", "Â°C"
    r"(?![^\s,;|])(?![ \t]*[:=])"  # ...unless that "unit" is really the next label
    r"[\s,;|]*"
)
_KV_PAIR = re.compile(r"([^\s=]+)[ \t]*=[ \t]*([^\s=]*)")
_IDENT = re.compile(r"[^\W\d](?:[\w\-.()\[\]%/°# ]*[\w)\]%°])?")
_DECIMAL_COMMA_ROW = re.compile(r"[-+]?\d+(?:,\d+)?(?:[ \t]+[-+]?\d+(?:,\d+)?)+", re.ASCII)
_NMEA_ADDR = re.compile(r"[A-Z][A-Z0-9]{1,9}", re.ASCII)
_HEX = frozenset("0123456789abcdefABCDEF")
_TRUE = frozenset({"t", "T", "true", "True", "TRUE"})
_FALSE = frozenset({"f", "F", "false", "False", "FALSE"})
_JSON_DEPTH = 16

_ORDER = ("influx", "kv", "plotter", "prose", "csv")
_ORDER_TELEPLOT = ("teleplot", *_ORDER)
# A '{' line that is not JSON, or a '$' line that is not NMEA, is a message, not data in
# some looser format: "{temp:21.5}" must not become a channel named "{temp".
_ORDER_JSON = ("json",)
_ORDER_NMEA = ("nmea",)


# --------------------------------------------------------------------------- values


def _slow_value(tok: str, units: bool) -> _Value:
    t = tok.strip()
    if t.lower() in _MISSING:
        return None
    if units:
        m = _NUM_UNIT.fullmatch(t)
        if m is not None:
            v = float(m.group(1))
            return v if v - v == 0.0 else None
    return _BAD


def _conv_units(tok: str) -> _Value:
    return _conv(tok, True)


def _conv(tok: str, units: bool) -> _Value:
    try:
        v = float(tok)
    except ValueError:
        return _slow_value(tok, units)
    # float() also takes "٣" and other non-ASCII digits; a device never means those.
    if tok.isascii():
        # inf - inf is nan, so this is isfinite() without the call.
        return v if v - v == 0.0 else None
    return _BAD


def _epoch(v: float) -> float | None:
    # Units told apart by magnitude; anything else (uptime millis, counters) is no clock.
    if 1e9 <= v < 1e10:
        return v
    if 1e12 <= v < 1e13:
        return v / 1e3
    if 1e15 <= v < 1e16:
        return v / 1e6
    if 1e18 <= v < 1e19:
        return v / 1e9
    return None


def _iso_time(text: str) -> float | None:
    m = _ISO.fullmatch(text.strip())
    if m is None:
        return None
    y, mo, d, h, mi, sec, frac, tz = m.groups()
    try:
        dt = datetime(int(y), int(mo), int(d), int(h or 0), int(mi or 0), int(sec or 0))
    except ValueError:
        return None
    ts = (dt - _EPOCH).total_seconds()
    if frac:
        frac = frac[:9]
        ts += int(frac) / 10 ** len(frac)
    if tz and tz.upper() != "Z":
        offset = int(tz[1:3]) * 3600 + (int(tz[-2:]) * 60 if len(tz) > 3 else 0)
        ts += -offset if tz[0] == "+" else offset
    return ts


def parse_time(text: str) -> float | None:
    """Epoch seconds from a device time field, or None if it is no plausible clock.

    Numbers are epoch seconds, ms, us or ns told apart by magnitude; strings are ISO 8601
    (naive means UTC). Uptime counters give None.

    >>> parse_time("1700000000123"), parse_time("2024-01-02T03:04:05Z"), parse_time("12345")
    (1700000000.123, 1704164645.0, None)
    """
    try:
        v = float(text)
    except ValueError:
        return _iso_time(text)
    if not text.isascii():
        return None
    return _epoch(v)


# Days before each month in a common year, and a month's length (index 0 unused).
_MONTH_DAYS = (0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)
_ORD = tuple(ord(c) for c in "0123456789-:TtZz ")


def parse_times(texts: Sequence[str]) -> list[float | None]:
    """:func:`parse_time` of each text; the ISO shape files use most, ``YYYY-MM-DD
    HH:MM:SS`` (``T`` or space, optional ``Z``), is done for all of them at once.

    >>> parse_times(["2014-04-01 00:00:00", "2014-02-30T00:00:00Z", "1700000000123", "x"])
    [1396310400.0, None, 1700000000.123, None]
    """
    n = len(texts)
    if n < 8:
        return [parse_time(x) for x in texts]
    import numpy as np

    lens = np.fromiter(map(len, texts), dtype=np.intp, count=n)
    shaped = (lens == 19) | (lens == 20)
    if not shaped.any():
        return [parse_time(x) for x in texts]
    # Longer texts are cut to 20 here, and left to parse_time by their length.
    c = np.array(texts, dtype="<U20").view(np.uint32).reshape(n, 20).astype(np.int64)
    zero, nine, dash, colon, t_up, t_low, z_up, z_low, space = _ORD[0], *_ORD[9:]
    d = c - zero
    for j in (0, 1, 2, 3, 5, 6, 8, 9, 11, 12, 14, 15, 17, 18):
        shaped &= (c[:, j] >= zero) & (c[:, j] <= nine)
    sep = c[:, 10]
    shaped &= (c[:, 4] == dash) & (c[:, 7] == dash) & (c[:, 13] == colon) & (c[:, 16] == colon)
    shaped &= (sep == t_up) | (sep == t_low) | (sep == space)
    shaped &= (lens == 19) | (c[:, 19] == z_up) | (c[:, 19] == z_low)
    year = d[:, 0] * 1000 + d[:, 1] * 100 + d[:, 2] * 10 + d[:, 3]
    month = d[:, 5] * 10 + d[:, 6]
    day = d[:, 8] * 10 + d[:, 9]
    hour, minute, sec = d[:, 11] * 10 + d[:, 12], d[:, 14] * 10 + d[:, 15], d[:, 17] * 10 + d[:, 18]
    leap = (year % 4 == 0) & ((year % 100 != 0) | (year % 400 == 0))
    length = np.array(_MONTH_DAYS)[np.clip(month, 0, 12)] + ((month == 2) & leap)
    valid = (year >= 1) & (month >= 1) & (month <= 12) & (day >= 1) & (day <= length)
    valid &= (hour <= 23) & (minute <= 59) & (sec <= 59)
    # Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil).
    y = year - (month <= 2)
    era = y // 400
    yoe = y - era * 400
    doy = (153 * ((month + 9) % 12) + 2) // 5 + day - 1
    days = era * 146097 + yoe * 365 + yoe // 4 - yoe // 100 + doy - 719468
    out: list[float | None] = (
        (days * 86400 + hour * 3600 + minute * 60 + sec).astype(np.float64).tolist()
    )
    for i in np.flatnonzero(~shaped).tolist():
        out[i] = parse_time(texts[i])
    for i in np.flatnonzero(shaped & ~valid).tolist():
        out[i] = None
    return out


def _json_time(v: object) -> float | None:
    if isinstance(v, bool):
        return None
    if isinstance(v, (int, float)):
        try:
            return _epoch(float(v))
        except OverflowError:
            return None
    if isinstance(v, str):
        return parse_time(v)
    return None


# --------------------------------------------------------------------------- line hygiene


def _is_noise(s: str) -> bool:
    if "\x00" in s:
        return True
    if "\ufffd" not in s and (s.isprintable() or s.replace("\t", " ").isprintable()):
        return False
    bad = 0
    for ch in s:
        if ch in _NOISE:
            bad += 1
    return bad >= 2 and bad * 4 > len(s)


def _strip_prefix(s: str) -> str:
    c = s[0]
    if c == "[":
        m = _BRACKET_TS.match(s)
        if m is not None:
            s = s[m.end() :]
            if not s:
                return s
            c = s[0]
    if "0" <= c <= "9" and "->" in s:
        m = _ARROW_TS.match(s)
        if m is not None:
            s = s[m.end() :]
            if not s:
                return s
            c = s[0]
    if c in "EWIDV" and s[1:3] == " (":
        m = _ESP_IDF.match(s)
        if m is not None:
            s = s[m.end() :]
    return s.strip()


def _header_like(s: str) -> tuple[list[str], str] | None:
    """Column names and where they came from (a delimiter, or "plotter"), if `s` is a header.

    Needs two names at least: a single word ("Ready") is far more often a status message.
    """
    if s[-1] == ":" or ":\t" in s or ": " in s or ":," in s:
        toks = s.replace(",", " ").replace(";", " ").split()
        if len(toks) >= 2 and all(len(x) > 1 and x[-1] == ":" and x.count(":") == 1 for x in toks):
            return [x[:-1] for x in toks], "plotter"
        return None
    delim = ";" if ";" in s else "\t" if "\t" in s else "," if "," in s else " "
    toks = s.split() if delim == " " else [x.strip() for x in s.split(delim)]
    if len(toks) > 2 and not toks[-1]:
        toks.pop()  # "temp,hum," from a sketch that prints a delimiter after every field
    if len(toks) < 2:
        return None
    for x in toks:
        if _IDENT.fullmatch(x) is None or x.lower() in _MISSING:
            return None
    return toks, delim


def _split_outside_quotes(s: str, sep: str) -> list[str]:
    parts = []
    start = 0
    quoted = False
    i = 0
    n = len(s)
    while i < n:
        ch = s[i]
        if ch == "\\":
            i += 2
            continue
        if ch == '"':
            quoted = not quoted
        elif ch == sep and not quoted:
            parts.append(s[start:i])
            start = i + 1
        i += 1
    parts.append(s[start:])
    return parts


def _order(c: str) -> tuple[str, ...]:
    if c == "{":
        return _ORDER_JSON
    if c == "$" or c == "!":
        return _ORDER_NMEA
    if c == ">":
        return _ORDER_TELEPLOT
    return _ORDER


# --------------------------------------------------------------------------- templates

# A number as a template's group: float() has the last word ("1.2.3" goes the full way);
# without an exponent, 40 characters cannot overflow, and all are ASCII.
_TNUM = "[-+.0-9]{1,40}"
_NUM_TOKEN = re.compile(_TNUM)
# Labels a template may hold literally: ASCII names that cannot start a logger prefix or a
# time field, contain no separator and no colon (plotter splits on the first one).
_TLABEL = "[A-Za-z_][A-Za-z0-9_.\\-]*"
_PLOTTER_TOKEN = re.compile(f"({_TLABEL}):({_TNUM})")
_KV_TOKEN = re.compile(f"({_TLABEL})([ \t]*=[ \t]*)({_TNUM})")
_PLOTTER_GAP = re.compile("[ \t,;]+")
_PLOTTER_END = re.compile("[,;]*")
_EMPTY = re.compile("")
_KV_GAP_SEPARATED = re.compile("[ \t]*,[ \t,]*")
_KV_END_SEPARATED = re.compile(",[ \t,]*|")
_KV_GAP_BARE = re.compile("[ \t]+")
# A csv time field a template may hold: an ISO-ish date (its "dddd-" keeps the decimal-comma
# test from ever matching the row) or an unsigned epoch number; no field separator.
_CSV_TIME = "[0-9]{4}-[0-9:.+\\-TZ ]*[0-9Z]|[0-9]+(?:\\.[0-9]*)?"
_CSV_TIME_NOSPACE = "[0-9]{4}-[0-9:.+\\-TZ]*[0-9Z]|[0-9]+(?:\\.[0-9]*)?"
_TEMPLATES: dict[str, Callable[[str], re.Match[str] | None]] = {}
_TEMPLATES_MAX = 256
# Converted numbers kept per parser, and how often a template is rebuilt when its
# predecessor was hardly used (a stream whose shape keeps changing).
_FLOAT_CACHE = 1 << 15
_REBUILD_BACKOFF_MAX = 64
_REVIEW_EVERY = 4096


class _Floats(dict):
    """float() of number tokens, remembered: a sensor prints the same few values again and
    again, and a dict lookup is several times cheaper than parsing the text."""

    misses = 0

    def __missing__(self, key: str) -> float:
        v = float(key)
        if len(self) >= _FLOAT_CACHE:
            self.clear()
        self[key] = v
        self.misses += 1
        return v


@dataclass(slots=True)
class _Template:
    match: Callable[[str], re.Match[str] | None]
    keys: tuple[str, ...]  # the channel of each number group, in the order of the groups
    rest: tuple[str, ...] = ()  # csv header names past the row's end: None
    times: tuple[int, ...] = ()  # groups holding a csv time field (0-based)
    numbers: Callable[[tuple[str, ...]], tuple[str, ...]] | None = None  # groups -> numbers
    plain: bool = True  # every group is a number and nothing else goes into the Reading

    def __post_init__(self) -> None:
        self.plain = self.numbers is None and not self.rest


def _compiled(pattern: str) -> Callable[[str], re.Match[str] | None]:
    fn = _TEMPLATES.get(pattern)
    if fn is None:
        if len(_TEMPLATES) >= _TEMPLATES_MAX:
            _TEMPLATES.clear()
        fn = _TEMPLATES[pattern] = re.compile(pattern).fullmatch
    return fn


def _tokens(s: str, token: re.Pattern[str], gap: re.Pattern[str], end: re.Pattern[str]):
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


# --------------------------------------------------------------------------- the parser


class LineParser:
    """Turns one source's text lines into :class:`Reading` objects.

    ``fmt="auto"`` finds the format from the lines themselves and re-detects after
    ``REDETECT_AFTER`` non-data lines in a row; any name in :data:`FORMATS` (or ``"bare"``)
    forces one. ``header`` presets column names, as for a CSV file whose first row is the
    header. :meth:`feed` never raises: every line is classified in ``last_kind`` and counted
    in ``counters``.

    >>> p = LineParser("lab1")
    >>> r = p.feed("temp:21.5 hum:40.2", 1700000000.0)
    >>> p.format, r.values
    ('plotter', {'temp': 21.5, 'hum': 40.2})
    >>> p.feed("Failed to read from DHT sensor!", 1700000001.0) is None, p.last_kind
    (True, 'text')
    >>> p.feed("temp:abc hum:40.3", 1700000002.0).values, p.last_errors
    ({'temp': None, 'hum': 40.3}, 1)
    """

    def __init__(self, source: str, fmt: str = "auto", *, header: list[str] | None = None):
        name = _ALIASES.get(fmt, fmt)
        if name != "auto" and name not in FORMATS:
            choices = ", ".join(("auto", *FORMATS, *_ALIASES))
            raise ParseError(f"unknown format {fmt!r} (choose from: {choices})")
        self.source = source
        self.format: str | None = None
        self.channels: list[str] = []
        self.last_kind = "empty"
        self.last_errors = 0
        self.counters = ParseCounters()
        self._fns: dict[str, Callable[[str, bool], _Parsed]] = {
            "plotter": self._parse_plotter,
            "kv": self._parse_kv,
            "csv": self._parse_csv,
            "prose": self._parse_prose,
            "teleplot": self._parse_teleplot,
            "json": self._parse_json,
            "influx": self._parse_influx,
            "nmea": self._parse_nmea,
        }
        self._fn: Callable[[str, bool], _Parsed] | None = None
        self._forced = name != "auto"
        self._chset: set[str] = set()
        # Channels plus header names: a bad value under one of these labels is still data.
        self._known: set[str] = set()
        # Positional column names (csv columns, plotter's unlabeled values) and their origin.
        self._names: list[str] | None = None
        self._names_src: str | None = None
        self._colcache: dict[tuple[str, int], tuple[list[str], frozenset[int], list[str]]] = {}
        # A header seen but not yet applied: it is applied when a row of its shape follows.
        self._cand: tuple[list[str], str] | None = None
        # Shape (column count, delimiter) of the last positional data row, and of the row
        # being parsed right now (committed only if that row turns out to be data).
        self._width: int | None = None
        self._wdelim: str | None = None
        self._shape: tuple[int, str] | None = None
        self._miss = 0
        self._vote_key: tuple[str, frozenset[str]] | None = None
        self._votes = 0
        # The template of the last clean data line (see the module docstring), the number
        # cache, and the bookkeeping that stops rebuilding templates nobody uses.
        self._fast: _Template | None = None
        self._floats = _Floats()
        self._number: Callable[[str], float] = self._floats.__getitem__
        self._fast_from = 0
        self._fast_wait = 0
        self._backoff = 0
        self._reviewed = (0, 0)
        # Names on probation: the lines (counter values) that named them and their held
        # readings; and the readings released at a birth, for the caller to take.
        self._pending: dict[str, tuple[list[int], list[tuple[int, Reading, str]]]] = {}
        self._released: list[tuple[Reading, str]] = []
        self._line = ""
        self._switch_key: tuple[str, frozenset[str]] | None = None
        self._switch_held: list[tuple[Reading, str]] = []
        if header:
            self._set_names([h.strip() for h in header], None)
            self._width = len(header)
        if self._forced:
            self._lock(name)

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
        current template go through without a call per line.

        >>> p = LineParser("lab1")
        >>> out = p.feed_many(["temp:21.5 hum:40", "temp:21.6 hum:41", "oops"], [1.0, 2.0, 3.0])
        >>> [r and r.values for r in out.readings], out.kinds
        ([{'temp': 21.5, 'hum': 40.0}, {'temp': 21.6, 'hum': 41.0}, None], ['data', 'data', 'text'])
        """
        n = len(lines)
        readings: list[Reading | None] = []
        kinds: list[str] = []
        errors: list[int] = []
        released: dict[int, list[tuple[Reading, str]]] = {}
        # First and cut lines never take the template path: runs end before them.
        marked: set[int] = set()
        for flags in (firsts, cuts):
            if flags is not None:
                marked.update(k for k, flag in enumerate(flags) if flag)
        flagged = [*sorted(marked), n]
        nxt = 0
        source = self.source
        c = self.counters
        add = readings.append
        i = 0
        while i < n:
            fast = self._fast
            while flagged[nxt] < i:
                nxt += 1
            stop = flagged[nxt]
            if fast is not None and i < stop:
                match = fast.match
                keys = fast.keys
                number = self._number
                plain = fast.plain
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
                        j = self._timed_run(fast, lines, ts, j, stop, add)
                        break
                    else:
                        r = self._fast_reading(fast, m, ts[j], count=False)
                        if r is None:
                            break
                        add(r)
                else:
                    j = stop
                if j > i:
                    done = j - i
                    kinds.extend(["data"] * done)
                    errors.extend([0] * done)
                    c.lines += done
                    before = c.data
                    c.data += done
                    self.last_errors = 0
                    self.last_kind = "data"
                    if (before ^ c.data) & -_REVIEW_EVERY:
                        self._review()
                    i = j
                    continue
            first = i == stop and firsts is not None and bool(firsts[i])
            cut = i == stop and cuts is not None and bool(cuts[i])
            add(self._feed_slow(lines[i], ts[i], first, cut))
            kinds.append(self.last_kind)
            errors.append(self.last_errors)
            if self._released:
                released[i] = self._released
                self._released = []
            i += 1
        return ParsedLines(readings, kinds, errors, released)

    # -- the template path ----------------------------------------------------------------

    def _fast_reading(
        self, fast: _Template, m: re.Match[str], t: float, count: bool = True
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
            if not c.data & (_REVIEW_EVERY - 1):
                self._review()
        return Reading(t if dt is None else dt, self.source, values)

    def _timed_run(
        self,
        fast: _Template,
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
        number = self._number
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
        source = self.source
        for n, ((values, _g), d) in enumerate(zip(found, times, strict=True)):
            add(Reading(ts[i + n] if d is None else d, source, values))
        return j

    def take_released(self) -> list[tuple[Reading, str]]:
        """After :meth:`feed`: readings of a channel just born, held while it was on
        probation (each with its line), to be used before the line's own reading."""
        out, self._released = self._released, []
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

    def _drop_template(self) -> None:
        used = self.counters.data - self._fast_from
        self._backoff = 0 if used >= 4 else min(max(1, 2 * self._backoff), _REBUILD_BACKOFF_MAX)
        self._fast_wait = self._backoff
        self._fast = None

    def _learn_template(self, line: str, t: float, reading: Reading) -> None:
        if self._fast_wait:
            self._fast_wait -= 1
            return
        tmpl = self._template(line)
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

    def _template(self, line: str) -> _Template | None:
        """The template of a line that just parsed cleanly as the locked format, if its
        shape is one whose full parse depends on nothing but its numbers."""
        fmt = self.format
        if fmt not in ("plotter", "kv", "csv") or not line.isascii():
            return None
        if not line.replace("\t", " ").isprintable():
            return None
        s = line.strip()
        if not s or _strip_prefix(s) != s:
            return None
        lead = line[: len(line) - len(line.lstrip())]
        trail = line[len(line.rstrip()) :]
        if fmt == "csv":
            return self._csv_template(s, re.escape(lead), re.escape(trail))
        if fmt == "plotter":
            found = _tokens(s, _PLOTTER_TOKEN, _PLOTTER_GAP, _PLOTTER_END)
        elif ";" in s:
            return None  # decimal commas and ';' pieces: the full path decides
        elif "," in s:
            found = _tokens(s, _KV_TOKEN, _KV_GAP_SEPARATED, _KV_END_SEPARATED)
        else:
            found = _tokens(s, _KV_TOKEN, _KV_GAP_BARE, _EMPTY)
            if found is not None and any(m.group(2) != "=" for m in found[1]):
                return None  # "T = 5" splits into three words: the full path decides
        if found is None:
            return None
        parts, tokens = found
        pattern = [re.escape(lead), parts[0]]
        keys = []
        for m, after in zip(tokens, parts[1:], strict=True):
            label = m.group(1)
            if label in _TIME_KEYS:
                return None
            keys.append(label)
            pattern += [re.escape(label), re.escape(m.group(2)) if fmt == "kv" else ":"]
            pattern += ["(", _TNUM, ")", after]
        pattern.append(re.escape(trail))
        return _Template(_compiled("".join(pattern)), tuple(keys))

    def _csv_template(self, s: str, lead: str, trail: str) -> _Template | None:
        delim, dc = _csv_delimiter(s)
        if dc:
            return None
        if delim == " ":
            pieces = re.split("( +)", s)
            toks, gaps = pieces[0::2], pieces[1::2]
        else:
            toks = s.split(delim)
            gaps = [delim] * (len(toks) - 1)
        n = len(toks)
        w = self._width
        tail = ""
        # The same rule as the full parse for a trailing delimiter, under the same state.
        if n > 1 and delim != " " and (w is None or n - 1 == w) and not toks[-1].strip():
            toks.pop()
            gaps.pop()
            n -= 1
            tail = re.escape(delim)
        cols, tcols, rest = self._columns(n, delim, "ch")
        timefield = _CSV_TIME_NOSPACE if delim == " " else _CSV_TIME
        pattern = [lead]
        keys: list[str] = []
        times: list[int] = []
        numbers: list[int] = []
        for i, tok in enumerate(toks):
            core = tok.strip(" ")
            pad_l = tok[: len(tok) - len(tok.lstrip(" "))]
            pad_r = tok[len(tok.rstrip(" ")) :]
            if i in tcols:
                if not re.fullmatch(timefield, core):
                    return None
                times.append(i)
                field = f"(?:{timefield})"
            else:
                if not _NUM_TOKEN.fullmatch(core):
                    return None
                numbers.append(i)
                keys.append(cols[i])
                field = _TNUM
            pattern += ["(", re.escape(pad_l), field, re.escape(pad_r), ")"]
            if i < len(gaps):
                pattern.append(re.escape(gaps[i]))
        if not numbers:
            return None
        pattern += [tail, trail]
        pick = None
        if times:
            pick = operator.itemgetter(*numbers) if len(numbers) > 1 else _single(numbers[0])
        return _Template(_compiled("".join(pattern)), tuple(keys), tuple(rest), tuple(times), pick)

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
            line = _ANSI.sub("", line)
        s = line.strip()
        if not s:
            return self._kind("empty")
        if _is_noise(s):
            self._not_data()
            return self._kind("garbage")
        c0 = s[0]
        if c0 == "[" or c0 in "EWIDV" or ("0" <= c0 <= "9" and "->" in s):
            s = _strip_prefix(s)
            if not s:
                return self._kind("empty")
        if first:
            if _header_like(s) is not None:
                self._nondata_kind(s, first=True)
                self._miss = 0
                return self._kind("header")
            whole = self._whole_first(s)
            if whole is None:
                return self._kind("partial")
            return self._emit(whole, t)
        fn = self._fn
        if fn is not None:
            r = fn(s, False)
            if r is not None:
                if r is _CORRUPT:
                    self._not_data()
                    return self._kind("garbage")
                if r[1] or r[3]:
                    return self._emit(r, t)
            kind = self._nondata_kind(s)
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

    def _whole_first(self, s: str) -> _Result | None:
        """The first line after a reconnect, parsed, when it cannot be a fragment.

        Only a keyed format can tell: a line cut anywhere loses or changes its first key, so
        one naming every known channel, each value clean, is whole. A positional line (csv,
        bare plotter values) cut inside its first number looks whole and would be a spike.
        """
        fn = self._fn
        if fn is None or not self._chset:
            return None
        keyed = self.format in ("kv", "json", "teleplot", "influx")
        if not keyed and not (self.format == "plotter" and ":" in s):
            return None
        r = fn(s, False)
        if r is None or r is _CORRUPT:
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

    def _lock(self, name: str) -> None:
        self.format = name
        self._fn = self._fns[name]
        self._miss = 0
        self._votes = 0
        self._vote_key = None
        self._switch_key = None
        self._switch_held = []

    def _not_data(self) -> bool:
        """Count a non-data line against the locked format; True if that unlocked it."""
        if self._fn is None or self._forced:
            return False
        self._miss += 1
        if self._miss < REDETECT_AFTER:
            return False
        self.format = None
        self._fn = None
        self._miss = 0
        return True

    def _emit(self, r: _Result, t: float, vouched: bool = False) -> Reading | None:
        values, _good, errors, _hit, dt = r
        if not values.keys() <= self._chset:
            admitted = self._admit(values, errors, t if dt is None else dt, vouched)
            if admitted is None:
                self._shape = None
                self._not_data()
                return self._kind("text")
            values = admitted
        shape = self._shape
        if shape is not None and (self.format == "csv" or self.format == "plotter"):
            n, delim = shape
            cand = self._cand
            if cand is not None and self._cand_fits(cand, n, delim):
                self._set_names(*cand)
            self._width = n
            self._wdelim = delim
        self._shape = None
        self._cand = None
        self._miss = 0
        self._votes = 0
        if self._switch_key is not None:
            self._switch_key = None
            self._switch_held = []
        c = self.counters
        c.data += 1
        if errors:
            c.field_errors += errors
            self.last_errors = errors
        self.last_kind = "data"
        return Reading(t if dt is None else dt, self.source, values)

    def _admit(
        self, values: dict[str, float | None], errors: int, t: float, vouched: bool = False
    ) -> dict[str, float | None] | None:
        """The values of a line that names channels not yet known, with the names that do
        not become channels (yet) taken out; None if nothing is left.

        A name becomes a channel at once from a line that vouches for it: the first data a
        source prints, a header that announced it, a clean line beside known channels, a
        clean line of a format whose syntax leaves no doubt, or the line that (re)locks a
        format. A name without a value on a line with bad fields waits (a CSV text column
        never gets one). Any other name is on probation: its readings are held until it has
        been named on ``_BIRTH_SEEN`` lines within ``_BIRTH_WITHIN``, then released; one that
        does not come back is a ghost, counted in ``counters.ghosts``, never a channel.
        """
        chset = self._chset
        line_no = self.counters.lines
        clean = not errors
        vouched = (
            vouched
            or not chset
            or (clean and (self.format in _SELF_DESCRIBING or any(k in chset for k in values)))
        )
        kept: dict[str, float | None] = {}
        for k, v in values.items():
            if k in chset:
                kept[k] = v
                continue
            if v is None and errors:
                continue  # perhaps a text column; it waits for a number or a clean line
            if not k.isprintable() or "\ufffd" in k:
                self.counters.ghosts += 1
                continue
            pending = self._pending.get(k)
            # A name a header announced is vouched for by the header.
            cand = self._cand
            if not vouched and k not in self._known and (cand is None or k not in cand[0]):
                if pending is None:
                    pending = self._pending[k] = ([], [])
                seen, held = pending
                seen.append(line_no)
                old = line_no - _BIRTH_WITHIN
                while seen[0] < old:
                    seen.pop(0)
                # What falls out of the window stays counted: those values are ghosts now.
                while held and held[0][0] < old:
                    held.pop(0)
                if len(seen) < _BIRTH_SEEN:
                    if v is not None:
                        held.append((line_no, Reading(t, self.source, {k: v}), self._line))
                        self.counters.ghosts += 1
                    continue
            if pending is not None:
                self.counters.ghosts -= len(pending[1])
                self._released.extend((r, ln) for _n, r, ln in pending[1])
                del self._pending[k]
            chset.add(k)
            self._known.add(k)
            self.channels.append(k)
            kept[k] = v
        if len(self._pending) > 64:
            self._forget_ghosts(line_no)
        return kept or None

    def _forget_ghosts(self, line_no: int) -> None:
        """Drop names on probation that have not come back in time (they are ghosts)."""
        for k, (seen, _held) in list(self._pending.items()):
            if seen[-1] < line_no - _BIRTH_WITHIN:
                del self._pending[k]

    def _switch(self, s: str, t: float) -> Reading | None:
        """A line that is no data in the locked format: if it is clean data in another one,
        count it toward a switch, and switch on the ``_SWITCH_AFTER``th such line in a row;
        the held lines' readings are released with the switch."""
        fns = self._fns
        for name in _order(s[0]):
            if name == self.format:
                continue
            r = fns[name](s, True)
            if r is None or r is _CORRUPT or not r[1] or r[2]:
                continue
            key = (name, frozenset(r[0]))
            if key != self._switch_key:
                self._switch_key = key
                self._switch_held = []
            held = self._switch_held
            if len(held) + 1 < _SWITCH_AFTER:
                dt = r[4]
                values = {k: v for k, v in r[0].items() if v is not None}
                held.append((Reading(t if dt is None else dt, self.source, values), self._line))
                return None
            self._lock(name)
            reading = self._emit(r, t, vouched=True)
            chset = self._chset
            for rd, line in held:
                kept = {k: v for k, v in rd.values.items() if k in chset}
                self._released.append((Reading(rd.t, rd.source, kept), line))
            # The held lines were counted as text; they were data after all.
            self.counters.text -= len(held)
            self.counters.data += len(held)
            return reading
        self._switch_key = None
        self._switch_held = []
        return None

    def _detect(self, s: str, t: float) -> Reading | None:
        fns = self._fns
        lenient: tuple[str, _Result] | None = None
        for name in _order(s[0]):
            r = fns[name](s, True)
            if r is None:
                continue
            if r is _CORRUPT:
                self._votes = 0
                return self._kind("garbage")
            if r[1]:
                if not r[2]:
                    self._lock(name)
                    return self._emit(r, t, vouched=True)
                if lenient is None:
                    lenient = (name, r)
        if lenient is None:
            self._votes = 0
            self._vote_key = None
        else:
            name = lenient[0]
            key = (name, frozenset(lenient[1][0]))
            if key == self._vote_key:
                self._votes += 1
            else:
                self._vote_key = key
                self._votes = 1
            if self._votes >= _VOTES_TO_LOCK:
                self._lock(name)
                # Strict mode counts stray words as errors; parse again the way it will be
                # parsed from now on.
                r = fns[name](s, False)
                if r is not None and r is not _CORRUPT and (r[1] or r[3]):
                    return self._emit(r, t, vouched=True)
        return self._kind(self._nondata_kind(s))

    # -- headers and positional names -----------------------------------------------------

    def _set_names(self, names: list[str], src: str | None) -> None:
        self._names = list(names)
        self._names_src = src
        self._colcache.clear()
        self._known.update(n for n in names if n not in _CSV_TIME_KEYS)

    def _cand_fits(self, cand: tuple[list[str], str], n: int, delim: str | None) -> bool:
        if len(cand[0]) != n:
            return False
        # Plotter splits on any separator, so only the count has to agree there.
        return delim is None or cand[1] == delim or cand[1] == "plotter"

    def _columns(
        self, n: int, delim: str | None, prefix: str
    ) -> tuple[list[str], frozenset[int], list[str]]:
        """Names for `n` positional fields, time column indices, and unfilled header names."""
        cand = self._cand
        if cand is not None and self._cand_fits(cand, n, delim):
            names = cand[0]
            return names, frozenset(i for i, x in enumerate(names) if x in _CSV_TIME_KEYS), []
        key = (prefix, n)
        hit = self._colcache.get(key)
        if hit is not None:
            return hit
        names = self._names or []
        base = 1 if prefix == "value" else 0
        cols = names[:n] + [f"{prefix}{i + base}" for i in range(len(names), n)]
        tcols = frozenset(i for i, x in enumerate(cols) if i < len(names) and x in _CSV_TIME_KEYS)
        rest = [x for x in names[n:] if x not in _CSV_TIME_KEYS]
        hit = self._colcache[key] = (cols, tcols, rest)
        return hit

    def _nondata_kind(self, s: str, first: bool = False) -> str:
        """ "header" (learning its names when they fit) or "text", for a line that is no data."""
        h = _header_like(s)
        if h is None:
            return "text"
        names, src = h
        fmt = self.format
        if fmt is None:
            self._cand = h
            # "Sensor init ok" splits into words like "temp hum" does; call it text until a
            # row of the same shape shows it was a header.
            return "header" if src != " " or first else "text"
        if fmt != "csv" and fmt != "plotter":
            return "header" if first else "text"
        fits = len(names) == self._width and (
            fmt == "plotter" or self._wdelim is None or src in (self._wdelim, "plotter")
        )
        # Before any positional row there is no shape to compare with; words separated by
        # spaces only ("Sensor init ok") then need a row of their shape to count.
        if names == self._names or fits or (self._width is None and src != " "):
            self._set_names(names, src)
            self._cand = None
            return "header"
        # A different shape than the data: keep it in case the next rows take that shape
        # (a reflashed device with another column set), else it was just a message.
        self._cand = h
        return "header" if first else "text"

    # -- formats ----------------------------------------------------------------------------
    # Each returns None when the line is not this format at all, else (values, good fields,
    # bad fields, touches-a-known-channel, device time). `strict` is set while detecting:
    # words the format cannot place then count as bad fields, so that only clean lines lock.

    def _parse_plotter(self, s: str, strict: bool) -> _Parsed:
        self._shape = None
        if ":" in s and (": " in s or ":\t" in s or " :" in s or "\t:" in s):
            s = _COLON_JOIN.sub(":", s)
        if "," in s:
            s = s.replace(",", " ")
        if ";" in s:
            s = s.replace(";", " ")
        toks = s.split()
        n = len(toks)
        known = self._known
        values: dict[str, float | None] = {}
        good = errors = labeled = label_only = stray = 0
        hit = False
        dt = None
        cols: list[str] | None = None
        tcols: frozenset[int] = frozenset()
        for i, tok in enumerate(toks):
            lab, sep, val = tok.partition(":")
            if sep and lab:
                labeled += 1
                if lab in _TIME_KEYS:
                    if val:
                        d = parse_time(val)
                        if d is not None:
                            dt = d
                    continue
                if not val:
                    label_only += 1
                    values[lab] = None
                    if lab in known:
                        hit = True
                    continue
                # _conv() inlined: this loop is the hot path of the most common format.
                try:
                    v = float(val)
                except ValueError:
                    v = _slow_value(val, True)
                else:
                    if not val.isascii():
                        v = _BAD
                    elif v - v != 0.0:
                        v = None
                if v is _BAD:
                    errors += 1
                    v = None
                    if lab in known:
                        hit = True
                elif v is None:
                    if lab in known:
                        hit = True
                else:
                    good += 1
                values[lab] = v
                continue
            if sep:
                tok = val
            if cols is None:
                cols, tcols, _rest = self._columns(n, None, "value")
            if tcols and i in tcols:
                d = parse_time(tok)
                if d is not None:
                    dt = d
                continue
            name = cols[i]
            v = _conv(tok, True)
            if v is _BAD:
                errors += 1
                stray += 1
                v = None
            elif v is None:
                if name in known:
                    hit = True
            else:
                good += 1
            values[name] = v
        if label_only == n:
            return None  # "temp:\thum:" is a header, handled as such
        if cols is not None:
            if strict and not labeled and not self._plotter_names(n):
                return None  # bare numbers are csv's unless a plotter header named them
            if stray > good:
                return None  # words with a number among them: a message
            self._shape = (n, "plotter")
        return values, good, errors, hit, dt

    def _plotter_names(self, n: int) -> bool:
        cand = self._cand
        if cand is not None:
            return cand[1] == "plotter" and len(cand[0]) == n
        return self._names is not None and self._names_src == "plotter"

    def _parse_csv(self, s: str, strict: bool) -> _Parsed:
        self._shape = None
        delim, dc = _csv_delimiter(s)
        toks = s.split() if delim == " " else s.split(delim)
        n = len(toks)
        w = self._width
        # Sketches often print the delimiter after every field; that last empty field is
        # no column unless the row needs it to have the data's width ("2014-04-01,").
        if n > 1 and delim != " " and (w is None or n - 1 == w) and not toks[-1].strip():
            toks.pop()
            n -= 1
        cols, tcols, rest = self._columns(n, delim, "ch")
        values: dict[str, float | None] = {}
        good = errors = missing = 0
        dt = None
        for i, tok in enumerate(toks):
            if dc:
                tok = tok.replace(",", ".")
            if tcols and i in tcols:
                d = parse_time(tok)
                if d is not None:
                    dt = d
                continue
            try:
                v = float(tok)
            except ValueError:
                v = _slow_value(tok, False)
                if v is _BAD:
                    d = _iso_time(tok) if "-" in tok else None
                    if d is not None:
                        dt = d  # a date column the header did not name
                        continue
                    errors += 1
                    v = None
                elif v is None:
                    missing += 1
                else:
                    good += 1
            else:
                if not tok.isascii():
                    errors += 1
                    v = None
                elif v - v == 0.0:
                    good += 1
                else:
                    missing += 1
                    v = None
            values[cols[i]] = v
        if rest:
            for name in rest:
                values[name] = None
        self._shape = (n, delim)
        if errors:
            # "Sensor read failed after 3 tries" is a message with a number in it, not a
            # row with five bad fields: a row needs the data's shape and mostly numbers.
            if good < errors:
                return None
            if w is not None and n != w and not (self._names and n <= len(self._names)):
                return None
        if good:
            return values, good, errors, False, dt
        # A row of only missing markers ("nan,nan") is data when it has the known shape;
        # a row of only words ("Booting...") never is.
        if errors or not missing or n != self._width or strict:
            return None
        return values, 0, 0, True, dt

    def _parse_kv(self, s: str, strict: bool) -> _Parsed:
        if "=" not in s:
            return None
        dc = False
        if ";" in s:
            pieces = s.split(";")
            dc = "," in s
            separated = True
        elif "," in s:
            pieces = s.split(",")
            separated = True
        else:
            pieces = [s]
            separated = False
        pairs: list[tuple[str, str]] = []
        junk = 0
        for piece in pieces:
            eq = piece.count("=")
            if eq == 0:
                if piece.strip():
                    junk += 1
                continue
            if eq == 1 and separated:
                k, _, v = piece.partition("=")
                k = k.strip()
                if k:
                    pairs.append((k, v.strip()))
                else:
                    junk += 1
                continue
            toks = piece.split()
            if all(x.count("=") == 1 and x[0] != "=" for x in toks):
                for x in toks:
                    k, _, v = x.partition("=")
                    pairs.append((k, v))
                continue
            pos = 0
            for m in _KV_PAIR.finditer(piece):
                if piece[pos : m.start()].strip():
                    junk += 1
                pairs.append((m.group(1), m.group(2)))
                pos = m.end()
            if piece[pos:].strip():
                junk += 1
        if not pairs:
            return None
        if dc:
            pairs = [(k, v.replace(",", ".")) for k, v in pairs]
        return self._collect(pairs, _conv_units, junk if strict else 0)

    def _collect(
        self,
        pairs: Iterable[tuple[str, str]],
        conv: Callable[[str], _Value],
        errors: int = 0,
        prefix: str = "",
    ) -> _Parsed:
        """Named tokens -> values, counting good, bad and known-but-missing fields.

        A name in ``_TIME_KEYS`` is the device time, not a channel; channels are named
        ``prefix + name``.
        """
        known = self._known
        values: dict[str, float | None] = {}
        good = 0
        hit = False
        dt = None
        for k, val in pairs:
            if k in _TIME_KEYS:
                d = parse_time(val)
                if d is not None:
                    dt = d
                continue
            name = prefix + k
            v = conv(val)
            if v is _BAD:
                errors += 1
                v = None
                if name in known:
                    hit = True
            elif v is None:
                if name in known:
                    hit = True
            else:
                good += 1
            values[name] = v
        return values, good, errors, hit, dt

    def _parse_prose(self, s: str, strict: bool) -> _Parsed:
        if ":" not in s:
            return None
        errors = 0
        if strict:
            matches = []
            pos = 0
            end = len(s)
            while pos < end:
                m = _PROSE.match(s, pos)
                if m is None:
                    errors += 1
                    break
                matches.append(m)
                pos = m.end()
        else:
            matches = list(_PROSE.finditer(s))
        if not matches:
            return None
        return self._collect(
            ((m.group(1).strip(), m.group(2)) for m in matches), _conv_units, errors
        )

    def _parse_teleplot(self, s: str, strict: bool) -> _Parsed:
        if s[0] != ">":
            return None
        body = s[1:]
        bar = body.find("|")
        if bar != -1:
            flags = body[bar + 1 :].replace(",", " ").split()
            if "t" in flags or "xy" in flags:
                return None  # text and xy telemetry carry no scalar value
            body = body[:bar]
        unit = body.find("§")
        if unit != -1:
            body = body[:unit]
        name, sep, rest = body.partition(":")
        name = name.strip()
        if not sep or not name or name in _TIME_KEYS:
            return None
        if ";" in rest:
            rest = rest[rest.rfind(";") + 1 :]  # several points: the newest is the last
        stamp, sep, val = rest.rpartition(":")
        if ":" in stamp:
            return None
        dt = parse_time(stamp.strip()) if sep else None
        v = _conv(val.strip(), True)
        if v is _BAD:
            return {name: None}, 0, 1, name in self._known, dt
        if v is None:
            return {name: None}, 0, 0, name in self._known, dt
        return {name: v}, 1, 0, False, dt

    def _parse_json(self, s: str, strict: bool) -> _Parsed:
        if s[0] != "{":
            return None
        try:
            obj = json.loads(s)
        except (ValueError, RecursionError):
            return None
        if not isinstance(obj, dict):
            return None
        values: dict[str, float | None] = {}
        dt = None
        for k, v in obj.items():
            k = k.strip()
            if not k:
                continue
            if k in _TIME_KEYS:
                d = _json_time(v)
                if d is not None:
                    dt = d
                continue
            _json_put(k, v, values, 0)
        good = 0
        hit = False
        known = self._known
        for k, v in values.items():
            if v is None:
                if k in known:
                    hit = True
            else:
                good += 1
        return values, good, 0, hit, dt

    def _parse_influx(self, s: str, strict: bool) -> _Parsed:
        if "=" not in s or " " not in s:
            return None
        quoted = '"' in s or "\\" in s
        parts = _split_outside_quotes(s, " ") if quoted else s.split(" ")
        parts = [p for p in parts if p]
        if len(parts) == 3:
            stamp = parts[2]
            if not (stamp.isascii() and stamp.lstrip("-").isdigit()):
                return None
        elif len(parts) != 2:
            return None
        head = _split_outside_quotes(parts[0], ",") if quoted else parts[0].split(",")
        meas = head[0]
        if not meas or "=" in meas or ":" in meas:
            return None
        for tag in head[1:]:
            if "=" not in tag:
                return None
        fields = _split_outside_quotes(parts[1], ",") if quoted else parts[1].split(",")
        if quoted:
            meas = meas.replace("\\", "")
        pairs = []
        for f in fields:
            k, sep, val = f.partition("=")
            if not sep or not k:
                return None
            if val[:1] == '"':
                continue  # string fields are notes, not measurements
            pairs.append((k.replace("\\", "") if quoted else k, val))
        values, good, errors, hit, dt = self._collect(pairs, _influx_value, prefix=meas + ".")
        if len(parts) == 3:
            d = _epoch(float(parts[2]))
            if d is not None:
                dt = d
        return values, good, errors, hit, dt

    def _parse_nmea(self, s: str, strict: bool) -> _Parsed:
        if s[0] != "$" and s[0] != "!":
            return None
        body = s[1:]
        star = body.rfind("*")
        checksum = None
        if star != -1:
            checksum = body[star + 1 :]
            body = body[:star]
        fields = body.split(",")
        addr = fields[0]
        if len(fields) < 2 or _NMEA_ADDR.fullmatch(addr) is None:
            return None
        if checksum is not None:
            # A sentence that fails its checksum was damaged on the wire: noise, not text.
            if len(checksum) != 2 or not _HEX.issuperset(checksum) or not body.isascii():
                return _CORRUPT
            x = 0
            for b in body.encode():
                x ^= b
            if x != int(checksum, 16):
                return _CORRUPT
        kind = addr[2:] if len(addr) == 5 else addr
        known = self._known
        values: dict[str, float | None] = {}
        good = errors = 0
        hit = False
        if kind == "XDR" or kind == "MTW":
            if kind == "MTW":
                items = [("water_temp", fields[1])]
            else:
                items = []
                rest = fields[1:]
                for q in range(0, len(rest), 4):
                    grp = rest[q : q + 4]
                    if not any(x.strip() for x in grp):
                        continue
                    name = grp[3].strip() if len(grp) > 3 else ""
                    if not name:
                        name = f"{grp[0].strip() or 'XDR'}{q // 4}"
                    items.append((name, grp[1] if len(grp) > 1 else ""))
            for name, val in items:
                v = _conv(val, False)
                if v is _BAD:
                    errors += 1
                    v = None
                    if name in known:
                        hit = True
                elif v is None:
                    if name in known:
                        hit = True
                else:
                    good += 1
                values[name] = v
        else:
            # Other sentences mix numbers with letters (N/S, units): keep the numbers only.
            for i in range(1, len(fields)):
                f = fields[i]
                if f:
                    v = _conv(f, False)
                    if v is not None and v is not _BAD:
                        values[f"{addr}.{i}"] = v
                        good += 1
        return values, good, errors, hit, None


def _csv_delimiter(s: str) -> tuple[str, bool]:
    """A csv row's delimiter, and whether its decimal separator is a comma."""
    if ";" in s:
        return ";", "," in s
    if "\t" in s:
        return "\t", "," in s
    if "," in s:
        if " " in s and ", " not in s and " ," not in s and _DECIMAL_COMMA_ROW.fullmatch(s):
            return " ", True
        return ",", False
    return " ", False


def _single(i: int) -> Callable[[tuple[str, ...]], tuple[str, ...]]:
    def pick(groups: tuple[str, ...]) -> tuple[str, ...]:
        return (groups[i],)

    return pick


def _influx_value(val: str) -> _Value:
    if not val:
        return _BAD
    if val[-1] in "iu" and len(val) > 1:
        body = val[:-1]
        if body.isascii() and body.lstrip("-").isdigit():
            v = float(body)
            return v if v - v == 0.0 else None
    if val in _TRUE:
        return 1.0
    if val in _FALSE:
        return 0.0
    return _conv(val, False)


def _json_put(name: str, v: object, out: dict[str, float | None], depth: int) -> None:
    if isinstance(v, bool):
        out[name] = 1.0 if v else 0.0
    elif isinstance(v, (int, float)):
        try:
            f = float(v)
        except OverflowError:
            out[name] = None
            return
        out[name] = f if f - f == 0.0 else None
    elif v is None:
        out[name] = None
    elif isinstance(v, str):
        # Numeric strings count; words are labels or states, skipped rather than errors.
        if v.strip():
            r = _conv(v, False)
            if r is not _BAD:
                out[name] = r
    elif depth < _JSON_DEPTH:
        if isinstance(v, dict):
            for k, item in v.items():
                k = k.strip()
                if k:
                    _json_put(f"{name}.{k}", item, out, depth + 1)
        elif isinstance(v, list):
            for i, item in enumerate(v):
                _json_put(f"{name}.{i}", item, out, depth + 1)
