"""Channels overlaid on the detail chart's own: their lines, their legend, their readings.

The selected channel keeps the value axis (in its unit, auto, fixed or its range); each
overlaid channel is drawn in a colour of its own over the same stretch of time, either on
its own scale, fitted to the chart's height (channels of different units, say a current
and a pressure, compared for when they move), or on the one shared axis (channels of the
same unit). On its own scale the legend gives the range each line spans, since the axis's
numbers are the selected channel's.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from rich.text import Text

from sensorscope.model import HistoryWindow
from sensorscope.tui.chart_view import OverlayScale
from sensorscope.tui.timefmt import fmt_value, printable

#: (plotext colour for the line, Rich style for the legend and the table: the same
#: terminal colour), one per overlaid channel in the order picked; none is the selected
#: line's (blue+), the alerts' (red), the expected band's (cyan) or the cursor's (white).
PALETTE = (
    ("orange", "color(3)"),
    ("green+", "color(10)"),
    ("magenta+", "color(13)"),
    ("gray+", "color(7)"),
)


@dataclass(frozen=True, slots=True)
class Overlaid:
    """One channel drawn over the selected one: its window of history over the same
    stretch of time, and its colours."""

    name: str
    unit: str
    window: HistoryWindow
    color: str  # plotext's
    style: str  # Rich's

    @property
    def key(self) -> tuple:
        """What, when it changes, makes the chart redraw."""
        w = self.window
        return (self.name, w.start, w.end, len(w), w.held.samples)


def colours(index: int) -> tuple[str, str]:
    return PALETTE[index % len(PALETTE)]


def value_span(win: HistoryWindow) -> tuple[float, float] | None:
    """The lowest and highest value the window holds (None: no finite value)."""
    vals = np.r_[win.lo, win.hi]
    vals = vals[np.isfinite(vals)]
    if not len(vals):
        return None
    return float(vals.min()), float(vals.max())


def shared_values(overlays: Sequence[Overlaid]) -> np.ndarray:
    """Every finite value the overlaid lines draw (a shared axis must hold them)."""
    spans = [s for s in (value_span(o.window) for o in overlays) if s is not None]
    return np.array([v for s in spans for v in s], dtype=float)


def to_axis(values: np.ndarray, own: tuple[float, float], axis: tuple[float, float]) -> np.ndarray:
    """``values`` mapped from their own span onto the axis's, a flat line mid-axis.

    >>> to_axis(np.array([10.0, 15.0, 20.0]), (10.0, 20.0), (0.0, 1.0)).tolist()
    [0.0, 0.5, 1.0]
    >>> to_axis(np.array([3.0, 3.0]), (3.0, 3.0), (0.0, 1.0)).tolist()
    [0.5, 0.5]
    """
    (a, b), (lo, hi) = own, axis
    if b - a <= 1e-12 * max(1.0, abs(b)):
        return np.full(len(values), (lo + hi) / 2)
    return lo + (values - a) / (b - a) * (hi - lo)


def draw(
    vp,
    overlays: Sequence[Overlaid],
    t1: float,
    axis: tuple[float, float],
    scale: OverlayScale,
    margin: float,
) -> None:
    """Each overlaid channel's line (its points' ranges, as the selected line is drawn),
    in its colour; on its own scale it spans the axis less the margins."""
    inner = (axis[0] + margin, axis[1] - margin)
    for o in overlays:
        w = o.window
        ok = np.isfinite(w.lo) & np.isfinite(w.hi) & ~w.imputed
        if not ok.any():
            continue
        xs = np.repeat(w.t[ok] - t1, 2)
        ys = np.empty(len(xs))
        ys[0::2], ys[1::2] = w.lo[ok], w.hi[ok]
        if scale is OverlayScale.OWN:
            own = value_span(w)
            assert own is not None  # ok.any()
            ys = to_axis(ys, own, inner)
        vp.plot(xs.tolist(), ys.tolist(), marker="braille", color=o.color)


def legend(overlays: Sequence[Overlaid], scale: OverlayScale) -> Text:
    """A line naming each overlaid channel in its colour; on its own scale, with the range
    its line spans (the axis's numbers being the selected channel's)."""
    out = Text()
    out.append("over: " if scale is OverlayScale.SHARED else "over (own scales): ", style="dim")
    for i, o in enumerate(overlays):
        if i:
            out.append("  ")
        out.append(f"━ {printable(o.name)}", style=f"bold {o.style}")
        span = value_span(o.window)
        unit = f" {printable(o.unit)}" if o.unit else ""
        if scale is OverlayScale.OWN and span is not None:
            out.append(f" {fmt_value(span[0])}…{fmt_value(span[1])}{unit}")
        elif unit:
            out.append(unit)
    return out


def readings_at(overlays: Sequence[Overlaid], at: float) -> str:
    """What the cursor line adds for the overlaid channels: each one's value at ``at``.

    The point the moment falls in (a bucket's last value), as the selected channel's is
    read; "—" where a channel has nothing there.
    """
    parts = []
    for o in overlays:
        w = o.window
        if not len(w) or at < w.t[0] - _step(w):
            parts.append(f"{printable(o.name)} —")
            continue
        k = min(int(np.searchsorted(w.t, at)), len(w) - 1)
        if k and at - w.t[k - 1] < w.t[k] - at and w.per_point <= 1.0:
            k -= 1
        parts.append(f"{printable(o.name)} {fmt_value(float(w.last[k]))}")
    return "  ".join(parts)


def _step(w: HistoryWindow) -> float:
    return float((w.t[-1] - w.t[0]) / max(1, len(w) - 1)) if len(w) > 1 else 0.0
