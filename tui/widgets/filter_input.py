"""The channel filter: an Input that appears on ``/``; Enter applies, Escape clears."""

from __future__ import annotations

from dataclasses import dataclass

from textual.binding import Binding
from textual.message import Message
from textual.widgets import Input


class FilterInput(Input):
    BINDINGS = [Binding("escape", "clear_filter", "Clear filter", show=False)]

    DEFAULT_CSS = """
    FilterInput { display: none; }
    """

    @dataclass
    class Applied(Message):
        """Show only channels whose name contains ``text`` (case-insensitive)."""

        text: str

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(placeholder="filter channels (Enter applies, Escape clears)", id=id)
        self.compact = True

    def open(self, text: str) -> None:
        self.value = text
        self.display = True
        self.focus()

    def close(self) -> None:
        self.display = False

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.close()
        self.post_message(self.Applied(event.value))

    def action_clear_filter(self) -> None:
        self.value = ""
        self.close()
        self.post_message(self.Applied(""))
