"""The detail panel: the selected channel's recent values, and its score beneath.

Two textual-plotext plots share one time axis (seconds before the newest sample, with the
clock times in the title). Alert episodes are vertical lines tagged ``!id``; labeled
spans are runs of ``A`` (anomaly) or ``F`` (false positive) along the top; imputed points
are ``x``. textual-plotext rebuilds its whole figure on every repaint and shows changes
only after ``refresh()``, so the figures are rebuilt here only when the app's tick finds
that the data changed, and then refreshed once.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Static
from textual_plotext import PlotextPlot

from sensorscope.model import Alert, ChannelSnapshot, Label, overlaps
from sensorscope.tui.timefmt import fmt_duration, fmt_value, printable, utc_clock

LABEL_W = 9  # y tick labels of both plots are this wide, so their time axes line up
LABEL_MARKS = {"anomaly": ("A", "magenta"), "false_positive": ("F", "green")}
PENDING_MARK = ("?", "yellow")  # the span being labelled in the missed-anomaly dialog
MIN_REDRAW = 0.25  # seconds between redraws of a channel that keeps changing


def minmax_points(
    x: np.ndarray, y: np.ndarray, buckets: int, x0: float, x1: float
) -> tuple[list[float], list[float]]:
    """At most two points per bucket of x: the bucket's min and max, so spikes survive.

    >>> minmax_points(np.arange(6.0), np.array([0, 9, 0, 0, -9, 0.0]), 2, 0, 6)
    ([0.0, 0.0, 3.0, 3.0], [0.0, 9.0, -9.0, 0.0])
    """
    if len(x) <= 2 * buckets or x1 <= x0:
        return x.tolist(), y.tolist()
    b = np.clip(((x - x0) / (x1 - x0) * buckets).astype(int), 0, buckets - 1)
    starts = np.flatnonzero(np.r_[True, b[1:] != b[:-1]])
    lo = np.minimum.reduceat(y, starts)
    hi = np.maximum.reduceat(y, starts)
    xs = np.repeat(x[starts], 2)
    ys = np.empty(2 * len(starts))
    ys[0::2], ys[1::2] = lo, hi
    return xs.tolist(), ys.tolist()


class DetailChart(Vertical):
    """Recent values of one channel with alerts, labels and imputed points; score beneath."""

    DEFAULT_CSS = """
    DetailChart { height: 1fr; }
    DetailChart #chart-title { height: 1; }
    DetailChart #value-plot { height: 1fr; }
    DetailChart #score-plot { height: 3; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.channel: str | None = None
        self.span: tuple[float, float] | None = None
        self.pending: tuple[float, float] | None = None
        self.redraws = 0
        self._key: Any = None
        self._last_draw = 0.0

    def compose(self) -> ComposeResult:
        yield Static(id="chart-title")
        yield PlotextPlot(id="value-plot")
        yield PlotextPlot(id="score-plot")

    def show(
        self,
        ch: ChannelSnapshot | None,
        alerts: list[Alert],
        labels: list[Label],
        *,
        force: bool = False,
    ) -> bool:
        """Redraw if what would be drawn changed; True if it was redrawn."""
        value_plot = self.query_one("#value-plot", PlotextPlot)
        score_plot = self.query_one("#score-plot", PlotextPlot)
        name = ch.name if ch is not None else None
        mine = [a for a in alerts if a.channel == name]
        my_labels = [lab for lab in labels if lab.channel == name]
        key = (
            name,
            None if ch is None else (ch.samples, ch.last_t, ch.threshold, len(ch.history.t)),
            tuple((a.id, a.start, a.end, a.last_above, a.label) for a in mine),
            tuple((lab.id, lab.kind) for lab in my_labels),
            self.pending,
            value_plot.size,
            score_plot.size,
        )
        if key == self._key:
            return False
        now = time.monotonic()
        if not force and name == self.channel and now - self._last_draw < MIN_REDRAW:
            return False
        self._key = key
        self._last_draw = now
        self.redraws += 1
        self._draw(ch, mine, my_labels, value_plot, score_plot)
        return True

    def show_pending(self, span: tuple[float, float] | None) -> None:
        """Show (or, with None, stop showing) the span a missed-anomaly label would cover."""
        if span != self.pending:
            self.pending = span
            self._key = None
            self._last_draw = 0.0

    def _draw(
        self,
        ch: ChannelSnapshot | None,
        alerts: list[Alert],
        labels: list[Label],
        value_plot: PlotextPlot,
        score_plot: PlotextPlot,
    ) -> None:
        title = self.query_one("#chart-title", Static)
        vp, sp = value_plot.plt, score_plot.plt
        for p in (vp, sp):
            p.clear_figure()
            p.frame(False)
            p.xticks([])
        self.channel = ch.name if ch is not None else None
        n = 0 if ch is None else len(ch.history.t)
        if ch is None or n == 0:
            self.span = None
            title.update(
                Text("no channel selected" if ch is None else f"{printable(ch.name)}: no data yet")
            )
            value_plot.refresh()
            score_plot.refresh()
            return
        h = ch.history
        t = h.t.astype(float)
        v = h.value.astype(float)
        score = h.score.astype(float)
        imputed = h.imputed.astype(bool)
        in_alert = h.alert.astype(bool)
        t0, t1 = float(t[0]), float(t[-1])
        self.span = (t0, t1)
        x0 = min(t0 - t1, -1e-3)
        x = t - t1
        buckets = 2 * max(10, (value_plot.size.width or 80) - LABEL_W - 1)

        finite = np.isfinite(v)
        lo, hi, margin = _value_range(v[finite])

        normal = finite & ~imputed
        if normal.any():
            vp.plot(*minmax_points(x[normal], v[normal], buckets, x0, 0.0), marker="braille")
        hot = finite & in_alert
        if hot.any():
            xs, ys = minmax_points(x[hot], v[hot], buckets, x0, 0.0)
            vp.scatter(xs, ys, marker="braille", color="red")
        filled = finite & imputed
        if filled.any():
            xs, ys = minmax_points(x[filled], v[filled], buckets, x0, 0.0)
            vp.scatter(xs, ys, marker="x", color="yellow")
        sp.plot(*minmax_points(x, np.nan_to_num(score), buckets, x0, 0.0), marker="braille")
        sp.hline(ch.threshold, "red")

        self._marks(vp, sp, alerts, labels, (t0, t1), (lo, hi))

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

        head = self._head(ch.name, t0, t1, ch.unit)
        title.update(head, layout=False)  # one fixed line
        value_plot.refresh()
        score_plot.refresh()

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
                # What the detector expected while the alert lasted: its band's two edges.
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

    def _head(self, name: str, t0: float, t1: float, unit: str = "") -> Text:
        """The chart's one title line: the channel (in its unit), the span shown and the
        legend."""
        head = Text()
        head.append(printable(name), style="bold")
        if unit:
            head.append(f" ({printable(unit)})")
        head.append(f"  {utc_clock(t0)}–{utc_clock(t1)} UTC ({fmt_duration(t1 - t0)})")
        head.append("  ")
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


def _value_range(values: np.ndarray) -> tuple[float, float, float]:
    """The value axis for ``values`` (finite): their span with a margin, and the margin."""
    if len(values):
        lo, hi = float(np.min(values)), float(np.max(values))
    else:
        lo, hi = 0.0, 1.0
    if hi - lo < 1e-9 * max(1.0, abs(hi)):
        lo, hi = lo - 1.0, hi + 1.0
    margin = 0.06 * (hi - lo)
    return lo - margin, hi + margin, margin
