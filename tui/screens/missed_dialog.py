"""The missed-anomaly dialog: a span on one channel, start and end editable (UTC)."""

from __future__ import annotations

from dataclasses import dataclass

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Static

from tui.timefmt import STAMP_FORMAT, parse_utc_stamp, printable, utc_stamp


@dataclass(frozen=True)
class MissedSpan:
    channel: str
    start: float
    end: float


class MissedDialog(ModalScreen[MissedSpan | None]):
    """Prefilled with the span shown in the detail chart; Enter saves, Escape cancels."""

    BINDINGS = [Binding("escape", "cancel", "Cancel")]

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
    MissedDialog .row Label { width: 7; padding: 0 0; }
    MissedDialog #missed-error { color: $error; height: auto; }
    MissedDialog #missed-buttons { height: auto; align-horizontal: right; }
    MissedDialog Button { min-width: 10; margin-left: 1; }
    """

    def __init__(self, channel: str, start: float, end: float) -> None:
        super().__init__()
        self.channel = channel
        self.start = start
        self.end = end

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(
                Text.assemble(
                    "Missed anomaly on ",
                    (printable(self.channel), "bold"),
                    f" (UTC, {STAMP_FORMAT})",
                )
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
        self.query_one("#missed-start", Input).focus()

    def _read(self) -> MissedSpan | None:
        error = self.query_one("#missed-error", Static)
        date = utc_stamp(self.start)[:10]
        try:
            start = parse_utc_stamp(self.query_one("#missed-start", Input).value, date)
        except ValueError as exc:
            error.update(f"start: {exc}")
            return None
        try:
            end = parse_utc_stamp(self.query_one("#missed-end", Input).value, date)
        except ValueError as exc:
            error.update(f"end: {exc}")
            return None
        if end < start:
            error.update("end: before the start")
            return None
        error.update("")
        return MissedSpan(self.channel, start, end)

    def _save(self) -> None:
        span = self._read()
        if span is not None:
            self.dismiss(span)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self._save()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        if event.button.id == "missed-save":
            self._save()
        else:
            self.dismiss(None)

    def action_cancel(self) -> None:
        self.dismiss(None)
