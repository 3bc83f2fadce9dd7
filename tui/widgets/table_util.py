"""Helpers shared by the two DataTables."""

from __future__ import annotations

from textual import events
from textual.binding import Binding
from textual.widgets import DataTable
from textual.widgets.data_table import ColumnKey


def set_column_widths(table: DataTable, widths: dict[str, int]) -> None:
    """Give columns new fixed widths and have the table re-measure itself.

    DataTable has no public call for this: it re-measures when its private
    ``_require_update_dimensions`` flag is up (as ``update_cell(update_width=True)`` sets
    it), and ``notify_style_update`` drops the rendered rows it caches.
    """
    for key, width in widths.items():
        table.columns[ColumnKey(key)].width = width
    table._require_update_dimensions = True
    table.notify_style_update()


class UserMovedTable(DataTable):
    """A DataTable that calls ``_user_moved()`` after every move the user makes.

    Both tables follow new data until the user moves the cursor, then stay where the user
    put it; a move by the program must not count as one.
    """

    BINDINGS = [
        Binding("j", "cursor_down", "Down", show=False),
        Binding("k", "cursor_up", "Up", show=False),
        # Left/right seek a replay rather than scroll the table sideways; with the app's
        # ids (tui/keys.py), so that a keymap moves these with the app's own.
        Binding("left", "app.seek(-10)", "Seek -10 s", show=False, id="seek_back"),
        Binding("right", "app.seek(10)", "Seek +10 s", show=False, id="seek_forward"),
    ]

    def action_cursor_up(self) -> None:
        super().action_cursor_up()
        self._user_moved()

    def action_cursor_down(self) -> None:
        super().action_cursor_down()
        self._user_moved()

    def action_page_up(self) -> None:
        super().action_page_up()
        self._user_moved()

    def action_page_down(self) -> None:
        super().action_page_down()
        self._user_moved()

    def action_scroll_top(self) -> None:
        super().action_scroll_top()
        self._user_moved()

    def action_scroll_bottom(self) -> None:
        super().action_scroll_bottom()
        self._user_moved()

    async def _on_click(self, event: events.Click) -> None:
        await super()._on_click(event)
        self._user_moved()

    def _user_moved(self) -> None:
        raise NotImplementedError
