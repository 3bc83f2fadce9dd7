"""Arduino Serial Plotter: ``temp:21.5 hum:40.2`` (labels), or bare values ``21.5 40.2``
when a plotter header (``temp: hum:``) named them; separators space, tab, ',' or ';'."""

from __future__ import annotations

import re

from sensorscope.formats.base import Parsed
from sensorscope.formats.columns import Columns
from sensorscope.formats.template import TLABEL, TNUM, Template, labeled_template, tokens
from sensorscope.formats.times import parse_time
from sensorscope.formats.values import BAD, TIME_KEYS, conv, slow_value

# "temp: 21.5" -> "temp:21.5", but only when a value follows: in "temp:\thum:" the tab
# separates two labels.
_COLON_JOIN = re.compile(
    r"[ \t]*:[ \t]+(?=[-+.0-9]|(?i:nan|[-+]?inf|ovf|null|none|n/a|na)(?![^\s,;]))"
)
_TOKEN = re.compile(f"({TLABEL}):({TNUM})")
_GAP = re.compile("[ \t,;]+")
_END = re.compile("[,;]*")


class Plotter:
    name = "plotter"
    leads = ""
    exclusive = False
    priority = 30
    self_describing = False
    positional = True

    def parse(self, s: str, strict: bool, cols: Columns) -> Parsed:
        """Labeled and bare tokens in one loop.

        Size: it is the hot path of the most common format, so the value rules are
        inlined rather than split into helpers."""
        cols.shape = None
        if ":" in s and (": " in s or ":\t" in s or " :" in s or "\t:" in s):
            s = _COLON_JOIN.sub(":", s)
        if "," in s:
            s = s.replace(",", " ")
        if ";" in s:
            s = s.replace(";", " ")
        toks = s.split()
        n = len(toks)
        known = cols.known
        values: dict[str, float | None] = {}
        good = errors = labeled = label_only = stray = 0
        hit = False
        dt = None
        names: list[str] | None = None
        tcols: frozenset[int] = frozenset()
        for i, tok in enumerate(toks):
            lab, sep, val = tok.partition(":")
            if sep and lab:
                labeled += 1
                if lab in TIME_KEYS:
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
                # conv() inlined: this loop is the hot path of the most common format.
                try:
                    v = float(val)
                except ValueError:
                    v = slow_value(val, True)
                else:
                    if not val.isascii():
                        v = BAD
                    elif v - v != 0.0:
                        v = None
                if v is BAD:
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
            if names is None:
                names, tcols, _rest = cols.columns(n, None, "value")
            if tcols and i in tcols:
                d = parse_time(tok)
                if d is not None:
                    dt = d
                continue
            name = names[i]
            v = conv(tok, True)
            if v is BAD:
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
        if names is not None:
            if strict and not labeled and not cols.plotter_names(n):
                return None  # bare numbers are csv's unless a plotter header named them
            if stray > good:
                return None  # words with a number among them: a message
            cols.shape = (n, "plotter")
        return values, good, errors, hit, dt

    def keyed(self, s: str) -> bool:
        return ":" in s

    def template(self, s: str, lead: str, trail: str, cols: Columns) -> Template | None:
        found = tokens(s, _TOKEN, _GAP, _END)
        return None if found is None else labeled_template(lead, trail, found, ":")


FORMAT = Plotter()
