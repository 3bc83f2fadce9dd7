"""A span of a channel's visible window, edited from the keyboard.

One line is the window's score as a sparkline with the span in reverse video and the edge
being moved in yellow; beneath it the span's times. ``left``/``right`` move that edge a
step (``shift``: ten), ``tab`` goes from the start edge to the end edge and then on to the
next widget. Where the span is proposed and how far a step goes are the core's
(:mod:`sensorscope.spans`); this widget only shows and asks.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from rich.text import Text
from textual.binding import Binding
from textual.message import Message
from textual.widget import Widget

from sensorscope.spans import edge_step, move_edge
from sensorscope.tui.timefmt import fmt_duration, utc_clock_ms
from sensorscope.tui.widgets.sparkline import spark_text


class SpanBar(Widget, can_focus=True):
    BINDINGS = [
        Binding("left", "move(-1)", "Earlier", show=False),
        Binding("right", "move(1)", "Later", show=False),
        Binding("shift+left", "move(-1, True)", "Earlier ×10", show=False),
        Binding("shift+right", "move(1, True)", "Later ×10", show=False),
        Binding("tab", "next_edge", "Next edge", show=False),
        Binding("shift+tab", "previous_edge", "Previous edge", show=False),
    ]

    DEFAULT_CSS = """
    SpanBar { height: 2; width: 1fr; }
    SpanBar:focus { background: $boost; }
    """

    @dataclass
    class Changed(Message):
        """The span now runs from ``start`` to ``end`` (data time)."""

        bar: SpanBar
        start: float
        end: float

    def __init__(
        self,
        t: np.ndarray,
        score: np.ndarray,
        span: tuple[int, int],
        *,
        id: str | None = None,
    ) -> None:
        super().__init__(id=id)
        self.t = np.asarray(t, dtype=float)
        self.score = np.asarray(score, dtype=float)
        self.span = span
        self.edge = "start"

    @property
    def times(self) -> tuple[float, float]:
        return float(self.t[self.span[0]]), float(self.t[self.span[1]])

    def set_times(self, start: float, end: float) -> None:
        """Follow a span typed as times: its edges at the nearest samples, no message."""
        lo = int(np.clip(np.searchsorted(self.t, start), 0, len(self.t) - 1))
        hi = int(np.clip(np.searchsorted(self.t, end, side="right") - 1, lo, len(self.t) - 1))
        if (lo, hi) != self.span:
            self.span = (lo, hi)
            self.refresh()

    def action_move(self, direction: int, big: bool = False) -> None:
        n = len(self.t)
        span = move_edge(self.span, self.edge, direction * edge_step(n, big), n)
        if span != self.span:
            self.span = span
            self.refresh()
            self.post_message(self.Changed(self, *self.times))

    def action_next_edge(self) -> None:
        if self.edge == "start":
            self.edge = "end"
            self.refresh()
        else:
            self.screen.focus_next()

    def action_previous_edge(self) -> None:
        if self.edge == "end":
            self.edge = "start"
            self.refresh()
        else:
            self.screen.focus_previous()

    def on_focus(self) -> None:
        self.refresh()

    def on_blur(self) -> None:
        self.refresh()

    def render(self) -> Text:
        n = len(self.t)
        width = max(1, self.content_size.width or 40)
        cols = min(width, n)
        bar = Text(spark_text(self.score, cols))
        lo, hi = self.span
        c_lo, c_hi = lo * cols // n, hi * cols // n
        bar.stylize("reverse", c_lo, c_hi + 1)
        if self.has_focus:
            edge = c_lo if self.edge == "start" else c_hi
            bar.stylize("bold black on yellow", edge, edge + 1)
        start, end = self.times
        line = Text()
        marked = "bold yellow" if self.has_focus else ""
        line.append(f"start {utc_clock_ms(start)}", style=marked if self.edge == "start" else "")
        line.append("  ")
        line.append(f"end {utc_clock_ms(end)}", style=marked if self.edge == "end" else "")
        line.append(f"  ({fmt_duration(end - start)})")
        line.truncate(width, overflow="ellipsis")
        return Text("\n").join([bar, line])
