"""The raw-lines pane: lines that did not parse, newest last, with their time and kind."""

from __future__ import annotations

from textual.widgets import Log

from sensorscope.tui.timefmt import printable, utc_clock_ms

MAX_LINES = 500


def raw_line_text(t: float, src: str, line: str, kind: str) -> str:
    """
    >>> raw_line_text(1763884860.5, "sim", "Failed\\x1b[31m!", "text")
    '08:01:00.500 sim text     Failed␛[31m!'
    """
    return f"{utc_clock_ms(t)} {printable(src)} {kind:<8} {printable(line)}"


class RawLines(Log, can_focus=False):
    """Appends only the lines it has not shown yet; starts over if the monitor did."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id, max_lines=MAX_LINES, auto_scroll=True)
        self._last: tuple[float, str, str, str] | None = None
        self.shown = 0

    def update_lines(self, raw: list[tuple[float, str, str, str]]) -> None:
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
        new = raw[start:]
        self.write_lines([raw_line_text(*item) for item in new])
        self.shown += len(new)
        self._last = raw[-1]
