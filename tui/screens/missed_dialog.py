"""The missed-anomaly dialog: a span on one channel, its edges moved with the arrow keys
or typed (UTC).

It opens on the span the core proposes (:func:`sensorscope.spans.propose_span`), shown over the
channel's score; every change is posted (``SpanChanged``) so the chart can show it too."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Static

from sensorscope.tui.timefmt import STAMP_FORMAT, parse_utc_stamp, printable, utc_stamp
from sensorscope.tui.widgets.span_bar import SpanBar


@dataclass(frozen=True)
class MissedSpan:
    channel: str
    start: float
    end: float


class MissedDialog(ModalScreen[MissedSpan | None]):
    """Opens on a proposed span; the arrows move its edges, Enter saves, Escape cancels."""

    BINDINGS = [
        Binding("escape", "cancel", "Cancel"),
        Binding("enter", "save", "Save", show=False),
    ]

    DEFAULT_CSS = """
    MissedDialog { align: center middle; }
    MissedDialog > Vertical {
        width: 60;
        max-width: 100%;
        height: auto;
        border: round $warning;
        padding: 0 1;
        background: $surface;
    }
    MissedDialog Input { width: 1fr; }
    MissedDialog .row { height: auto; }
    MissedDialog #missed-keys { color: $text-muted; }
    MissedDialog .row Label { width: 7; padding: 0 0; }
    MissedDialog #missed-error { color: $error; height: auto; }
    MissedDialog #missed-buttons { height: auto; align-horizontal: right; }
    MissedDialog Button { min-width: 10; margin-left: 1; }
    """

    @dataclass
    class SpanChanged(Message):
        """The span being edited (None once the dialog closes)."""

        channel: str
        span: tuple[float, float] | None

    def __init__(
        self, channel: str, t: np.ndarray, score: np.ndarray, span: tuple[int, int]
    ) -> None:
        super().__init__()
        self.channel = channel
        self.bar = SpanBar(t, score, span, id="missed-bar")
        self.start, self.end = self.bar.times

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(
                Text.assemble(
                    "Missed anomaly on ",
                    (printable(self.channel), "bold"),
                    f" (UTC, {STAMP_FORMAT})",
                )
            )
            yield self.bar
            yield Static(
                "←/→ move the edge (shift: ×10), tab: the other edge",
                id="missed-keys",
            )
            with Horizontal(classes="row"):
                yield Label("start")
                yield Input(utc_stamp(self.start), id="missed-start", compact=True)
            with Horizontal(classes="row"):
                yield Label("end")
                yield Input(utc_stamp(self.end), id="missed-end", compact=True)
            yield Static("", id="missed-error")
            with Horizontal(id="missed-buttons"):
                yield Button("Save", id="missed-save", variant="primary", compact=True)
                yield Button("Cancel", id="missed-cancel", compact=True)

    def on_mount(self) -> None:
        self.bar.focus()
        self.post_message(self.SpanChanged(self.channel, (self.start, self.end)))

    def on_span_bar_changed(self, event: SpanBar.Changed) -> None:
        event.stop()
        self.start, self.end = event.start, event.end
        self.query_one("#missed-start", Input).value = utc_stamp(event.start)
        self.query_one("#missed-end", Input).value = utc_stamp(event.end)
        self.post_message(self.SpanChanged(self.channel, (event.start, event.end)))

    def on_input_changed(self, event: Input.Changed) -> None:
        event.stop()
        # Only typing moves the bar: the values the bar itself writes come back here too,
        # late, and must not undo a key press made since.
        if not event.input.has_focus:
            return
        span = self._read(quiet=True)
        if span is not None:
            self.start, self.end = span.start, span.end
            self.bar.set_times(span.start, span.end)
            self.post_message(self.SpanChanged(self.channel, (span.start, span.end)))

    def _read(self, quiet: bool = False) -> MissedSpan | None:
        """The span typed; None (and the reason shown, unless ``quiet``) if it is not one."""
        error = self.query_one("#missed-error", Static)
        date = utc_stamp(self.bar.times[0])[:10]
        try:
            start = parse_utc_stamp(self.query_one("#missed-start", Input).value, date)
        except ValueError as exc:
            if not quiet:
                error.update(f"start: {exc}")
            return None
        try:
            end = parse_utc_stamp(self.query_one("#missed-end", Input).value, date)
        except ValueError as exc:
            if not quiet:
                error.update(f"end: {exc}")
            return None
        if end < start:
            if not quiet:
                error.update("end: before the start")
            return None
        error.update("")
        return MissedSpan(self.channel, start, end)

    def _save(self) -> None:
        span = self._read()
        if span is not None:
            self._close(span)

    def _close(self, span: MissedSpan | None) -> None:
        self.post_message(self.SpanChanged(self.channel, None))
        self.dismiss(span)

    def action_save(self) -> None:
        self._save()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self._save()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        if event.button.id == "missed-save":
            self._save()
        else:
            self._close(None)

    def action_cancel(self) -> None:
        self._close(None)
