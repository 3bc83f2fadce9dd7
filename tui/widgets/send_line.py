"""The send line: an Input that appears on ``w`` and writes what is typed to the board.

Enter sends and keeps the line open for the next one; Escape closes it; up/down walk the
lines sent before; ctrl+e cycles the line ending (none, LF, CR LF). The app does the
sending (through the monitor): this widget only edits and remembers.
"""

from __future__ import annotations

from dataclasses import dataclass

from textual.binding import Binding
from textual.message import Message
from textual.widgets import Input

from sensorscope.model import LineEnding

#: Lines kept for up/down.
HISTORY = 100
_ENDINGS = (LineEnding.NONE, LineEnding.LF, LineEnding.CRLF)
_SHOWN = {LineEnding.NONE: "no ending", LineEnding.LF: "\\n", LineEnding.CRLF: "\\r\\n"}


class SendLine(Input):
    BINDINGS = [
        Binding("escape", "close_send", "Close", show=False),
        Binding("up", "history(-1)", "Earlier line", show=False),
        Binding("down", "history(1)", "Later line", show=False),
        Binding("ctrl+e", "cycle_ending", "Line ending", show=False),
    ]

    DEFAULT_CSS = """
    SendLine { display: none; }
    """

    @dataclass
    class Send(Message):
        """Send ``text`` (escapes allowed) to ``source`` with ``ending``."""

        source: str
        text: str
        ending: LineEnding

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.compact = True
        self.source = ""
        self.ending = LineEnding.LF
        self.history: list[str] = []
        self._at = 0  # position in history while walking it (len: the line being typed)
        self._typed = ""

    def open(self, source: str, ending: LineEnding | None = None) -> None:
        self.source = source
        if ending is not None:
            self.ending = ending
        self._at = len(self.history)
        self._show_prompt()
        self.display = True
        self.focus()

    def _show_prompt(self) -> None:
        self.placeholder = (
            f"send to {self.source} (+{_SHOWN[self.ending]}; \\xNN for a byte; "
            "Enter sends, ctrl+e ending, Escape closes)"
        )

    def close(self) -> None:
        self.display = False

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        text = event.value
        if text and (not self.history or self.history[-1] != text):
            self.history = [*self.history, text][-HISTORY:]
        self._at = len(self.history)
        self.value = ""
        self.post_message(self.Send(self.source, text, self.ending))

    def action_close_send(self) -> None:
        self.close()

    def action_history(self, step: int) -> None:
        if not self.history:
            return
        if self._at == len(self.history):
            self._typed = self.value
        self._at = max(0, min(len(self.history), self._at + step))
        self.value = self._typed if self._at == len(self.history) else self.history[self._at]
        self.cursor_position = len(self.value)

    def action_cycle_ending(self) -> None:
        self.ending = _ENDINGS[(_ENDINGS.index(self.ending) + 1) % len(_ENDINGS)]
        self._show_prompt()
