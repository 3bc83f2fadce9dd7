"""The help screen: every key and what it does."""

from __future__ import annotations

from rich.table import Table
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.widgets import Static

from sensorscope.tui.keys import ROWS
from sensorscope.tui.screens.panel import Panel


def keys_table() -> Table:
    table = Table(box=None, show_header=False, padding=(0, 1), expand=False)
    table.add_column(style="bold", no_wrap=True)
    table.add_column()
    for row in ROWS:
        table.add_row(row.shown, row.what)
    return table


class HelpScreen(Panel):
    BINDINGS = [Binding("question_mark", "close", "Close", show=False)]

    def compose(self) -> ComposeResult:
        with VerticalScroll():
            yield Static("sensorscope keys", id="help-title", classes="panel-title")
            yield Static(keys_table(), id="help-keys")
            yield Static(
                "Times are UTC. Escape closes this help.", id="help-foot", classes="panel-foot"
            )
