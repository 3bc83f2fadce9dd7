"""Labelling from the keyboard: an alert's label, a missed anomaly's span, undo.

A mixin of the app, so that what a label does (and says when it cannot be kept) reads in
one place. A label the monitor cannot keep (the scoring process of ``--score-in process``
has ended) is said, never silently dropped.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sensorscope.errors import UserError
from sensorscope.spans import covered_spans, propose_span
from sensorscope.tui.screens.missed_dialog import MissedDialog, MissedSpan
from sensorscope.tui.timefmt import utc_clock
from sensorscope.tui.widgets.alert_log import LABEL_WORDS, AlertLog

if TYPE_CHECKING:
    from sensorscope.tui.app import SensorscopeApp

    _Base = SensorscopeApp
else:
    _Base = object


class Labelling(_Base):
    """The app's labelling actions (mixed into :class:`~sensorscope.tui.app.SensorscopeApp`)."""

    def action_label(self, kind: str) -> None:
        if not self.alert_log.request_label(kind):
            self.say("no alert to label", "warning")

    def on_alert_log_label_requested(self, event: AlertLog.LabelRequested) -> None:
        try:
            self.monitor.label_alert(event.alert_id, event.kind)
        except KeyError:
            self.say(f"alert #{event.alert_id} is gone (the replay restarted)", "warning")
            return
        except UserError as exc:
            self.say(f"not labelled: {exc}", "error")
            return
        taught = " (its repeats will not alert)" if event.kind == "false_positive" else ""
        self.say(f"alert #{event.alert_id} on {event.channel}: {LABEL_WORDS[event.kind]}{taught}")
        self._labels_changed()

    def _labels_changed(self) -> None:
        if self.live_paused:
            self.alert_log.update_labels(self.monitor.snapshot(points=1).alerts)
        else:
            self.tick()

    def action_mark_missed(self) -> None:
        if not self.live_paused and self.snapshot is not None:
            # The channel's whole history as of now, on the chart and in the dialog alike.
            self.apply(self.pull(), force_chart=True)
        channel = self.selected
        snap = self.snapshot
        ch = snap.channels.get(channel) if snap is not None and channel is not None else None
        if snap is None or ch is None or len(ch.history.t) == 0:
            self.say("no channel with data selected", "warning")
            return
        t, score = ch.history.t, ch.history.score
        # The core proposes the stretch a person most likely means; the dialog edits it.
        span = propose_span(t, score, covered_spans(ch.name, snap.alerts, snap.labels))
        if span is None:
            self.say("no channel with data selected", "warning")
            return
        self.push_screen(MissedDialog(ch.name, t, score, span), callback=self._missed_chosen)

    def on_missed_dialog_span_changed(self, event: MissedDialog.SpanChanged) -> None:
        self.detail.show_pending(event.span)
        self._show_detail(force=True)

    def _missed_chosen(self, span: MissedSpan | None) -> None:
        if span is None:
            return
        try:
            self.monitor.label_span(span.channel, span.start, span.end, "anomaly")
        except UserError as exc:
            self.say(f"not labelled: {exc}", "error")
            return
        self.say(f"missed anomaly on {span.channel}, {utc_clock(span.start)}–{utc_clock(span.end)}")
        self._labels_changed()

    def action_undo(self) -> None:
        try:
            undone = self.monitor.undo()
        except UserError as exc:
            self.say(f"not undone: {exc}", "error")
            return
        if undone is None:
            self.say("nothing to undo", "warning")
            return
        what = LABEL_WORDS.get(undone.kind.value, undone.kind.value)
        on = f"alert #{undone.alert}" if undone.alert is not None else "span"
        self.say(f"undone: {what} on {undone.channel} ({on})")
        self._labels_changed()
