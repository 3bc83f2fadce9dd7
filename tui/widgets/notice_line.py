"""The notice line: the latest notice, for a few seconds, in place of the footer's key hints.

Textual's toasts cover the channel table and the alert log at 80x24; this line takes the
footer's row while it shows, so it covers only the key hints, which come back after it.
"""

from __future__ import annotations

from rich.text import Text
from textual.notifications import SeverityLevel
from textual.timer import Timer
from textual.widgets import Static

STYLES: dict[str, str] = {
    "information": "",
    "warning": "bold yellow",
    "error": "bold white on red",
}
SHOWN_FOR = 3.0  # seconds, unless a notice asks for longer (errors do)


class NoticeLine(Static):
    DEFAULT_CSS = """
    NoticeLine {
        dock: bottom;
        height: 1;
        width: 1fr;
        display: none;
        background: $panel;
        padding: 0 1;
    }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__("", id=id, markup=False)
        self._timer: Timer | None = None
        self.message = ""

    def show(self, message: str, severity: SeverityLevel, timeout: float | None = None) -> None:
        """Show ``message`` (one line, cut at the edge) until the next one or the timeout."""
        first = message.splitlines()[0] if message else ""
        self.message = first
        # One fixed line: its text never changes the layout (showing it does, once), and a
        # layout repaints the whole screen, which under a flood a key press must not wait for.
        text = Text(first, style=STYLES.get(severity, ""), no_wrap=True, overflow="ellipsis")
        self.update(text, layout=False)
        self.display = True
        self._set_footer(False)
        if self._timer is not None:
            self._timer.stop()
        self._timer = self.set_timer(SHOWN_FOR if timeout is None else timeout, self.clear)

    def clear(self) -> None:
        self.message = ""
        self.display = False
        self._set_footer(True)

    def _set_footer(self, shown: bool) -> None:
        from textual.widgets import Footer

        for footer in self.screen.query(Footer):
            footer.display = shown
