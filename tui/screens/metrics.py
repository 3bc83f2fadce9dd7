"""The `e` panel: what the labels made so far say about the alerts, per channel."""

from __future__ import annotations

from collections.abc import Callable

from rich.table import Table
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.widgets import Static

from sensorscope.model import ChannelMetrics
from sensorscope.tui.screens.panel import Panel

COLUMNS = (
    ("alerts", "alerts", None),
    ("labeled", "labeled", None),
    ("true", "true", None),
    ("false", "false", None),
    ("missed", "missed", None),
    ("precision", "precision", 2),
    ("recall", "recall", 2),
    ("false/h", "false_per_hour", 2),
)


def metrics_table(rows: dict[str, ChannelMetrics]) -> Table:
    table = Table(box=None, padding=(0, 1), expand=False)
    table.add_column("channel", no_wrap=True)
    for head, _, _ in COLUMNS:
        table.add_column(head, justify="right")
    for name, row in rows.items():
        cells = []
        for _, key, digits in COLUMNS:
            v = getattr(row, key)
            cells.append("–" if v is None else f"{v:.{digits}f}" if digits else str(v))
        table.add_row(name, *cells, style="bold" if name == "all" else "")
    return table


class MetricsScreen(Panel):
    """Live metrics of this session's labels; refreshed while open."""

    # The metrics key closes it too: the same id, so a keymap moves both.
    BINDINGS = [Binding("e", "close", "Close", show=False, id="metrics")]

    # A VerticalScroll of auto width collapses to its border: give the table its width.
    DEFAULT_CSS = """
    MetricsScreen > VerticalScroll { width: 92; }
    """

    def __init__(self, compute: Callable[[], dict[str, ChannelMetrics]]) -> None:
        super().__init__()
        self.compute = compute

    def compose(self) -> ComposeResult:
        with VerticalScroll():
            yield Static("labels so far", id="metrics-title", classes="panel-title")
            yield Static(metrics_table(self.compute()), id="metrics-table")
            yield Static(
                "precision: true / labeled alerts · recall: true / (true + missed) · "
                "false/h: false positives per hour of data. Escape closes.",
                id="metrics-foot",
                classes="panel-foot",
            )

    def on_mount(self) -> None:
        self.set_interval(1.0, self.refresh_table)

    def refresh_table(self) -> None:
        self.query_one("#metrics-table", Static).update(metrics_table(self.compute()))
