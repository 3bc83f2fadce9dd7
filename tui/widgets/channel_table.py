"""The channel table: one row per channel, keyed by name, cells updated in place each tick.

Rows are never cleared and re-added on a tick; a cell is written only when its text
changed, and only for the rows on screen: a board of 64 channels in a terminal showing 20
rows costs a tick the work of 20 (a sparkline each, mostly). The rows off screen are written
when they scroll into view. Sorting reorders rows in place and the cursor stays on the
selected channel; the filter removes and adds rows only when it changes.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

from rich.text import Text
from textual.message import Message
from textual.widgets import DataTable
from textual.widgets.data_table import RowDoesNotExist

from sensorscope.model import ChannelSnapshot, Snapshot
from sensorscope.tui.timefmt import fmt_value, printable
from sensorscope.tui.widgets.sparkline import spark_text
from sensorscope.tui.widgets.table_util import UserMovedTable, set_column_widths

SORTS = ("name", "score", "alerts")
# Fixed column widths; the sparkline takes what is left of the terminal's width.
WIDTHS = {"value": 9, "score": 6, "thr": 4, "alerts": 6, "imp": 4, "state": 10}
LABELS = {
    "name": "channel",
    "value": "value",
    "spark": "recent",
    "score": "score",
    "thr": "thr",
    "alerts": "alerts",
    "imp": "imp",
    "state": "state",
}
COLUMNS = ("name", "value", "spark", "score", "thr", "alerts", "imp", "state")
MIN_SPARK = 6
# Rows beyond the screen's edges written too, so a step of the cursor past the edge lands
# on a row already up to date.
OFFSCREEN_ROWS = 2
CELL_CACHE = 4096  # rendered cells kept (a screen of them many times over)
# Seconds between redraws of a row's sparkline: under a flood it would change on every tick,
# and it is the widest cell to render; the value and score beside it keep the tick's pace.
SPARK_EVERY = 0.25
OVERLAY_MARK = "━ "  # before an overlaid channel's name, in its line's colour
SPARK_SAMPLES = 200
# "stale": no sample for this many usual intervals (and at least STALE_MIN seconds).
STALE_INTERVALS = 10
STALE_MIN = 1.0


def spark_points(spark_width: int) -> int:
    """How many recent samples a sparkline of this width sums up."""
    return max(SPARK_SAMPLES, 4 * spark_width)


def channel_state(ch: ChannelSnapshot, clock: float | None) -> str:
    """``stale``, ``ANOMALOUS``, ``warming up`` or ``ok``.

    Stale means nothing has been received on the channel for much longer than its usual
    interval (``clock`` is the snapshot's receive clock: wall time live, replay position
    on a replay).
    """
    if clock is not None and ch.interval is not None and ch.samples:
        if clock - ch.rx_t > max(STALE_INTERVALS * ch.interval, STALE_MIN):
            return "stale"
    if ch.in_alert:
        return "ANOMALOUS"
    if ch.warming_up:
        return "warming up"
    return "ok"


STATE_STYLE = {"stale": "bold yellow", "ANOMALOUS": "bold red", "warming up": "dim", "ok": ""}


def score_cell(score: float, threshold: float, warming_up: bool) -> Text:
    """Score with a ``!`` when at or above the threshold (colour is only a second cue)."""
    if not math.isfinite(score):
        return Text("—", justify="right")
    above = score >= threshold
    style = "bold red" if above else ("yellow" if score >= threshold - 0.05 else "")
    if warming_up and not above:
        style = "dim"
    return Text(f"{score:.3f}" + ("!" if above else " "), style=style, justify="right")


# A unit longer than this is cut: the value beside it matters more.
UNIT_MAX = 6


def shown_unit(unit: str) -> str:
    """A channel's unit as the table and the chart write it (device text made printable).

    >>> shown_unit("°C"), shown_unit("µmol/m²/s"), shown_unit("")
    ('°C', 'µmol/…', '')
    """
    unit = printable(unit)
    return unit if len(unit) <= UNIT_MAX else unit[: UNIT_MAX - 1] + "…"


def value_text(ch: ChannelSnapshot) -> str:
    """The value cell: the last value, and its unit when the channel has one."""
    unit = shown_unit(ch.unit)
    return fmt_value(ch.last_value) + (f" {unit}" if unit else "")


def row_cells(
    ch: ChannelSnapshot,
    data_t: float | None,
    spark_width: int,
    threshold: float | None = None,
    spark: bool = True,
) -> dict[str, Text]:
    """A row's cells (without the sparkline unless ``spark``)."""
    thr = ch.threshold if threshold is None else threshold
    state = channel_state(ch, data_t)
    imputed = f"{100 * ch.imputed / ch.samples:.0f}%" if ch.samples else "—"
    cells = {
        "name": Text(printable(ch.name)),
        "value": Text(value_text(ch), justify="right"),
        "score": score_cell(ch.last_score, thr, ch.warming_up),
        "thr": Text(f"{thr:.2f}", justify="right"),
        "alerts": Text(str(ch.alerts), justify="right"),
        "imp": Text(imputed, justify="right"),
        "state": Text(state, style=STATE_STYLE[state]),
    }
    if spark:
        recent = ch.history.value[-spark_points(spark_width) :]
        cells["spark"] = Text(spark_text(recent, spark_width))
    return cells


class ChannelTable(UserMovedTable):
    """Channels with value, sparkline, score against threshold, alerts, imputed share, state."""

    @dataclass
    class ChannelHighlighted(Message):
        """The user moved to another channel."""

        table: ChannelTable
        channel: str | None

        @property
        def control(self) -> ChannelTable:
            return self.table

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id, cursor_type="row", zebra_stripes=False)
        self.sort_by = "name"
        self.filter_text = ""
        self._channels: dict[str, ChannelSnapshot] = {}
        self._clock: float | None = None
        self._cells: dict[tuple[str, str], str] = {}
        self._thresholds: dict[str, float] = {}
        self._selected: str | None = None  # the channel the cursor stays on
        self._announced: str | None = None  # the last one told to the app
        self._widths: tuple[int, int, int] = (0, 0, 0)  # name, sparkline, value
        self._marks: dict[str, str] = {}  # overlaid channels: their line's Rich style
        self._written: frozenset[str] = frozenset()  # the rows the last pass wrote
        self.rows_written = 0  # rows whose cells were computed, ever: a tick's cost
        self._rendered: dict[tuple, object] = {}
        self._spark_at: dict[str, float] = {}  # when each row's sparkline was last written

    def on_mount(self) -> None:
        for key in COLUMNS:
            self.add_column(LABELS[key], width=WIDTHS.get(key, 8), key=key)

    # -- what the app asks ------------------------------------------------------------

    @property
    def selected(self) -> str | None:
        """The channel under the cursor."""
        if not self.row_count:
            return None
        try:
            return str(self.coordinate_to_cell_key(self.cursor_coordinate).row_key.value)
        except RowDoesNotExist:
            return None

    @property
    def spark_width(self) -> int:
        return self._widths[1] or MIN_SPARK

    def names(self) -> list[str]:
        """Channel names in display order."""
        return [str(row.key.value) for row in self.ordered_rows]

    def update_from(self, snap: Snapshot) -> None:
        """Apply a snapshot: add rows for new channels, write the cells that changed."""
        self._channels.update(snap.channels)
        self._clock = snap.clock
        for name, ch in snap.channels.items():
            self._thresholds[name] = ch.threshold
        self._sync()

    def show_threshold(self, channel: str, value: float) -> None:
        """Show a threshold the user just set, without waiting for the next snapshot."""
        self._thresholds[channel] = value
        if channel in self._channels and self._has_row(channel):
            ch = self._channels[channel]
            cells = row_cells(ch, self._clock, self.spark_width, value, spark=False)
            for key in ("thr", "score"):
                self._write(channel, key, cells[key])

    def mark(self, marks: dict[str, str]) -> None:
        """Mark the channels overlaid on the chart (name -> their line's style): the mark
        and the colour of their line before the name."""
        self._marks = dict(marks)
        self._sync()

    def threshold_of(self, channel: str) -> float | None:
        return self._thresholds.get(channel)

    def set_filter(self, text: str) -> None:
        self.filter_text = text.strip()
        for name in self.names():
            if not self._matches(name):
                self.remove_row(name)
                for key in COLUMNS:
                    self._cells.pop((name, key), None)
        self._sync()

    def cycle_sort(self) -> str:
        self.sort_by = SORTS[(SORTS.index(self.sort_by) + 1) % len(SORTS)]
        self._resort()
        return self.sort_by

    # -- internals ----------------------------------------------------------------------

    def _name_cell(self, name: str) -> Text:
        style = self._marks.get(name)
        if style is None:
            return Text(printable(name))
        return Text(OVERLAY_MARK + printable(name), style=f"bold {style}")

    def _matches(self, name: str) -> bool:
        return self.filter_text.lower() in name.lower()

    def _has_row(self, name: str) -> bool:
        return name in self.rows

    def _layout_columns(self) -> None:
        """Fit the sparkline column to the width the table has."""
        width = self.scrollable_content_region.width or self.app.size.width
        names = [n for n in self._channels if self._matches(n)]
        marked = len(OVERLAY_MARK)
        name_w = min(24, max([7, *(len(n) + marked * (n in self._marks) for n in names)]))
        # The value column grows by the longest unit shown, so a table without units is
        # laid out as it always was.
        unit_w = max([0, *(len(shown_unit(self._channels[n].unit)) + 1 for n in names)])
        unit_w = 0 if unit_w == 1 else unit_w
        value_w = WIDTHS["value"] + unit_w
        pad = 2 * self.cell_padding * len(COLUMNS)
        spark_w = max(MIN_SPARK, width - name_w - sum(WIDTHS.values()) - unit_w - pad)
        if (name_w, spark_w, value_w) == self._widths:
            return
        self._widths = (name_w, spark_w, value_w)
        set_column_widths(self, {"name": name_w, "spark": spark_w, "value": value_w})
        # Sparklines are redrawn at the new width below.
        for key in [k for k in self._cells if k[1] == "spark"]:
            del self._cells[key]

    def _write(self, name: str, key: str, cell: Text) -> None:
        plain = cell.plain + "\0" + str(cell.style)
        if self._cells.get((name, key)) == plain:
            return
        self._cells[(name, key)] = plain
        self.update_cell(name, key, cell)

    def _render_cell(self, row_index: int, column_index: int, *args, **kwargs):
        """A cell as DataTable renders it, kept until its own text changes.

        DataTable keys the cells it keeps by a count of updates to the whole table, so one
        changed value re-renders every cell on screen, at a millisecond each: most of what
        a tick under a flood costs the UI. Here a cell is kept by its row, column, text and
        everything DataTable renders it with (its arguments, the table's pseudo-classes),
        so a tick renders the cells that changed: the value, sparkline and score.
        """
        if row_index < 0 or column_index < 0:  # the header
            return super()._render_cell(row_index, column_index, *args, **kwargs)
        try:
            row_key = self._row_locations.get_key(row_index)
            column_key = self._column_locations.get_key(column_index)
            state = (self._pseudo_class_state, self._show_hover_cursor, self.show_cursor)
        except AttributeError:  # another Textual's insides: render as it does
            return super()._render_cell(row_index, column_index, *args, **kwargs)
        text = self._cells.get((str(row_key.value), str(column_key.value)))
        key = (row_index, row_key, column_key, text, args, tuple(kwargs.items()), state)
        lines = self._rendered.get(key)
        if lines is None or text is None:
            lines = super()._render_cell(row_index, column_index, *args, **kwargs)
            if len(self._rendered) >= CELL_CACHE:
                self._rendered.clear()
            self._rendered[key] = lines
        return lines

    def _on_screen(self) -> range | None:
        """The indexes of the rows on screen (and a few beyond); None: not laid out yet."""
        height = self.scrollable_content_region.height
        if not height:
            return None
        top = int(self.scroll_y)
        return range(max(0, top - OFFSCREEN_ROWS), top + height + OFFSCREEN_ROWS)

    def watch_scroll_y(self, old_value: float, new_value: float) -> None:
        super().watch_scroll_y(old_value, new_value)
        if int(old_value) != int(new_value):
            self._sync()  # the rows scrolled into view, up to date before they are drawn

    def _sync(self) -> None:
        if not self.columns:
            return
        self._layout_columns()
        added = self._write_rows(self.on_screen_rows())
        if added or self.sort_by != "name":
            before = self.names()
            self._resort()
            if self.names() != before:
                # Rows the sort brought on screen were not written above.
                self._write_rows(self.on_screen_rows(), skip=self._written)
        if self._selected is None or self._selected not in self.rows:
            self._selected = self.selected

    def _write_rows(self, rows: set[str] | None, skip: frozenset[str] = frozenset()) -> bool:
        """Write the cells of the channels in ``rows`` (None: all), adding rows for new
        channels; True if a row was added. The names written are kept in ``_written``."""
        added = False
        written = set()
        now = time.monotonic()
        for name, ch in self._channels.items():
            if not self._matches(name) or name in skip:
                continue
            if rows is not None and name in self.rows and name not in rows:
                continue
            written.add(name)
            spark = (
                now - self._spark_at.get(name, -math.inf) >= SPARK_EVERY
                or (name, "spark") not in self._cells  # new, or the width changed
            )
            if spark:
                self._spark_at[name] = now
            thr = self._thresholds.get(name)
            cells = row_cells(ch, self._clock, self.spark_width, thr, spark=spark)
            cells["name"] = self._name_cell(name)
            if name not in self.rows:
                self.add_row(*(cells[k] for k in COLUMNS), key=name)
                for key in COLUMNS:
                    self._cells[(name, key)] = cells[key].plain + "\0" + str(cells[key].style)
                added = True
                continue
            for key, cell in cells.items():
                self._write(name, key, cell)
        self._written = frozenset(written)
        self.rows_written += len(written)
        return added

    def on_screen_rows(self) -> set[str] | None:
        """The channels whose rows are on screen (None: every row, not laid out yet)."""
        shown = self._on_screen()
        if shown is None:
            return None
        ordered = self.ordered_rows
        return {str(ordered[i].key.value) for i in shown if i < len(ordered)}

    def _sort_key(self, name: str):
        ch = self._channels.get(name)
        if self.sort_by == "score" and ch is not None:
            return (-ch.last_score, name)
        if self.sort_by == "alerts" and ch is not None:
            return (-ch.alerts, name)
        return (0, name)

    def _resort(self) -> None:
        current = self.names()
        wanted = sorted(current, key=self._sort_key)
        if wanted == current:
            return
        keep = self._selected if self._selected in self.rows else None
        # DataTable.sort hands the key function cells, not row keys: the name cell's text
        # leads back to the channel.
        shown = {self._name_cell(name).plain: name for name in current}
        self.sort("name", key=lambda cell: self._sort_key(shown[cell.plain]))
        if keep is not None and keep in self.rows:
            self.move_cursor(row=self.get_row_index(keep))

    # The user's moves set the selection at once, so a re-sort by the next tick (which may
    # run before the RowHighlighted message is handled) keeps the row they moved to.

    def _user_moved(self) -> None:
        if self.row_count:
            self._selected = self.selected

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        event.stop()
        # The row under the cursor now: a sort may have moved rows since the event was sent.
        name = self.selected
        if name is not None and name != self._announced:
            self._announced = name
            self.post_message(self.ChannelHighlighted(self, name))
