"""Line hygiene before any format sees a line: terminal colour codes, binary noise, and the
prefixes loggers put in front of a device's own text (``[12:00:01] ``, ``12:00:01 -> ``,
ESP-IDF's ``I (1234) tag: ``)."""

from __future__ import annotations

import itertools
import re

# Colour and cursor codes a terminal-minded sketch prints.
ANSI = re.compile(r"\x1b(?:\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(?:\x07|\x1b\\)?|[@-Z\\-_])")
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


def is_noise(s: str) -> bool:
    """Binary noise (a wrong baud rate, a line of NULs), not text a device meant."""
    if "\x00" in s:
        return True
    if "\ufffd" not in s and (s.isprintable() or s.replace("\t", " ").isprintable()):
        return False
    bad = 0
    for ch in s:
        if ch in _NOISE:
            bad += 1
    return bad >= 2 and bad * 4 > len(s)


def strip_prefix(s: str) -> str:
    """The stripped line `s` without a logger's time or ESP-IDF prefix.

    >>> strip_prefix("[12:00:01] temp:21.5"), strip_prefix("I (1234) app: temp=3")
    ('temp:21.5', 'temp=3')
    """
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
