"""The scoring path: frames -> parse -> impute -> score -> alerts -> State.

:class:`Pipeline` is the synchronous heart, driven one batch of frames at a time and owning
every parser, imputer and detector; what it has to show it writes to a
:class:`~sensorscope.state.State`, which a UI reads as snapshots. Threads around it are
:class:`sensorscope.runner.Runner`'s.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import replace
from itertools import repeat
from operator import attrgetter
from typing import Any

import numpy as np

from sensorscope.channel_file import for_channel
from sensorscope.channels import ChannelRegistry, Feedback
from sensorscope.detect.factory import factory_for
from sensorscope.errors import UserError
from sensorscope.formats import LineParser
from sensorscope.formats.base import TemplateRun
from sensorscope.impute import Imputer
from sensorscope.joint import JointViews
from sensorscope.model import (
    Alert,
    Counters,
    Frame,
    HistoryWindow,
    Label,
    LabelKind,
    RawLine,
    ScoredBatch,
    ScoredSample,
    Settings,
    Snapshot,
    SourceStatus,
    ViewRequest,
)
from sensorscope.send import sent_text
from sensorscope.sources.open import several_sources
from sensorscope.state import AlertEvent, ChannelState, State
from sensorscope.state_file import SavedState

SHOWN_AS_PARSED = frozenset({"data", "empty", "header"})


class _Rows:
    """A batch's readings as flat columns for the scorer: per channel sample its channel
    index and value; per reading its sample count, data and receive times, and line."""

    __slots__ = ("ch", "val", "n", "t", "rx", "readings")

    def __init__(self) -> None:
        self.ch: list[int] = []
        self.val: list[float] = []
        self.n: list[int] = []
        self.t: list[float] = []
        self.rx: list[float] = []
        self.readings: list[tuple[float, str, str]] = []

    def add(self, t: float, rx: float, src: str, line: str, cis: list[int], vals: list) -> None:
        """One reading: its channels' indices and values (None for no value)."""
        self.readings.append((rx, src, line))
        self.t.append(t)
        self.rx.append(rx)
        self.ch.extend(cis)
        if None in vals:
            vals = [math.nan if v is None else v for v in vals]
        self.val.extend(vals)
        self.n.append(len(cis))

    def add_run(
        self, run: TemplateRun, cis: list[int], src: str, rx: list[float], lines: list[str]
    ) -> None:
        """The readings of a run of template lines (``rx`` and ``lines``: the batch's), a
        whole column at a time."""
        count = run.stop - run.start
        mine = rx[run.start : run.stop]
        self.readings.extend(zip(mine, repeat(src), lines[run.start : run.stop], strict=False))
        self.t.extend(run.times)
        self.rx.extend(mine)
        self.ch.extend(cis * count)
        self.val.extend(run.values)
        self.n.extend([len(cis)] * count)


def parse_run(
    parser: LineParser,
    run: Sequence[Frame],
    prefix: str,
    channel_index: Callable[[str, str], int],
    raw_lines: deque[RawLine],
    all_lines: deque[RawLine],
    rows: _Rows,
) -> None:
    """Parse a run of lines from one source into ``rows``; ``channel_index`` numbers a
    channel (``prefix`` + the name the device printed); what did not parse cleanly goes to
    ``raw_lines``, and the run's last lines of every kind to ``all_lines``."""
    src = run[0].src
    lines = list(map(attrgetter("line"), run))
    if None in lines:
        lines = [x or "" for x in lines]
    rx = list(map(attrgetter("t"), run))
    firsts = list(map(attrgetter("first"), run))
    cuts = list(map(attrgetter("cut"), run))
    parsed = parser.feed_many(
        lines, rx, firsts if any(firsts) else None, cuts if any(cuts) else None
    )
    # Only the run's last lines can be on show: a flood costs no more than the pane holds.
    kinds, errors = parsed.kinds, parsed.errors
    for k in range(max(0, len(run) - (all_lines.maxlen or len(run))), len(run)):
        f = run[k]
        clean = kinds[k] in SHOWN_AS_PARSED and not errors[k]
        all_lines.append(RawLine(f.t, src, lines[k], kinds[k], f.raw, clean))
    # Channel indices per set of names: a device prints the same names line after line.
    cis_of: dict[tuple[str, ...], list[int]] = {}

    def indices(names: tuple[str, ...]) -> list[int]:
        cis = cis_of.get(names)
        if cis is None:
            cis = cis_of[names] = [channel_index(prefix + name, prefix) for name in names]
        return cis

    # Lines in template runs come as columns, and only the lines between them one by one.
    start = 0
    for tr in [*parsed.runs, None]:
        stop = len(run) if tr is None else tr.start
        for k in range(start, stop):
            released = parsed.released.get(k) if parsed.released else None
            # A channel just born: its readings held on probation come first.
            for held, line in released or ():
                cis = [channel_index(prefix + name, prefix) for name in held.values]
                rows.add(held.t, held.t, src, line, cis, list(held.values.values()))
            # The raw-lines pane shows what did not parse cleanly: text, garbage, cut and
            # partial lines, and data lines with a bad field.
            if kinds[k] not in SHOWN_AS_PARSED or errors[k]:
                f = run[k]
                raw_lines.append(RawLine(f.t, src, lines[k], kinds[k], f.raw))
            reading = parsed.readings[k]
            if reading is not None:
                values = reading.values
                cis = indices(tuple(values))
                rows.add(reading.t, rx[k], src, lines[k], cis, list(values.values()))
        if tr is not None:
            rows.add_run(tr, indices(tr.names), src, rx, lines)
            start = tr.stop


class Pipeline:
    """Owns parsers and channel engines; only the scoring worker calls :meth:`process`.

    :meth:`process` parses a batch of frames one line at a time, then hands each channel its
    samples of the batch as arrays (:class:`sensorscope.engine.ChannelEngine`: imputation, fault
    rules, the detector, alert episodes), so the scoring itself runs in numpy over the whole
    batch. Alert ids follow the order of the samples that opened them. Other threads read
    :meth:`snapshot` and send labels and thresholds through methods; none takes a lock.
    Size: a little over 300 lines: the scoring path and those thread-safe doorways, which
    are one-line hand-offs to the state and the feedback queue.
    """

    def __init__(
        self,
        settings: Settings | None = None,
        source_names: Sequence[str] = (),
        on_sample: Callable[[ScoredSample], None] | None = None,
        on_alert: Callable[[Alert, str], None] | None = None,
        on_batch: Callable[[ScoredBatch], None] | None = None,
    ) -> None:
        self.settings = settings = settings or Settings()
        # Build once up front so a bad format or detector fails before any data flows.
        try:
            LineParser("check", settings.fmt)
            Imputer(settings.impute)
        except ValueError as exc:
            raise UserError(str(exc)) from None
        self.factory = factory_for(settings)
        self.default_threshold = (
            self.factory.threshold if settings.threshold is None else settings.threshold
        )
        self.hysteresis = (
            self.factory.hysteresis if settings.hysteresis is None else settings.hysteresis
        )
        if self.hysteresis < 1:
            raise UserError("hysteresis must be at least 1 sample")
        self.multi = several_sources(source_names)
        self.on_sample = on_sample
        self.on_alert = on_alert
        self.on_batch = on_batch
        self.state = State(self.default_threshold)
        self.state.thresholds.update(settings.thresholds)
        # Per channel index: (scale, offset), or None for a channel left as printed; grown
        # as channels are numbered. Empty and unused when nothing is scaled.
        self._scaling = bool(settings.scales or settings.offsets)
        self._gains: list[tuple[float, float] | None] = []
        self.feedback = Feedback()
        self.registry = ChannelRegistry(
            settings, self.factory, self.hysteresis, self.threshold_for,
            self.feedback.labelled_false,
        )  # fmt: skip
        # The joint view of each source's channels (the default scorer's kind only).
        self.joint = (
            JointViews(self.factory.config, self.default_threshold, self.hysteresis, self.multi)
            if settings.joint and self.factory.kind == "scorer"
            else None
        )
        if self.joint is not None:
            self.joint.labelled_false = self.feedback.labelled_false
        self.parsers: dict[str, LineParser] = {}
        self._fixed_parsers: dict[str, tuple[str, list[str] | None, int | None]] = {}
        self._connected: set[str] = set()
        # What the callbacks get, queued under the lock and delivered after it.
        self._outbox: list[tuple[str, Any, Any]] = []

    # What the state holds, for those that read a pipeline they drive themselves.
    @property
    def alerts(self) -> list[Alert]:
        return self.state.alerts

    @property
    def channels(self) -> dict[str, ChannelState]:
        return self.state.channels

    @property
    def counters(self) -> Counters:
        return self.state.counters

    @property
    def raw_lines(self) -> deque[RawLine]:
        return self.state.raw_lines

    def totals(self) -> Counters:
        """The counters, the parsers' included."""
        return self.state.totals(self.parsers.values())

    def use_parser(
        self,
        src: str,
        fmt: str,
        header: list[str] | None = None,
        time_column: int | None = None,
    ) -> None:
        """Parse ``src`` with a fixed format (a CSV file's own header, for one; and its
        time column, when the source sends that column's times as the lines' times)."""
        with self.state.lock:
            self._fixed_parsers[src] = (fmt, header, time_column)
            self.parsers[src] = LineParser(src, fmt, header=header, time_column=time_column)

    # -- labels that act -----------------------------------------------------------------

    def request_feedback(self, alert_id: int, label: str) -> None:
        """A label made in the UI: a false positive is learned by the worker's next batch
        (thread-safe; never waits for scoring). Other labels change nothing here."""
        if label == "false_positive":
            self.feedback.ask("fp", alert_id)

    def request_retract(self, alert_id: int) -> None:
        self.feedback.ask("retract", alert_id)

    def learn_labels(self, labels: Sequence[Label]) -> None:
        """False-positive labels known up front (evaluate's ``--feedback``): each acts when
        an episode it overlaps on its channel closes."""
        with self.state.lock:
            self.feedback.known(labels)

    def show_labels(self, labels: Sequence[Label]) -> None:
        """The labels in force when a monitor starts: snapshots join them to their alerts,
        and their false positives act as :meth:`learn_labels` says, again after a replay
        restarts (with the labels in force then)."""
        with self.state.lock:
            for label in labels:
                self.state.labels.add(label, self.state.alerts)
            self.feedback.known(labels, again=self.state.labels.labels)

    def add_label(self, label: Label) -> None:
        """A label just made (any thread): shown with its alert from the next snapshot on;
        a false positive on an alert teaches its channel at the worker's next batch, another
        label on an alert takes back what an earlier one taught."""
        with self.state.lock:
            self.state.labels.add(label, self.state.alerts)
        if label.alert is not None:
            if label.kind is LabelKind.FALSE_POSITIVE:
                self.request_feedback(label.alert, label.kind.value)
            else:
                self.request_retract(label.alert)

    def retract_label(self, label: Label) -> None:
        """A label undone (any thread): what it taught is taken back."""
        with self.state.lock:
            self.state.labels.retract(label.id, self.state.alerts)
        if label.kind is LabelKind.FALSE_POSITIVE and label.alert:
            self.request_retract(int(label.alert))

    def alert_total(self) -> int:
        """Alerts raised since the start (a replay restart counts again from 0)."""
        return self.state.counters.alerts

    def sample_total(self) -> int:
        """Samples scored since the start, every channel (any thread; a sum per channel)."""
        with self.state.lock:
            return sum(ch.samples for ch in self.state.channels.values())

    def alert(self, alert_id: int) -> Alert | None:
        """A copy of the alert with this id, if there is one (any thread)."""
        return self.state.alert(alert_id)

    @property
    def feedback_applied(self) -> int:
        """False-positive labels that taught a channel so far."""
        return sum(e.feedback_count for e in list(self.registry.engines.values()))

    # -- the batch path ----------------------------------------------------------------------

    def process(self, frames: Sequence[Frame]) -> None:
        """Parse and score a batch of frames (the scoring worker's call).

        The lock is held only while shared state changes (new parsers and channels, channel
        histories, alerts), never while a channel is scored, so a UI taking a snapshot waits
        a moment, not for a whole batch.
        """
        state = self.state
        if self.feedback:
            self.feedback.apply(self.registry, state.alerts, self.threshold_for, self.joint)
        if frames:
            # Where scoring has got to on the receive clock: a replay judges staleness on it,
            # since the reader may be far ahead of scoring.
            state.processed_t = frames[-1].t
        rows = _Rows()
        n = len(frames)
        i = 0
        while i < n:
            frame = frames[i]
            if frame.event is not None:
                if rows.ch:
                    # A reset must not mix samples from before it with those after.
                    self._score(rows)
                    rows = _Rows()
                with state.lock:
                    self._event(frame)
                i += 1
                continue
            # A run of lines from one source goes through its parser in one call.
            src = frame.src
            j = i + 1
            while j < n and frames[j].src == src and frames[j].event is None:
                j += 1
            run = frames[i:j]
            parser = self.parsers.get(src)
            if parser is None:
                with state.lock:
                    parser = self.parsers[src] = LineParser(src, self.settings.fmt)
            prefix = f"{src}/" if self.multi else ""
            parse_run(
                parser, run, prefix, self.registry.index, state.raw_lines, state.all_lines, rows
            )
            i = j
        self._score(rows)
        with state.lock:
            state.version += 1
            out = self._outbox
            self._outbox = []
        self._deliver(out)

    def _deliver(self, out: list[Any]) -> None:
        """Hand batches and alert events to the callbacks, outside the lock."""
        for kind, item, extra in out:
            if kind == "batch":
                if self.on_batch is not None:
                    self.on_batch(item)
                if self.on_sample is not None:
                    for row in item.rows():
                        self.on_sample(row)
            elif self.on_alert is not None:
                self.on_alert(item, extra)

    def _score(self, rows: _Rows) -> None:
        n = len(rows.ch)
        if n == 0:
            return
        ch = np.array(rows.ch, dtype=np.int32)
        raw = np.array(rows.val, dtype=np.float64)
        reading = np.repeat(np.arange(len(rows.n), dtype=np.int32), rows.n)
        t = np.array(rows.t, dtype=np.float64)[reading]
        rx = np.array(rows.rx, dtype=np.float64)[reading]
        names = self.registry.names
        if self._scaling:
            raw = self._scaled(ch, raw, names)
        scored = self.registry.score(ch, raw, t, self.state.channels)
        if self.joint is not None:
            sources = [r[1] for r in rows.readings]
            joint = self.joint.score(sources, reading, ch, raw, t, names, scored.alert)
            scored.events.extend(joint)
        # What a snapshot reads changes in one step per batch: the batch's new channels
        # appear together, with their first samples.
        channels = self.state.channels
        with self.state.lock:
            for name, state, engine, ts, sel, out in scored.done:
                if name not in channels:
                    channels[name] = self.registry.unpublished.pop(name)
                    state.unit = self.unit_of(name)
                state.update(engine, ts, rx[sel], out)
            self._events(scored.events)
            self._outbox.append(
                ("batch", ScoredBatch(list(names), t, ch, scored.value, scored.imputed,
                                      scored.score, scored.alert, reading, rows.readings), None)
            )  # fmt: skip

    def _scaled(self, ch: np.ndarray, raw: np.ndarray, names: list[str]) -> np.ndarray:
        """The batch's values as ``raw * scale + offset`` for the channels given a scale or
        an offset (``--scale``/``--offset``, ``[channels.NAME]``), before anything scores
        them: a threshold, a range and the scores files are then in the user's units."""
        gains = self._gains
        s = self.settings
        for name in names[len(gains) :]:
            scale = for_channel(name, s.scales)
            offset = for_channel(name, s.offsets)
            gains.append(
                None if scale is None and offset is None else (scale or 1.0, offset or 0.0)
            )
        if not any(gains):
            return raw
        out = raw.copy()
        for ci in np.unique(ch).tolist():
            gain = gains[ci]
            if gain is not None:
                sel = ch == ci
                out[sel] = raw[sel] * gain[0] + gain[1]
        return out

    def unit_of(self, channel: str) -> str:
        """The unit a channel is shown in: the user's (``--unit``, ``[channels.NAME]``),
        else the one its device printed on the line the channel was born from."""
        given = for_channel(channel, self.settings.units)
        if given:
            return given
        for src, parser in self.parsers.items():
            prefix = f"{src}/" if self.multi else ""
            if channel.startswith(prefix):
                unit = parser.units.get(channel[len(prefix) :])
                if unit:
                    return unit
        return ""

    def _events(self, events: list[AlertEvent]) -> None:
        """Number the alerts opened and queue every event for the callbacks."""
        for snap, kind in self.state.number(events):
            self._outbox.append(("alert", snap, kind))

    def tick(self, now: float) -> None:
        """A live source's clock moved on: look for channels that fell silent (dropouts).

        ``now`` is wall time. How long a channel has been silent is measured against when its
        last sample was scored, not against the sample's own time stamp, so a device clock
        that is off (or a followed file written long ago) does not make every channel late.
        """
        if self.feedback:
            self.feedback.apply(self.registry, self.state.alerts, self.threshold_for, self.joint)
        events: list[AlertEvent] = []
        for name, engine in list(self.registry.engines.items()):
            st = self.state.channels.get(name)
            if st is None or not st.samples:
                continue
            for _, kind, a, snap in engine.tick(st.last_t + (now - st.seen_wall)):
                events.append((-1, 0 if kind == "open" else 1, kind, a, snap))
                st.in_alert = True
        with self.state.lock:
            if events:
                self._events(events)
                self.state.version += 1
            out = self._outbox
            self._outbox = []
        self._deliver(out)

    def _event(self, frame: Frame) -> None:
        c = self.state.counters
        if frame.event == "reset":
            self._reset()
        elif frame.event == "connect":
            c.connects += 1
            if frame.src in self._connected:
                c.reconnects += 1
            self._connected.add(frame.src)
        elif frame.event == "disconnect":
            c.disconnects += 1
        if frame.event == "tx":
            line = RawLine(frame.t, frame.src, sent_text(frame.raw or b""), "tx", frame.raw)
        else:
            line = RawLine(frame.t, frame.src, f"[{frame.event}] {frame.detail}", "event")
        self.state.raw_lines.append(line)
        self.state.all_lines.append(line)

    def _reset(self) -> None:
        """A replay restarted: forget everything learned, keep the user's thresholds."""
        self.parsers = {
            src: LineParser(src, fmt, header=header, time_column=tc)
            for src, (fmt, header, tc) in self._fixed_parsers.items()
        }
        self.registry.restart()
        if self.joint is not None:
            self.joint.restart()
        self.state.restart()
        self._connected.clear()
        # The labels in force now (those made since the start included) act again.
        self.feedback.restart()

    def finish(self) -> list[Alert]:
        """End of input: close the episodes still open."""
        with self.state.lock:
            events: list[AlertEvent] = []
            closed = []
            for name, engine in self.registry.engines.items():
                for a in engine.finish():
                    closed.append(a)
                    events.append((-1, 1, "close", a, replace(a)))
                st = self.state.channels.get(name)
                if st is not None:  # a channel restored from a state file may not have come
                    st.in_alert = False
            for a in self.joint.finish() if self.joint is not None else []:
                closed.append(a)
                events.append((-1, 1, "close", a, replace(a)))
            self._events(events)
            self.state.version += 1
            out = self._outbox
            self._outbox = []
        self._deliver(out)
        return closed

    # -- the state file ------------------------------------------------------------------

    def saved_channels(self) -> SavedState:
        """What a state file keeps (the scoring worker's call, between batches)."""
        r = self.registry
        joint = dict(self.joint.engines) if self.joint is not None else {}
        return SavedState(dict(r.engines), list(r.names), r.prefixes(), self.state.next_id, joint)

    def restore_channels(self, saved: SavedState) -> None:
        """Go on from a state file, before any data: each channel as it was, its open
        episode too, and alert ids from where they were."""
        with self.state.lock:
            self.registry.restore(saved.engines, saved.names, saved.prefixes)
            if self.joint is not None:
                for engine in saved.joint.values():
                    engine.labelled_false = self.joint.labelled_false
                self.joint.engines.update(saved.joint)
            joint = list(saved.joint.values()) if self.joint is not None else []
            opened = [e.open for e in [*saved.engines.values(), *joint] if e.open is not None]
            self.state.go_on(saved.next_id, [a for a in opened if a.id])

    # -- reading the state ---------------------------------------------------------------

    def threshold_for(self, channel: str) -> float:
        return self.state.threshold_for(channel)

    def channel_names(self) -> list[str]:
        """Every channel numbered so far, in the order first seen (any thread)."""
        return list(self.registry.names)

    def set_thresholds(self) -> dict[str, float]:
        """The thresholds set per channel (the user's, not the default), any thread."""
        with self.state.lock:
            return dict(self.state.thresholds)

    def set_threshold(self, channel: str, threshold: float | None) -> None:
        """Change a channel's threshold (any thread); the scoring worker hands it to the
        channel's detector at its next batch, since nothing else touches detector state."""
        with self.state.lock:
            if threshold is None:
                self.state.thresholds.pop(channel, None)
            else:
                self.state.thresholds[channel] = threshold
        self.feedback.ask("threshold", channel)

    def snapshot(
        self,
        sources: dict[str, SourceStatus] | None = None,
        errors: Sequence[str] = (),
        points: int | None = None,
        detail: str | None = None,
        view: ViewRequest | None = None,
    ) -> Snapshot:
        """Copy the state; histories hold the last ``points`` samples (all for ``detail``)."""
        return self.state.snapshot(self.parsers.values(), sources, errors, points, detail, view)

    def window(self, channel: str, view: ViewRequest) -> HistoryWindow | None:
        """A stretch of a channel's whole history (any thread; never waits for scoring
        longer than a snapshot does)."""
        return self.state.window(channel, view)
