"""Helpers shared by the two DataTables."""

from __future__ import annotations

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
