"""Delimited rows: ``21.5,40.2`` (also ';', tab, spaces, decimal commas), named by a header
row or ``ch0, ch1 ...``; a time column (``timestamp``, ``date`` ...) is the device time.
Bare numbers (``--format bare``) are csv rows too."""

from __future__ import annotations

import re

from sensorscope.formats.base import Parsed
from sensorscope.formats.columns import Columns
from sensorscope.formats.template import NUM_TOKEN, TNUM, Template, compiled
from sensorscope.formats.times import iso_time, parse_time
from sensorscope.formats.values import BAD, slow_value

_DECIMAL_COMMA_ROW = re.compile(r"[-+]?\d+(?:,\d+)?(?:[ \t]+[-+]?\d+(?:,\d+)?)+", re.ASCII)
# A csv time field a template may hold: an ISO-ish date (its "dddd-" keeps the decimal-comma
# test from ever matching the row) or an unsigned epoch number; no field separator.
_TIME = "[0-9]{4}-[0-9:.+\\-TZ ]*[0-9Z]|[0-9]+(?:\\.[0-9]*)?"
_TIME_NOSPACE = "[0-9]{4}-[0-9:.+\\-TZ]*[0-9Z]|[0-9]+(?:\\.[0-9]*)?"


def csv_delimiter(s: str) -> tuple[str, bool]:
    """A csv row's delimiter, and whether its decimal separator is a comma.

    >>> csv_delimiter("1,2"), csv_delimiter("1,5;2,5"), csv_delimiter("1,5 2,5")
    ((',', False), (';', True), (' ', True))
    """
    if ";" in s:
        return ";", "," in s
    if "\t" in s:
        return "\t", "," in s
    if "," in s:
        if " " in s and ", " not in s and " ," not in s and _DECIMAL_COMMA_ROW.fullmatch(s):
            return " ", True
        return ",", False
    return " ", False


class Delimited:
    name = "csv"
    leads = ""
    exclusive = False
    priority = 50
    self_describing = False
    positional = True

    def parse(self, s: str, strict: bool, cols: Columns) -> Parsed:
        cols.shape = None
        delim, dc = csv_delimiter(s)
        toks = s.split() if delim == " " else s.split(delim)
        n = len(toks)
        w = cols.width
        # Sketches often print the delimiter after every field; that last empty field is
        # no column unless the row needs it to have the data's width ("2014-04-01,").
        if n > 1 and delim != " " and (w is None or n - 1 == w) and not toks[-1].strip():
            toks.pop()
            n -= 1
        names, tcols, rest = cols.columns(n, delim, "ch")
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
                v = slow_value(tok, False)
                if v is BAD:
                    d = iso_time(tok) if "-" in tok else None
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
            values[names[i]] = v
        if rest:
            for name in rest:
                values[name] = None
        cols.shape = (n, delim)
        if errors:
            # "Sensor read failed after 3 tries" is a message with a number in it, not a
            # row with five bad fields: a row needs the data's shape and mostly numbers.
            if good < errors:
                return None
            if w is not None and n != w and not (cols.names and n <= len(cols.names)):
                return None
        if good:
            return values, good, errors, False, dt
        # A row of only missing markers ("nan,nan") is data when it has the known shape;
        # a row of only words ("Booting...") never is.
        if errors or not missing or n != cols.width or strict:
            return None
        return values, 0, 0, True, dt

    def keyed(self, s: str) -> bool:
        return False  # a row cut inside its first number looks whole and would be a spike

    def template(self, s: str, lead: str, trail: str, cols: Columns) -> Template | None:
        delim, dc = csv_delimiter(s)
        if dc:
            return None
        if delim == " ":
            pieces = re.split("( +)", s)
            toks, gaps = pieces[0::2], pieces[1::2]
        else:
            toks = s.split(delim)
            gaps = [delim] * (len(toks) - 1)
        n = len(toks)
        w = cols.width
        tail = ""
        # The same rule as the full parse for a trailing delimiter, under the same state.
        if n > 1 and delim != " " and (w is None or n - 1 == w) and not toks[-1].strip():
            toks.pop()
            gaps.pop()
            n -= 1
            tail = re.escape(delim)
        names, tcols, rest = cols.columns(n, delim, "ch")
        timefield = _TIME_NOSPACE if delim == " " else _TIME
        pattern = [re.escape(lead)]
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
                if not NUM_TOKEN.fullmatch(core):
                    return None
                numbers.append(i)
                keys.append(names[i])
                field = TNUM
            pattern += ["(", re.escape(pad_l), field, re.escape(pad_r), ")"]
            if i < len(gaps):
                pattern.append(re.escape(gaps[i]))
        if not numbers:
            return None
        pattern += [tail, re.escape(trail)]
        picks = tuple(numbers) if times else ()
        return Template(
            compiled("".join(pattern)), tuple(keys), tuple(rest), tuple(times), picks, delim
        )


FORMAT = Delimited()
