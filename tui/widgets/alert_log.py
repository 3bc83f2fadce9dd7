"""The alert log: one row per alert episode, newest first, with a highlight that follows.

Follow mode: the highlight sits on the newest alert until the user moves it; from then on
it stays on the alert they chose (by id, however many rows are inserted above), so a
label never lands on an alert that arrived a moment before the key press. Moving back to
the top row resumes following.
"""

from __future__ import annotations

from dataclasses import dataclass

from rich.text import Text
from textual.message import Message
from textual.widgets.data_table import RowDoesNotExist

from sensorscope.model import Alert
from sensorscope.tui.timefmt import fmt_duration, fmt_value, printable, utc_clock
from sensorscope.tui.widgets.table_util import UserMovedTable, set_column_widths

MAX_ROWS = 1000
LABEL_WORDS = {None: "unlabeled", "anomaly": "anomaly", "false_positive": "false positive"}
# What the label column shows: short, so the reason keeps its room on a narrow terminal.
LABEL_CELLS = {None: "·", "anomaly": "anomaly", "false_positive": "false pos"}
LABEL_STYLES: dict[str | None, str] = {None: "dim", "anomaly": "bold", "false_positive": "italic"}
# The reason before the numbers: on a narrow pane it is what must stay readable, and the
# columns that do not fit are the last ones.
COLUMNS = ("id", "time", "channel", "reason", "dur", "label", "peak", "value")
LABELS = {
    "id": "#",
    "time": "time",
    "channel": "channel",
    "peak": "peak",
    "value": "value",
    "dur": "dur",
    "label": "label",
    "reason": "reason",
}
WIDTHS = {"id": 3, "time": 8, "peak": 5, "value": 8, "dur": 6, "label": 9}
MIN_REASON = 18


def reason_cell(alert: Alert) -> Text:
    """The reason, then (dimmer) why: the part that opened it, the band it expected, a
    joint alert's channels; the reason comes first, so a narrow column keeps it."""
    text = Text(printable(alert.reason or ""))
    why = alert.explain()
    if why:
        text.append(f" · {printable(why)}", style="dim")
    return text


def alert_cells(alert: Alert) -> dict[str, Text]:
    end = alert.until
    dur = fmt_duration(max(0.0, end - alert.start)) + ("+" if alert.end is None else "")
    return {
        "id": Text(str(alert.id), justify="right"),
        "time": Text(utc_clock(alert.start)),
        "channel": Text(printable(alert.channel)),
        "peak": Text(f"{alert.peak_score:.3f}"[:5], justify="right"),
        "value": Text(fmt_value(alert.peak_value), justify="right"),
        "dur": Text(dur, justify="right"),
        "label": Text(LABEL_CELLS.get(alert.label, str(alert.label)), LABEL_STYLES[alert.label]),
        "reason": reason_cell(alert),
    }


class AlertLog(UserMovedTable):
    """Alert episodes, newest first; labels go to the highlighted one."""

    @dataclass
    class LabelRequested(Message):
        """Label this alert (chosen at the moment of the key press) as ``kind``."""

        log: AlertLog
        alert_id: int
        channel: str
        kind: str

        @property
        def control(self) -> AlertLog:
            return self.log

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id, cursor_type="row")
        self.following = True
        self.chosen: int | None = None
        self._alerts: dict[int, Alert] = {}
        self._cells: dict[tuple[int, str], str] = {}
        self._widths: tuple[int, int] = (0, 0)

    def on_mount(self) -> None:
        for key in COLUMNS:
            self.add_column(LABELS[key], width=WIDTHS.get(key, 8), key=key)

    # -- what the app asks ------------------------------------------------------------

    def highlighted_alert(self) -> Alert | None:
        """The alert the highlight is on, as shown on screen."""
        if self.chosen is not None and self.chosen in self._alerts:
            return self._alerts[self.chosen]
        return None

    def request_label(self, kind: str) -> bool:
        """Ask the app to label the highlighted alert; False if there is none."""
        alert = self.highlighted_alert()
        if alert is None:
            return False
        self.post_message(self.LabelRequested(self, alert.id, alert.channel, kind))
        return True

    def update_alerts(self, alerts: list[Alert]) -> None:
        """Apply the alert list of a snapshot (oldest first, as the monitor keeps it)."""
        self._layout_columns()
        if self._restarted(alerts):
            self._reset()
        shown = alerts[-MAX_ROWS:]
        keep = {a.id for a in shown}
        for old in [i for i in self._alerts if i not in keep]:
            # Past MAX_ROWS the oldest alerts leave the log.
            self.remove_row(str(old))
            del self._alerts[old]
            for k in COLUMNS:
                self._cells.pop((old, k), None)
        added = False
        for alert in shown:
            known = self._alerts.get(alert.id)
            if known is not None and _state(known) == _state(alert):
                continue  # most alerts are closed and unchanged: nothing to redo
            cells = alert_cells(alert)
            if known is None:
                self.add_row(*(cells[k] for k in COLUMNS), key=str(alert.id))
                for k in COLUMNS:
                    self._cells[(alert.id, k)] = _sig(cells[k])
                added = True
            else:
                for k in COLUMNS:
                    self._write(alert.id, k, cells[k])
            self._alerts[alert.id] = alert
        if added:
            self.sort("id", key=lambda cell: -int(cell.plain))
        self._place_cursor()

    def update_labels(self, alerts: list[Alert]) -> None:
        """Refresh only the label column of rows already shown (while the display is paused)."""
        for alert in alerts:
            old = self._alerts.get(alert.id)
            if old is not None and old.start == alert.start:
                old.label = alert.label
                self._write(alert.id, "label", alert_cells(alert)["label"])

    # -- follow mode ----------------------------------------------------------------------

    def _place_cursor(self) -> None:
        if not self.row_count:
            self.chosen = None
            self.following = True
            return
        if self.chosen is None or str(self.chosen) not in self.rows:
            self.following = True
        target = 0 if self.following else self.get_row_index(str(self.chosen))
        if self.cursor_row != target:
            self.move_cursor(row=target)
        self.chosen = self._id_at(target)

    def _id_at(self, row: int) -> int | None:
        try:
            return int(self.ordered_rows[row].key.value)
        except (IndexError, RowDoesNotExist):
            return None

    def _user_moved(self) -> None:
        if not self.row_count:
            return
        self.following = self.cursor_row == 0
        self.chosen = self._id_at(self.cursor_row)

    # -- internals ----------------------------------------------------------------------

    def _restarted(self, alerts: list[Alert]) -> bool:
        """A restarted replay numbers its alerts from 1 again: the log starts afresh."""
        if not self._alerts:
            return False
        if not alerts:
            return True
        by_id = {a.id: a for a in alerts}
        newest = alerts[-1].id
        for i, shown in self._alerts.items():
            now = by_id.get(i)
            if (now is None and i > newest) or (now is not None and now.start != shown.start):
                return True
        return False

    def _reset(self) -> None:
        self.clear()
        self._alerts.clear()
        self._cells.clear()
        self.chosen = None
        self.following = True

    def _write(self, alert_id: int, key: str, cell: Text) -> None:
        sig = _sig(cell)
        if self._cells.get((alert_id, key)) == sig:
            return
        self._cells[(alert_id, key)] = sig
        self.update_cell(str(alert_id), key, cell)

    def _layout_columns(self) -> None:
        """The reason column takes what is left of the width, and at least MIN_REASON: on a
        narrow pane peak and value are pushed off the right edge rather than the reason."""
        width = self.scrollable_content_region.width or self.app.size.width
        names = {a.channel for a in self._alerts.values()}
        chan_w = min(24, max([7, *(len(n) for n in names)]))
        pad = 2 * self.cell_padding * len(COLUMNS)
        reason_w = max(MIN_REASON, width - chan_w - sum(WIDTHS.values()) - pad)
        if (chan_w, reason_w) == self._widths:
            return
        self._widths = (chan_w, reason_w)
        set_column_widths(self, {"channel": chan_w, "reason": reason_w})


def _state(alert: Alert) -> tuple:
    """What the row of an alert shows."""
    return (
        alert.end,
        alert.last_above,
        alert.peak_score,
        alert.peak_value,
        alert.label,
        alert.reason,
    )


def _sig(cell: Text) -> str:
    return cell.plain + "\0" + str(cell.style)
