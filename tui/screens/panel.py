"""A centred, bordered modal panel that closes with Escape or q (help, metrics)."""

from __future__ import annotations

from textual.binding import Binding
from textual.screen import ModalScreen


class Panel(ModalScreen[None]):
    BINDINGS = [
        Binding("escape", "close", "Close"),
        Binding("q", "close", "Close", show=False, id="quit"),  # the quit key, as remapped
    ]

    DEFAULT_CSS = """
    Panel { align: center middle; }
    Panel > VerticalScroll {
        width: 78;
        max-width: 100%;
        height: auto;
        max-height: 100%;
        border: round $primary;
        padding: 0 1;
        background: $surface;
    }
    Panel .panel-title { text-style: bold; }
    Panel .panel-foot { color: $text-muted; }
    """

    def action_close(self) -> None:
        self.dismiss(None)
