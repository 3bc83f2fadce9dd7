"""Which stretch of a channel's history the detail chart shows, and its cursor.

Kept apart from the widget so the arithmetic of zoom, pan, pause and cursor is plain code:
the chart asks the core for ``request()``'s window and draws what comes back; each key
moves the view relative to the window last shown (``shown``), so a step is always a
fraction of what the user sees.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from enum import Enum

import numpy as np

from sensorscope.model import Alert, HistoryWindow, Label, ViewRequest
from sensorscope.tui.timefmt import fmt_duration, fmt_value, utc_clock, utc_clock_ms

#: The zoom steps, seconds; past the last one (or the history held): everything.
ZOOMS = (
    1, 2, 5, 10, 30, 60, 120, 300, 600, 1800, 3600, 2 * 3600, 6 * 3600, 12 * 3600, 86400,
    2 * 86400, 7 * 86400, 30 * 86400,
)  # fmt: skip
ALL = math.inf  # a span: from the first sample seen
PAN = 0.5  # of the window per pan key
CURSOR_STEPS = 40  # cursor moves per window width


class TimeAxis(Enum):
    RELATIVE = "relative"  # seconds before the window's end
    CLOCK = "clock"  # time of day, UTC like every time on screen
    LOCAL = "local"  # time of day on this machine's clock (the lab's own hours)


class YScale(Enum):
    AUTO = "auto"  # fitted to what the window shows, so it moves as the data do
    FIXED = "fixed"  # held where it was when fixed: a drift shows as a drift
    RANGE = "range"  # the channel's physical range (--range, [channels.NAME] range)


class OverlayScale(Enum):
    OWN = "own"  # each overlaid channel fitted to the chart's height on its own scale
    SHARED = "shared"  # one value axis for every channel (the same unit, say)


#: Channels overlaid on the selected one at most (one colour each).
MAX_OVERLAY = 4


@dataclass
class ChartView:
    """The window asked for (``span`` None: what the full-resolution ring holds; ``end``
    None: up to the newest sample), the cursor's time (None: off) and the time axis."""

    span: float | None = None
    end: float | None = None
    cursor: float | None = None
    axis: TimeAxis = TimeAxis.RELATIVE
    yscale: YScale = YScale.AUTO
    fixed_y: tuple[float, float] | None = None  # the held value axis (YScale.FIXED)
    #: Channels drawn over the selected one, in the order they were picked.
    overlay: list[str] = field(default_factory=list)
    overlay_scale: OverlayScale = OverlayScale.OWN

    @property
    def live(self) -> bool:
        return self.end is None

    def request(self, points: int) -> ViewRequest:
        return ViewRequest(span=self.span, end=self.end, points=points)

    # -- keys -------------------------------------------------------------------------------

    def zoom(self, shown: HistoryWindow | None, step: int) -> None:
        """One zoom step in (``step`` < 0) or out; out past the history held: all of it."""
        width = _width(shown, self.span)
        if step > 0:
            bigger = [z for z in ZOOMS if z > width * 1.001]
            held = shown.held.span if shown is not None else 0.0
            self.span = ALL if not bigger or bigger[0] >= held else float(bigger[0])
        else:
            smaller = [z for z in ZOOMS if z < width * 0.999]
            self.span = float(smaller[-1] if smaller else ZOOMS[0])
        if self.cursor is not None and shown is not None and self.span != ALL:
            # Zoom in around the cursor: it stays on screen.
            end = self.end if self.end is not None else shown.held.last_t
            if not end - self.span <= self.cursor <= end:
                self._set_end(shown, self.cursor + self.span / 2)

    def pan(self, shown: HistoryWindow | None, direction: int) -> None:
        """Half a window back (``direction`` < 0) or forward; forward onto the newest sample
        follows the data again. With the cursor on, the cursor moves instead (the window
        follows it off the edge)."""
        if shown is None:
            return
        width = shown.end - shown.start
        if self.cursor is not None:
            step = max(width / CURSOR_STEPS, _point_width(shown))
            first, last = shown.held.first_t, shown.held.last_t
            self.cursor = min(last, max(first, self.cursor + direction * step))
            if not shown.start <= self.cursor <= shown.end:
                self._fix_span(shown)
                self._set_end(shown, self.cursor + width / 2)  # the cursor mid-window
            return
        self._fix_span(shown)
        self._set_end(shown, shown.end + direction * PAN * width)

    def go_live(self, shown: HistoryWindow | None = None) -> None:
        """Follow the data again; a cursor on goes to the newest sample, on screen."""
        self.end = None
        if self.cursor is not None and shown is not None:
            self.cursor = shown.held.last_t

    def freeze(self, at: float | None) -> None:
        """A paused display: a window that followed the data stays where it was."""
        if self.end is None and at is not None:
            self.end = at

    def toggle_cursor(self, shown: HistoryWindow | None) -> bool:
        """The cursor on (mid-window) or off; True if it is on now."""
        if self.cursor is not None or shown is None or not len(shown):
            self.cursor = None
            return False
        self.cursor = float(shown.t[len(shown) // 2])
        return True

    def toggle_axis(self) -> TimeAxis:
        order = list(TimeAxis)
        self.axis = order[(order.index(self.axis) + 1) % len(order)]
        return self.axis

    def next_yscale(self, drawn: tuple[float, float] | None, has_range: bool) -> YScale:
        """The value axis in turn auto, fixed (where it is drawn now), the channel's range
        (skipped when it has none)."""
        order = [YScale.AUTO, YScale.FIXED] + ([YScale.RANGE] if has_range else [])
        here = order.index(self.yscale) if self.yscale in order else len(order) - 1
        self.yscale = order[(here + 1) % len(order)]
        if self.yscale is YScale.FIXED and drawn is None:
            self.yscale = YScale.RANGE if has_range else YScale.AUTO
        self.fixed_y = drawn if self.yscale is YScale.FIXED else None
        return self.yscale

    def unfix(self) -> None:
        """Another channel selected: an axis fixed for the last one does not fit it."""
        if self.yscale is YScale.FIXED:
            self.yscale, self.fixed_y = YScale.AUTO, None

    def toggle_overlay(self, channel: str) -> bool | None:
        """The channel into the overlay (True) or out of it (False); None: the overlay is
        full."""
        if channel in self.overlay:
            self.overlay.remove(channel)
            return False
        if len(self.overlay) >= MAX_OVERLAY:
            return None
        self.overlay.append(channel)
        return True

    def toggle_overlay_scale(self) -> OverlayScale:
        self.overlay_scale = (
            OverlayScale.SHARED if self.overlay_scale is OverlayScale.OWN else OverlayScale.OWN
        )
        return self.overlay_scale

    def _fix_span(self, shown: HistoryWindow) -> None:
        # Panning the ring's own span or "all" keeps the width seen, not a moving target.
        if self.span is None or self.span == ALL:
            self.span = shown.end - shown.start

    def _set_end(self, shown: HistoryWindow, end: float) -> None:
        first, last = shown.held.first_t, shown.held.last_t
        span = self.span if self.span is not None else shown.end - shown.start
        end = max(end, min(first + span, last))  # not past the first sample seen
        self.end = None if end >= last else end

    # -- words --------------------------------------------------------------------------

    def describe(self, shown: HistoryWindow) -> str:
        """The title's words for the window: "last 5m00s", or its clock span when panned;
        and how much history is held."""
        start = max(shown.start, shown.held.first_t)
        width = shown.end - start
        if self.live:
            what = "all" if self.span == ALL else f"last {fmt_duration(width)}"
        else:
            what = f"{utc_clock(start)}–{utc_clock(shown.end)} UTC ({fmt_duration(width)})"
        held = shown.held
        return f"{what}  held {fmt_duration(held.span)} {fmt_bytes(held.nbytes)}"


def _width(shown: HistoryWindow | None, span: float | None) -> float:
    if shown is not None:
        return max(shown.end - max(shown.start, shown.held.first_t), 1e-9)
    return span if span is not None and math.isfinite(span) else 60.0


def _point_width(shown: HistoryWindow) -> float:
    return (shown.end - shown.start) / max(1, len(shown)) if len(shown) else 0.0


def fmt_bytes(n: int) -> str:
    """
    >>> [fmt_bytes(n) for n in (512, 20_480, 3_500_000)]
    ['512 B', '20 kB', '3.5 MB']
    """
    if n < 1000:
        return f"{n} B"
    if n < 1_000_000:
        return f"{n / 1000:.0f} kB"
    return f"{n / 1_000_000:.1f} MB"


def cursor_reading(
    shown: HistoryWindow, at: float, alerts: list[Alert], labels: list[Label]
) -> str:
    """What the line under the chart says of the moment ``at``: its time, the value and
    score of the point under it (a bucket's range too), and the alert or label there."""
    if not len(shown):
        return f"{utc_clock_ms(at)}  no data"
    k = min(int(np.searchsorted(shown.t, at)), len(shown) - 1)
    if k and at - shown.t[k - 1] < shown.t[k] - at and shown.per_point <= 1.0:
        k -= 1  # samples: the nearest; buckets: the one the moment falls in
    # Short enough for the chart's half of a wide screen: time, value, score, then the rest.
    parts = [f"{utc_clock_ms(at)} -{fmt_duration(shown.held.last_t - at)}"]
    lo, hi, last = (float(a[k]) for a in (shown.lo, shown.hi, shown.last))
    value = fmt_value(last)
    if hi > lo:
        value += f" [{fmt_value(lo)}…{fmt_value(hi)}]"
    parts.append(value)
    parts.append(f"score {float(shown.score[k]):.2f}")
    if shown.imputed[k]:
        parts.append("imputed")
    alert = next((a for a in reversed(alerts) if a.start <= at <= a.until), None)
    if alert is not None:
        said = f"alert #{alert.id}"
        parts.append(f"{said} {alert.label.replace('_', ' ')}" if alert.label else said)
    label = next(
        (lab for lab in reversed(labels) if lab.alert is None and lab.overlaps(at, at)), None
    )
    if label is not None:
        parts.append(f"label {label.kind.value.replace('_', ' ')}")
    return "  ".join(parts)
