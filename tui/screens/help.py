"""The help screen: every key and what it does, with the keys of the keymap in use."""

from __future__ import annotations

from rich.table import Table
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.widgets import Static

from sensorscope.tui.keys import NO_KEYMAP, Keymap, help_rows
from sensorscope.tui.screens.panel import Panel


def keys_table(keymap: Keymap = NO_KEYMAP) -> Table:
    table = Table(box=None, show_header=False, padding=(0, 1), expand=False)
    table.add_column(style="bold", no_wrap=True)
    table.add_column()
    for keys, what in help_rows(keymap):
        table.add_row(keys, what)
    return table


class HelpScreen(Panel):
    # The help key closes it too: the same id, so a keymap moves both.
    BINDINGS = [Binding("question_mark", "close", "Close", show=False, id="help")]

    def __init__(self, keymap: Keymap = NO_KEYMAP) -> None:
        super().__init__()
        self.keymap = keymap

    def compose(self) -> ComposeResult:
        with VerticalScroll():
            yield Static("sensorscope keys", id="help-title", classes="panel-title")
            yield Static(keys_table(self.keymap), id="help-keys")
            yield Static(
                "Times are UTC. Escape closes this help.", id="help-foot", classes="panel-foot"
            )
