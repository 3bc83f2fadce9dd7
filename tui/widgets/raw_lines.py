"""The raw-lines pane: received lines, newest last, with their time and kind.

It shows either the lines that did not parse cleanly (text, garbage, cut lines, bad fields,
connection events) or every received line; each with its receive time (the clock, or the
time since the line before it) and as text or as the bytes in hex. Garbage is always shown
as hex: its text would be replacement characters.
"""

from __future__ import annotations

from dataclasses import dataclass

from textual.widgets import Log

from sensorscope.model import RawLine
from sensorscope.tui.timefmt import printable, utc_clock_ms

MAX_LINES = 500
#: Bytes shown per line in hex (a line longer than this ends in "…").
HEX_BYTES = 64


def hex_text(data: bytes) -> str:
    r"""The bytes in hex, then the printable ASCII of them (others as '.').

    >>> hex_text(b"T:21.5\r")
    '54 3a 32 31 2e 35 0d  T:21.5.'
    """
    cut = data[:HEX_BYTES]
    pairs = " ".join(f"{b:02x}" for b in cut)
    ascii_ = "".join(chr(b) if 32 <= b < 127 else "." for b in cut)
    more = " …" if len(data) > HEX_BYTES else ""
    return f"{pairs}{more}  {ascii_}"


def delta_text(dt: float | None) -> str:
    """The time since the line before, as wide as the clock.

    >>> delta_text(0.02), delta_text(75.5), delta_text(None)
    ('     +0.020s', '    +75.500s', '           —')
    """
    if dt is None:
        return f"{'—':>12}"
    return f"{f'+{dt:.3f}s':>12}"


@dataclass(frozen=True)
class RawMode:
    """How the pane shows lines."""

    every: bool = False  # every received line, not only those that did not parse
    hex: bool = False  # the bytes in hex instead of the text
    delta: bool = False  # time since the line before instead of the clock

    def describe(self) -> str:
        which = "every line" if self.every else "lines that did not parse"
        how = "hex" if self.hex else "text"
        when = "time since the line before" if self.delta else "receive time"
        return f"raw lines: {which}, {how}, {when}"


def raw_line_text(item: RawLine, mode: RawMode = RawMode(), dt: float | None = None) -> str:
    """
    >>> raw_line_text(RawLine(1763884860.5, "sim", "Failed\\x1b[31m!", "text"))
    '08:01:00.500 sim text     Failed␛[31m!'
    >>> raw_line_text(RawLine(1763884860.5, "sim", "\\ufffd\\ufffd", "garbage", b"\\xff\\xfe"))
    '08:01:00.500 sim garbage  ff fe  ..'
    """
    when = delta_text(dt) if mode.delta else utc_clock_ms(item.t)
    as_hex = (mode.hex or item.kind == "garbage") and item.kind != "event"
    body = hex_text(item.data) if as_hex else printable(item.line)
    return f"{when} {printable(item.src)} {item.kind:<8} {body}"


class RawLines(Log, can_focus=False):
    """Appends only the lines it has not shown yet; starts over if the monitor did, or the
    mode changed."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id, max_lines=MAX_LINES, auto_scroll=True)
        self._last: RawLine | None = None
        self.mode = RawMode()
        self.shown = 0

    def set_mode(self, mode: RawMode, every: list[RawLine], unparsed: list[RawLine]) -> None:
        """Show the lines again in another mode."""
        self.mode = mode
        self.clear()
        self._last = None
        self.update_lines(unparsed, every)

    def update_lines(self, unparsed: list[RawLine], every: list[RawLine] | None = None) -> None:
        raw = every if self.mode.every and every is not None else unparsed
        if not raw:
            if self._last is not None:
                self.clear()
                self._last = None
            return
        if raw[-1] == self._last:
            return
        start = 0
        if self._last is not None:
            for i in range(len(raw) - 1, -1, -1):
                if raw[i] == self._last:
                    start = i + 1
                    break
            else:
                # The monitor restarted (or more lines came than it keeps): show them all.
                self.clear()
        prev = raw[start - 1].t if start > 0 else None
        out = []
        for item in raw[start:]:
            out.append(raw_line_text(item, self.mode, None if prev is None else item.t - prev))
            prev = item.t
        self.write_lines(out)
        self.shown += len(out)
        self._last = raw[-1]
