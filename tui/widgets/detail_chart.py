"""The detail panel: a window of the selected channel's history, and its score beneath.

Two textual-plotext plots share one time axis (seconds before the window's end, or the
clock); the title says which stretch is shown and how much history is held. The window
(``ChartView``: zoom, pan, follow the data or not, the cursor) is the app's to ask the
core for; this draws what comes back, at most two points per column: each point's range
(a bucket's min and max, so a spike survives any zoom), its alerted samples in red.
Alert episodes are vertical lines tagged ``!id``; labeled spans are runs of ``A``
(anomaly) or ``F`` (false positive) along the top; imputed points are ``x``; the cursor
is a white line, read out on the line beneath. A figure is set up afresh only when the
app's tick finds that what is drawn changed, and built once (``BuiltPlot``: in a worker
thread in `watch`, so the UI thread never spends the 40-60 ms the two plots take).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

import numpy as np
from rich.text import Text
from textual import events
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.message import Message
from textual.widgets import Static

from sensorscope.model import Alert, ChannelSnapshot, HistoryWindow, Label, overlaps
from sensorscope.tui import overlay
from sensorscope.tui.chart_view import ChartView, OverlayScale, TimeAxis, YScale, cursor_reading
from sensorscope.tui.overlay import Overlaid
from sensorscope.tui.timefmt import fmt_duration, fmt_value, local_clock, printable, utc_clock
from sensorscope.tui.widgets.built_plot import BuiltPlot

LABEL_W = 9  # y tick labels of both plots are this wide, so their time axes line up
LABEL_MARKS = {"anomaly": ("A", "magenta"), "false_positive": ("F", "green")}
PENDING_MARK = ("?", "yellow")  # the span being labelled in the missed-anomaly dialog
MIN_REDRAW = 0.25  # seconds between redraws of a channel that keeps changing
CURSOR_COLOR = "white"
AXIS_TICKS = 5  # time labels under the chart
MARGIN = 0.06  # of the values' span, above and below them


class DetailChart(Vertical):
    """A window of one channel's history with alerts, labels, imputed points and a cursor;
    its score beneath, the time axis and the cursor's reading under that."""

    DEFAULT_CSS = """
    DetailChart { height: 1fr; }
    DetailChart #chart-title { height: 1; }
    DetailChart #value-plot { height: 1fr; }
    DetailChart #score-plot { height: 3; }
    DetailChart #chart-axis { height: 1; color: $text-muted; }
    DetailChart #chart-cursor { height: 1; display: none; }
    DetailChart.-cursor #chart-cursor { display: block; }
    DetailChart #chart-overlay { height: 1; display: none; }
    DetailChart.-overlay #chart-overlay { display: block; }
    """

    class ViewChanged(Message):
        """The user moved the window with the mouse: the app fetches it and redraws."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.channel: str | None = None
        self.span: tuple[float, float] | None = None  # the stretch of time drawn
        self.pending: tuple[float, float] | None = None
        self.view = ChartView()
        self.shown: HistoryWindow | None = None  # the window drawn
        self.cursor_text = ""
        self.overlays: tuple[Overlaid, ...] = ()  # the channels drawn over this one
        self.ylim: tuple[float, float] | None = None  # the value axis drawn
        self.redraws = 0
        self._key: Any = None
        self._last_draw = 0.0
        self._limits: tuple[float, float] | None = None

    def compose(self) -> ComposeResult:
        yield Static(id="chart-title")
        yield Static(id="chart-overlay")
        yield BuiltPlot(id="value-plot")
        yield BuiltPlot(id="score-plot")
        yield Static(id="chart-axis")
        yield Static(id="chart-cursor")

    def points(self) -> int:
        """Points to ask the core for: two per column of the plot."""
        width = self.query_one("#value-plot", BuiltPlot).size.width or 80
        return 2 * max(10, width - LABEL_W - 1)

    def show(
        self,
        ch: ChannelSnapshot | None,
        alerts: list[Alert],
        labels: list[Label],
        window: HistoryWindow | None = None,
        *,
        overlays: Sequence[Overlaid] = (),
        limits: tuple[float, float] | None = None,
        force: bool = False,
    ) -> bool:
        """Redraw if what would be drawn changed; True if it was redrawn. ``window``: the
        stretch of history to draw (else the one the snapshot carries); ``overlays``:
        channels drawn over it; ``limits``: its physical range (the y scale "range")."""
        value_plot = self.query_one("#value-plot", BuiltPlot)
        score_plot = self.query_one("#score-plot", BuiltPlot)
        name = ch.name if ch is not None else None
        win = window if window is not None or ch is None else ch.view
        mine = [a for a in alerts if a.channel == name]
        my_labels = [lab for lab in labels if lab.channel == name]
        key = (
            name,
            None if ch is None else (ch.samples, ch.last_t, ch.threshold),
            None if win is None else (win.start, win.end, len(win), win.held.samples),
            tuple((a.id, a.start, a.end, a.last_above, a.label) for a in mine),
            tuple((lab.id, lab.kind) for lab in my_labels),
            self.pending,
            (self.view.cursor, self.view.axis, self.view.yscale, self.view.overlay_scale),
            value_plot.size,
            score_plot.size,
            tuple(o.key for o in overlays),
            limits,
        )
        if key == self._key:
            return False
        now = time.monotonic()
        moved = key[6] != (None if self._key is None else self._key[6])
        if not (force or moved or self.due(name)):
            return False
        self._key = key
        self._last_draw = now
        self.redraws += 1
        self.overlays = tuple(overlays)
        self._limits = limits
        self._draw(ch, win, mine, my_labels, value_plot, score_plot)
        return True

    def due(self, channel: str | None) -> bool:
        """Whether :meth:`show` for ``channel`` could redraw now, not forced: not while the
        channel drawn was drawn less than MIN_REDRAW ago (a caller then need not fetch what
        it would be drawn from)."""
        return channel != self.channel or time.monotonic() - self._last_draw >= MIN_REDRAW

    def show_pending(self, span: tuple[float, float] | None) -> None:
        """Show (or, with None, stop showing) the span a missed-anomaly label would cover."""
        if span != self.pending:
            self.pending = span
            self._key = None
            self._last_draw = 0.0

    def on_mouse_scroll_up(self, event: events.MouseScrollUp) -> None:
        self.view.zoom(self.shown, -1)
        event.stop()
        self.post_message(self.ViewChanged())

    def on_mouse_scroll_down(self, event: events.MouseScrollDown) -> None:
        self.view.zoom(self.shown, +1)
        event.stop()
        self.post_message(self.ViewChanged())

    def _draw(
        self,
        ch: ChannelSnapshot | None,
        win: HistoryWindow | None,
        alerts: list[Alert],
        labels: list[Label],
        value_plot: BuiltPlot,
        score_plot: BuiltPlot,
    ) -> None:
        title = self.query_one("#chart-title", Static)
        vp, sp = value_plot.figure(), score_plot.figure()
        for p in (vp, sp):
            p.frame(False)
            p.xticks([])
        self.channel = ch.name if ch is not None else None
        self.shown = win
        if ch is None or win is None or not len(win):
            self.span = None
            title.update(
                Text("no channel selected" if ch is None else f"{printable(ch.name)}: no data yet")
            )
            self._under(None, alerts, labels)
            value_plot.show_figure(vp)
            score_plot.show_figure(sp)
            return
        t0, t1 = max(win.start, win.held.first_t), win.end
        self.span = (t0, t1)
        x = win.t - t1
        x0 = min(t0 - t1, -1e-3)
        xs = np.repeat(x, 2)

        lo, hi, margin = self._value_axis(win)
        self.ylim = (lo, hi)
        ys = np.empty(2 * len(win))
        ys[0::2], ys[1::2] = win.lo, win.hi
        line = np.repeat(np.isfinite(win.lo) & ~win.imputed, 2)
        if line.any():
            vp.plot(xs[line].tolist(), ys[line].tolist(), marker="braille")
        hot = win.alert & np.isfinite(win.alo)
        if hot.any():
            hx = np.repeat(x[hot], 2)
            hy = np.empty(len(hx))
            hy[0::2], hy[1::2] = win.alo[hot], win.ahi[hot]
            vp.scatter(hx.tolist(), hy.tolist(), marker="braille", color="red")
        filled = np.isfinite(win.last) & win.imputed
        if filled.any():
            vp.scatter(x[filled].tolist(), win.last[filled].tolist(), marker="x", color="yellow")
        overlay.draw(vp, self.overlays, t1, (lo, hi), self.view.overlay_scale, margin)
        sp.plot(x.tolist(), np.nan_to_num(win.score).tolist(), marker="braille")
        sp.hline(ch.threshold, "red")

        self._marks(vp, sp, alerts, labels, (t0, t1), (lo, hi))
        if self.view.cursor is not None and t0 <= self.view.cursor <= t1:
            vp.vline(self.view.cursor - t1, CURSOR_COLOR)
            sp.vline(self.view.cursor - t1, CURSOR_COLOR)

        vp.xlim(x0, 0.0)
        sp.xlim(x0, 0.0)
        vp.ylim(lo, hi)
        sp.ylim(0.0, 1.0)
        ticks = [lo + margin, hi - margin]
        vp.yticks(ticks, [fmt_value(y).rjust(LABEL_W) for y in ticks])
        score_ticks = sorted({0.0, round(ch.threshold, 2)})
        sp.yticks(
            score_ticks,
            [f"{y:.2f}".rjust(LABEL_W) if y else "0".rjust(LABEL_W) for y in score_ticks],
        )

        title.update(self._head(ch.name, win, ch.unit), layout=False)  # one fixed line
        self._under(win, alerts, labels)
        value_plot.show_figure(vp)
        score_plot.show_figure(sp)

    def _under(self, win: HistoryWindow | None, alerts: list[Alert], labels: list[Label]) -> None:
        """The time axis and the cursor's line, beneath the plots."""
        axis = self.query_one("#chart-axis", Static)
        reading = self.query_one("#chart-cursor", Static)
        width = self.query_one("#score-plot", BuiltPlot).size.width or 80
        if win is None or self.span is None:
            axis.update("", layout=False)
        else:
            axis.update(time_axis(self.span, win.held.last_t, width, self.view.axis), layout=False)
        on = self.view.cursor is not None and win is not None
        self.set_class(on, "-cursor")
        self.cursor_text = cursor_reading(win, self.view.cursor, alerts, labels) if on else ""
        if on and self.overlays:
            self.cursor_text += "  " + overlay.readings_at(self.overlays, self.view.cursor)
        legend = self.query_one("#chart-overlay", Static)
        self.set_class(bool(self.overlays) and win is not None, "-overlay")
        legend.update(overlay.legend(self.overlays, self.view.overlay_scale), layout=False)
        reading.update(Text(self.cursor_text, style="bold"), layout=False)

    def _marks(
        self,
        vp,
        sp,
        alerts: list[Alert],
        labels: list[Label],
        shown: tuple[float, float],
        ys: tuple[float, float],
    ) -> None:
        """Alert starts, labelled spans and the pending span, where they fall in ``shown``."""
        (t0, t1), (lo, hi) = shown, ys
        for alert in alerts:
            end = alert.until
            if not overlaps(alert.start, end, t0, t1):
                continue
            xa = max(alert.start, t0) - t1
            vp.vline(xa, "red")
            sp.vline(xa, "red")
            vp.text(f"!{alert.id}", x=xa, y=lo, color="red")
            if alert.expected is not None:
                # What the detector expected at the alert's peak: its band's two edges.
                xs = [xa, max(min(end, t1) - t1, xa)]
                for edge in alert.expected:
                    if lo <= edge <= hi:
                        vp.plot(xs, [edge, edge], marker="-", color="cyan")
        for lab in labels:
            mark = LABEL_MARKS.get(lab.kind.value)
            if mark is None or not lab.overlaps(t0, t1):
                continue
            xs = [max(lab.start, t0) - t1, min(lab.end, t1) - t1]
            vp.plot(xs, [hi, hi], marker=mark[0], color=mark[1])
        if self.pending is not None and overlaps(*self.pending, t0, t1):
            xs = [max(self.pending[0], t0) - t1, min(self.pending[1], t1) - t1]
            for xp in xs:
                vp.vline(xp, PENDING_MARK[1])
            vp.plot(xs, [hi, hi], marker=PENDING_MARK[0], color=PENDING_MARK[1])

    def _value_axis(self, win: HistoryWindow) -> tuple[float, float, float]:
        """The value axis: fitted to the window (with the overlays on a shared axis), held
        where it was fixed, or the channel's range; with its margin."""
        view = self.view
        if view.yscale is YScale.FIXED and view.fixed_y is not None:
            lo, hi = view.fixed_y
            return lo, hi, (hi - lo) * MARGIN / (1 + 2 * MARGIN)
        if view.yscale is YScale.RANGE and self._limits is not None:
            return _value_range(np.array(self._limits, dtype=float))
        vals = np.r_[win.lo, win.hi]
        vals = vals[np.isfinite(vals)]
        if view.overlay_scale is OverlayScale.SHARED and self.overlays:
            vals = np.r_[vals, overlay.shared_values(self.overlays)]
        return _value_range(vals)

    def _head(self, name: str, win: HistoryWindow, unit: str = "") -> Text:
        """The chart's one title line: the channel (in its unit), the window and history
        held, the legend."""
        head = Text()
        head.append(printable(name), style="bold")
        if unit:
            head.append(f" ({printable(unit)})")
        head.append(f"  {self.view.describe(win)}  ")
        if self.view.yscale is YScale.RANGE and self._limits is None:
            head.append("y auto (no --range)  ", style="bold")
        elif self.view.yscale is not YScale.AUTO:
            head.append(f"y {self.view.yscale.value}  ", style="bold")
        head.append("!n", style="red")
        head.append(" alert ")
        head.append("-", style="cyan")
        head.append(" expected ")
        head.append("x", style="yellow")
        head.append(" imputed ")
        head.append("A", style="magenta")
        head.append(" anomaly ")
        head.append("F", style="green")
        head.append(" false pos")
        head.truncate(max(1, self.size.width or 80), overflow="ellipsis")
        return head


def time_axis(span: tuple[float, float], newest: float, width: int, axis: TimeAxis) -> Text:
    """A line of time labels under the plots: how long before the newest sample, or the
    clock (UTC, or this machine's local time), at evenly spaced columns of the plot area; a
    label with no room is left out.

    >>> time_axis((0.0, 60.0), 60.0, 40, TimeAxis.RELATIVE).plain
    '         -1m00s -45s  -30s   -15s    now'
    >>> time_axis((1763884800.0, 1763884860.0), 1763884900.0, 40, TimeAxis.CLOCK).plain
    '         08:00:00   08:00:30    08:01:00'
    """
    t0, t1 = span
    left = LABEL_W  # the y labels' columns, then the canvas
    room = max(1, width - left)
    cells = [" "] * width
    for i in range(AXIS_TICKS):
        frac = i / (AXIS_TICKS - 1)
        t = t0 + frac * (t1 - t0)
        if axis is TimeAxis.CLOCK:
            word = utc_clock(t)
        elif axis is TimeAxis.LOCAL:
            word = local_clock(t)
        else:
            word = "now" if newest - t <= 1e-9 else f"-{fmt_duration(newest - t)}"
        col = left + round(frac * (room - 1)) - round(frac * (len(word) - 1))
        col = max(0, min(width - len(word), col))
        if any(c != " " for c in cells[max(0, col - 1) : col + len(word) + 1]):
            continue  # too narrow for every label: skip one rather than overprint
        cells[col : col + len(word)] = word
    return Text("".join(cells))


def _value_range(values: np.ndarray) -> tuple[float, float, float]:
    """The value axis for ``values`` (finite): their span with a margin, and the margin."""
    if len(values):
        lo, hi = float(np.min(values)), float(np.max(values))
    else:
        lo, hi = 0.0, 1.0
    if hi - lo < 1e-9 * max(1.0, abs(hi)):
        lo, hi = lo - 1.0, hi + 1.0
    margin = MARGIN * (hi - lo)
    return lo - margin, hi + margin, margin
