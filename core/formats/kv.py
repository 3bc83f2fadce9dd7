"""key=value pairs: ``temp=21.5 hum=40``, ``temp=21.5, hum=40``, ``temp=21,5;hum=40``
(';' pieces with decimal commas); units may follow a value (``temp=21.5C``)."""

from __future__ import annotations

import re

from sensorscope.formats.base import Parsed
from sensorscope.formats.columns import Columns
from sensorscope.formats.template import TLABEL, TNUM, Template, labeled_template, tokens
from sensorscope.formats.values import collect, conv_units, unit_of

_PAIR = re.compile(r"([^\s=]+)[ \t]*=[ \t]*([^\s=]*)")
_TOKEN = re.compile(f"({TLABEL})([ \t]*=[ \t]*)({TNUM})")
_EMPTY = re.compile("")
_GAP_SEPARATED = re.compile("[ \t]*,[ \t,]*")
_END_SEPARATED = re.compile(",[ \t,]*|")
_GAP_BARE = re.compile("[ \t]+")


class KeyValue:
    name = "kv"
    leads = ""
    exclusive = False
    priority = 20
    self_describing = False
    positional = False

    def parse(self, s: str, strict: bool, cols: Columns) -> Parsed:
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
            for m in _PAIR.finditer(piece):
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
        return collect(pairs, conv_units, cols.known, junk if strict else 0)

    def keyed(self, s: str) -> bool:
        return True

    def units(self, s: str) -> dict[str, str]:
        """The unit glued to each value (``temp=21.5C``), the pieces cut as :meth:`parse`
        cuts them (';' pieces may hold decimal commas)."""
        if ";" in s:
            pieces = s.split(";")
        elif "," in s:
            pieces = s.split(",")
        else:
            pieces = [s]
        found = {}
        for piece in pieces:
            for m in _PAIR.finditer(piece):
                unit = unit_of(m.group(2).replace(",", "."))
                if unit:
                    found[m.group(1)] = unit
        return found

    def template(self, s: str, lead: str, trail: str, cols: Columns) -> Template | None:
        if ";" in s:
            return None  # decimal commas and ';' pieces: the full path decides
        if "," in s:
            found = tokens(s, _TOKEN, _GAP_SEPARATED, _END_SEPARATED)
        else:
            found = tokens(s, _TOKEN, _GAP_BARE, _EMPTY)
            if found is not None and any(m.group(2) != "=" for m in found[1]):
                return None  # "T = 5" splits into three words: the full path decides
        return None if found is None else labeled_template(lead, trail, found, None)


FORMAT = KeyValue()
