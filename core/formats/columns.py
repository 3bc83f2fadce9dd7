"""Headers and positional names: what a parser knows that a format's parse of a line may
depend on besides the line itself.

A CSV row or a line of bare plotter values names its values by position: by the header
row seen last (``temp,hum``), else ``ch0, ch1 ...`` (csv) or ``value1, value2 ...``
(plotter). A header is applied only when a row of its shape follows, so a status message
that happens to look like one ("Sensor init ok") renames nothing.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from sensorscope.formats.values import CSV_TIME_KEYS, MISSING

if TYPE_CHECKING:
    from sensorscope.formats.base import LineFormat

_IDENT = re.compile(r"[^\W\d](?:[\w\-.()\[\]%/°# ]*[\w)\]%°])?")

# A header's names and where they came from: a delimiter, or "plotter" for "temp: hum:".
Header = tuple[list[str], str]


def header_like(s: str) -> Header | None:
    """Column names and where they came from (a delimiter, or "plotter"), if `s` is a header.

    Needs two names at least: a single word ("Ready") is far more often a status message.

    >>> header_like("temp,hum"), header_like("temp: hum:"), header_like("Ready")
    ((['temp', 'hum'], ','), (['temp', 'hum'], 'plotter'), None)
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
        if _IDENT.fullmatch(x) is None or x.lower() in MISSING:
            return None
    return toks, delim


class Columns:
    """One source's known names, header names and the shape of its positional rows."""

    __slots__ = ("known", "names", "names_src", "cand", "width", "wdelim", "shape", "_cache")

    def __init__(self, header: list[str] | None = None) -> None:
        # Channels plus header names: a bad value under one of these labels is still data.
        self.known: set[str] = set()
        # Positional column names (csv columns, plotter's unlabeled values) and their origin.
        self.names: list[str] | None = None
        self.names_src: str | None = None
        self._cache: dict[tuple[str, int], tuple[list[str], frozenset[int], list[str]]] = {}
        # A header seen but not yet applied: it is applied when a row of its shape follows.
        self.cand: Header | None = None
        # Shape (column count, delimiter) of the last positional data row, and of the row
        # being parsed right now (committed only if that row turns out to be data).
        self.width: int | None = None
        self.wdelim: str | None = None
        self.shape: tuple[int, str] | None = None
        if header:
            self.set_names([h.strip() for h in header], None)
            self.width = len(header)

    def set_names(self, names: list[str], src: str | None) -> None:
        self.names = list(names)
        self.names_src = src
        self._cache.clear()
        self.known.update(n for n in names if n not in CSV_TIME_KEYS)

    def cand_fits(self, cand: Header, n: int, delim: str | None) -> bool:
        if len(cand[0]) != n:
            return False
        # Plotter splits on any separator, so only the count has to agree there.
        return delim is None or cand[1] == delim or cand[1] == "plotter"

    def columns(
        self, n: int, delim: str | None, prefix: str
    ) -> tuple[list[str], frozenset[int], list[str]]:
        """Names for `n` positional fields, time column indices, and unfilled header names."""
        cand = self.cand
        if cand is not None and self.cand_fits(cand, n, delim):
            names = cand[0]
            return names, frozenset(i for i, x in enumerate(names) if x in CSV_TIME_KEYS), []
        key = (prefix, n)
        hit = self._cache.get(key)
        if hit is not None:
            return hit
        names = self.names or []
        base = 1 if prefix == "value" else 0
        cols = names[:n] + [f"{prefix}{i + base}" for i in range(len(names), n)]
        tcols = frozenset(i for i, x in enumerate(cols) if i < len(names) and x in CSV_TIME_KEYS)
        rest = [x for x in names[n:] if x not in CSV_TIME_KEYS]
        hit = self._cache[key] = (cols, tcols, rest)
        return hit

    def plotter_names(self, n: int) -> bool:
        """Whether a plotter header names `n` bare values (else they are csv's)."""
        cand = self.cand
        if cand is not None:
            return cand[1] == "plotter" and len(cand[0]) == n
        return self.names is not None and self.names_src == "plotter"

    def commit(self, positional: bool) -> None:
        """The row just parsed was data: its shape becomes the data's (applying a header of
        that shape), and a header not applied by now was a message."""
        shape = self.shape
        if shape is not None and positional:
            n, delim = shape
            cand = self.cand
            if cand is not None and self.cand_fits(cand, n, delim):
                self.set_names(*cand)
            self.width = n
            self.wdelim = delim
        self.shape = None
        self.cand = None

    def nondata_kind(self, s: str, fmt: LineFormat | None, first: bool = False) -> str:
        """ "header" (learning its names when they fit) or "text", for a line that is no
        data under the locked format `fmt` (None while detecting)."""
        h = header_like(s)
        if h is None:
            return "text"
        names, src = h
        if fmt is None:
            self.cand = h
            # "Sensor init ok" splits into words like "temp hum" does; call it text until a
            # row of the same shape shows it was a header.
            return "header" if src != " " or first else "text"
        if not fmt.positional:
            return "header" if first else "text"
        fits = len(names) == self.width and (
            fmt.name == "plotter" or self.wdelim is None or src in (self.wdelim, "plotter")
        )
        # Before any positional row there is no shape to compare with; words separated by
        # spaces only ("Sensor init ok") then need a row of their shape to count.
        if names == self.names or fits or (self.width is None and src != " "):
            self.set_names(names, src)
            self.cand = None
            return "header"
        # A different shape than the data: keep it in case the next rows take that shape
        # (a reflashed device with another column set), else it was just a message.
        self.cand = h
        return "header" if first else "text"
