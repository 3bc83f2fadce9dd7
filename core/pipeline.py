"""The data path: frames -> parse -> impute -> score -> alerts -> State.

:class:`Pipeline` is the synchronous heart, driven one batch of frames at a time and owning
every parser, imputer and detector. :class:`Runner` puts it in worker threads: one reader
thread per live source (file replays share one, in order), a recorder written by the
readers so recording never waits on scoring, and one scoring worker. A UI polls
:meth:`State.snapshot` on a timer; it never receives a message per sample.
"""

from __future__ import annotations

import math
import queue
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from sensorscope.detect import factory_for
from sensorscope.engine import ChannelEngine, limits_for
from sensorscope.errors import UserError
from sensorscope.formats import LineParser
from sensorscope.impute import Imputer
from sensorscope.model import (
    Alert,
    ChannelSnapshot,
    Counters,
    Frame,
    ScoredBatch,
    ScoredSample,
    Settings,
    Snapshot,
    SourceStatus,
)
from sensorscope.recording import RecordingWriter
from sensorscope.sources.base import READ_TIMEOUT, Source
from sensorscope.sources.open import several_sources

RAW_LINES = 500
SNAPSHOT_ALERTS = 1000
SHOWN_AS_PARSED = frozenset({"data", "empty", "header"})
# Batches queued at most from sources that can wait (files, stdin): their reader waits
# for room, so a fast file or pipe cannot pile up in memory ahead of the scorer (a pipe
# then holds its writer back). Serial ports and brokers never wait: what they are not
# read in time is lost, so their batches are queued whatever the backlog.
MAX_QUEUED_BATCHES = 32
# What a port or broker may have waiting for the scorer, in lines, before it is past
# keeping up: beyond it a batch is recorded but not scored, and counted, so that memory
# stays bounded when scoring cannot keep up for good (~100 MB of lines).
MAX_LIVE_BACKLOG = 500_000
_NOTHING, _ROOM, _BACKLOG = 0, 1, 2
# With a UI attached, the scorer pauses POLITE_PAUSE after each POLITE_WORK seconds of
# scoring (in proportion after shorter stretches).
POLITE_WORK = 0.025
POLITE_PAUSE = 0.015
# Frames scored in one call at most, when batches have queued up.
MERGE_FRAMES = 16384
# How often live sources are checked for channels that fell silent (s).
TICK = 0.25


class Ring:
    """Fixed-capacity history of one channel, in numpy arrays (oldest overwritten)."""

    __slots__ = ("capacity", "t", "value", "score", "flags", "total")

    IMPUTED = 1
    ALERT = 2

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self.t = np.zeros(capacity)
        self.value = np.full(capacity, np.nan)
        self.score = np.zeros(capacity)
        self.flags = np.zeros(capacity, dtype=np.uint8)
        self.total = 0

    def extend(
        self, t: np.ndarray, value: np.ndarray, score: np.ndarray, flags: np.ndarray
    ) -> None:
        """Append many samples at once (NaN values: none)."""
        n = len(t)
        if n > self.capacity:
            t, value, score, flags = t[-self.capacity :], value[-self.capacity :], (
                score[-self.capacity :]), flags[-self.capacity :]  # fmt: skip
            self.total += n - self.capacity
            n = self.capacity
        idx = (self.total + np.arange(n)) % self.capacity
        self.t[idx] = t
        self.value[idx] = value
        self.score[idx] = score
        self.flags[idx] = flags
        self.total += n

    def ordered(self, last: int | None = None) -> dict[str, np.ndarray]:
        """Copies of the kept samples (or of the ``last`` ones), oldest first."""
        n = min(self.total, self.capacity, self.capacity if last is None else max(0, last))
        start = self.total - n
        idx = (np.arange(start, self.total) % self.capacity) if n else np.arange(0)
        return {
            "t": self.t[idx],
            "value": self.value[idx],
            "score": self.score[idx],
            "imputed": (self.flags[idx] & self.IMPUTED) > 0,
            "alert": (self.flags[idx] & self.ALERT) > 0,
        }


@dataclass
class ChannelState:
    name: str
    ring: Ring
    samples: int = 0
    imputed: int = 0
    alerts: int = 0
    first_t: float = 0.0
    last_t: float = 0.0
    rx_t: float = 0.0  # receive time of the last sample (data time may be the device's)
    last_value: float | None = None
    last_score: float = 0.0
    in_alert: bool = False
    warming_up: bool = True
    interval: float | None = None  # smoothed time between samples, for "stale"
    seen_wall: float = 0.0  # wall time when the last sample was scored


class Pipeline:
    """Owns parsers and channel engines; not thread-safe by itself (callers take ``lock``).

    :meth:`process` parses a batch of frames one line at a time, then hands each channel its
    samples of the batch as arrays (:class:`sensorscope.engine.ChannelEngine`: imputation, fault
    rules, the detector, alert episodes), so the scoring itself runs in numpy over the whole
    batch. Alert ids follow the order of the samples that opened them.
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
        self.parsers: dict[str, LineParser] = {}
        self._fixed_parsers: dict[str, tuple[str, list[str] | None]] = {}
        self.engines: dict[str, ChannelEngine] = {}
        self.channels: dict[str, ChannelState] = {}
        self.thresholds: dict[str, float] = {}
        self.alerts: list[Alert] = []
        self.counters = Counters()
        self.raw_lines: deque[tuple[float, str, str, str]] = deque(maxlen=RAW_LINES)
        self._connected: set[str] = set()
        self.lock = threading.Lock()
        self.version = 0
        self.processed_t: float | None = None
        self._names: list[str] = []
        self._index: dict[str, int] = {}
        self._prefix_of: dict[str, str] = {}
        self._unpublished: dict[str, ChannelState] = {}
        self._next_id = 1
        # Labels that act on the detector: requests from a UI (applied by the worker at its
        # next batch) and labels given up front, applied when their episode closes.
        self._requests: deque[tuple[str, int]] = deque()
        self._label_spans: dict[str, list[tuple[float, float]]] = {}
        self.labels_provider: Callable[[], Sequence[dict[str, Any]]] | None = None
        # What the callbacks get, queued under the lock and delivered after it.
        self._outbox: list[tuple[str, Any, Any]] = []

    def use_parser(self, src: str, fmt: str, header: list[str] | None = None) -> None:
        """Parse ``src`` with a fixed format (a CSV file's own header, for one)."""
        with self.lock:
            self._fixed_parsers[src] = (fmt, header)
            self.parsers[src] = LineParser(src, fmt, header=header)

    # -- labels that act -----------------------------------------------------------------

    def request_feedback(self, alert_id: int, label: str) -> None:
        """A label made in the UI: a false positive is learned by the worker's next batch
        (thread-safe; never waits for scoring). Other labels change nothing here."""
        if label == "false_positive":
            self._requests.append(("fp", alert_id))

    def request_retract(self, alert_id: int) -> None:
        self._requests.append(("retract", alert_id))

    def learn_labels(
        self,
        labels: Sequence[dict[str, Any]],
        provider: Callable[[], Sequence[dict[str, Any]]] | None = None,
    ) -> None:
        """False-positive labels known up front (a labels file beside a replay, or evaluate's
        ``--feedback``): each acts when an episode it overlaps on its channel closes.
        ``provider`` gives the labels in force again when a replay restarts."""
        with self.lock:
            self._label_spans = _false_positive_spans(labels)
            self.labels_provider = provider

    def _apply_requests(self) -> None:
        while self._requests:
            kind, alert_id = self._requests.popleft()
            if kind == "threshold":
                engine = self.engines.get(alert_id)
                if engine is not None:
                    engine.threshold = self.threshold_for(alert_id)
                continue
            alert = next((a for a in reversed(self.alerts) if a.id == alert_id), None)
            if alert is None:
                continue
            engine = self.engines.get(alert.channel)
            if engine is None:
                continue
            if kind == "fp":
                engine.feedback(alert)
            else:
                engine.retract(alert_id)

    @property
    def feedback_applied(self) -> int:
        """False-positive labels that taught a channel so far."""
        return sum(e.feedback_count for e in list(self.engines.values()))

    def _labelled_false(self, alert: Alert) -> bool:
        spans = self._label_spans.get(alert.channel)
        if not spans:
            return False
        end = alert.until
        return any(a <= end and b >= alert.start for a, b in spans)

    # -- the batch path ----------------------------------------------------------------------

    def process(self, frames: Sequence[Frame]) -> None:
        """Parse and score a batch of frames (the scoring worker's call).

        The lock is held only while shared state changes (new parsers and channels, channel
        histories, alerts), never while a channel is scored, so a UI taking a snapshot waits
        a moment, not for a whole batch.
        """
        if self._requests:
            self._apply_requests()
        if frames:
            # Where scoring has got to on the receive clock: a replay judges staleness on it,
            # since the reader may be far ahead of scoring.
            self.processed_t = frames[-1].t
        prefix_multi = self.multi
        rows_ch: list[int] = []
        rows_val: list[float] = []
        read_n: list[int] = []
        read_t: list[float] = []
        read_rx: list[float] = []
        readings: list[tuple[float, str, str]] = []
        raw_lines = self.raw_lines
        nan = math.nan
        n = len(frames)
        i = 0
        while i < n:
            frame = frames[i]
            if frame.event is not None:
                if rows_ch:
                    # A reset must not mix samples from before it with those after.
                    self._score(rows_ch, rows_val, read_n, read_t, read_rx, readings)
                    rows_ch, rows_val, read_n = [], [], []
                    read_t, read_rx, readings = [], [], []
                with self.lock:
                    self._event(frame)
                i += 1
                continue
            # A run of lines from one source goes through its parser in one call.
            src = frame.src
            j = i + 1
            while j < n and frames[j].src == src and frames[j].event is None:
                j += 1
            run = frames[i:j]
            i = j
            parser = self.parsers.get(src)
            if parser is None:
                with self.lock:
                    parser = self.parsers[src] = LineParser(src, self.settings.fmt)
            lines = [f.line or "" for f in run]
            firsts = [f.first for f in run]
            cuts = [f.cut for f in run]
            parsed = parser.feed_many(
                lines,
                [f.t for f in run],
                firsts if any(firsts) else None,
                cuts if any(cuts) else None,
            )
            prefix = f"{src}/" if prefix_multi else ""
            # Channel indices per set of names: a device prints the same names line after line.
            cis_of: dict[tuple[str, ...], list[int]] = {}
            released = parsed.released
            for k, reading in enumerate(parsed.readings):
                if released and k in released:
                    # A channel just born: its readings held on probation come first.
                    for held, line in released[k]:
                        readings.append((held.t, src, line))
                        read_t.append(held.t)
                        read_rx.append(held.t)
                        cis = [self._channel_index(prefix + name, prefix) for name in held.values]
                        rows_ch.extend(cis)
                        rows_val.extend(held.values.values())
                        read_n.append(len(cis))
                # The raw-lines pane shows what did not parse cleanly: text, garbage, cut and
                # partial lines, and data lines with a bad field.
                kind = parsed.kinds[k]
                if kind not in SHOWN_AS_PARSED or parsed.errors[k]:
                    f = run[k]
                    raw_lines.append((f.t, src, lines[k], kind))
                if reading is None:
                    continue
                rx = run[k].t
                readings.append((rx, src, lines[k]))
                read_t.append(reading.t)
                read_rx.append(rx)
                values = reading.values
                names = tuple(values)
                cis = cis_of.get(names)
                if cis is None:
                    cis = [self._channel_index(prefix + name, prefix) for name in names]
                    cis_of[names] = cis
                rows_ch.extend(cis)
                vals = list(values.values())
                if None in vals:
                    vals = [nan if v is None else v for v in vals]
                rows_val.extend(vals)
                read_n.append(len(cis))
        self._score(rows_ch, rows_val, read_n, read_t, read_rx, readings)
        with self.lock:
            self.version += 1
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

    def _channel_index(self, channel: str, prefix: str) -> int:
        ci = self._index.get(channel)
        return self._add_channel(channel, prefix) if ci is None else ci

    def _add_channel(self, channel: str, prefix: str = "") -> int:
        ci = self._index[channel] = len(self._names)
        self._names.append(channel)
        self._prefix_of[channel] = prefix
        return ci

    def _engine(self, channel: str) -> tuple[ChannelEngine, ChannelState]:
        """The channel's engine and state; a new channel's state is published (put in
        ``channels``, which snapshots read) only with its first samples."""
        engine = self.engines.get(channel)
        if engine is None:
            return self._new_engine(channel)
        state = self.channels.get(channel)
        return engine, state if state is not None else self._unpublished[channel]

    def _new_engine(self, channel: str) -> tuple[ChannelEngine, ChannelState]:
        s = self.settings
        thr = self.threshold_for(channel)
        # Counted within the channel's source, so that a board's detectors (their seeds)
        # are those it gets alone, whichever other boards are watched and whenever they
        # appear: a watch of a fleet then scores each board as its agent does.
        prefix = self._prefix_of.get(channel, "")
        index = sum(self._prefix_of.get(name, "") == prefix for name in self.engines)
        engine = self.engines[channel] = ChannelEngine(
            channel,
            self.factory(index, thr),
            threshold=thr,
            hysteresis=self.hysteresis,
            impute=s.impute,
            limits=limits_for(channel, s.limits),
            sentinels=s.sentinels,
            dropout=s.dropout,
            learn_in_alerts=s.learn_in_alerts,
            hold=s.hold,
            labelled_false=self._labelled_false,
        )
        state = self._unpublished[channel] = ChannelState(channel, Ring(s.capacity))
        return engine, state

    def _score(
        self, rows_ch: list[int], rows_val: list[float], read_n: list[int],
        read_t: list[float], read_rx: list[float], readings: list[tuple[float, str, str]],
    ) -> None:  # fmt: skip
        n = len(rows_ch)
        if n == 0:
            return
        ch = np.array(rows_ch, dtype=np.int32)
        raw = np.array(rows_val, dtype=np.float64)
        reading = np.repeat(np.arange(len(read_n), dtype=np.int32), read_n)
        t = np.array(read_t, dtype=np.float64)[reading]
        rx = np.array(read_rx, dtype=np.float64)[reading]
        value = np.empty(n)
        imputed = np.empty(n, dtype=bool)
        score = np.empty(n)
        alert = np.empty(n, dtype=bool)
        events: list[tuple[int, int, str, Alert, Alert]] = []
        order = np.argsort(ch, kind="stable")
        cuts = np.flatnonzero(np.diff(ch[order])) + 1
        groups = np.split(order, cuts)
        done = []
        for sel in groups:
            name = self._names[int(ch[sel[0]])]
            engine, state = self._engine(name)
            ts = t[sel]
            out = engine.process(ts, raw[sel])
            value[sel] = out.value
            imputed[sel] = out.imputed
            score[sel] = out.score
            alert[sel] = out.alert
            for k, kind, a, snap in out.events:
                events.append((int(sel[k]), 0 if kind == "open" else 1, kind, a, snap))
            done.append((name, state, engine, ts, sel, out))
        # What a snapshot reads changes in one step per batch: the batch's new channels
        # appear together, with their first samples.
        with self.lock:
            for name, state, engine, ts, sel, out in done:
                if name not in self.channels:
                    self.channels[name] = self._unpublished.pop(name)
                self._update_state(state, engine, ts, rx[sel], out)
            self._events(events)
            self._outbox.append(
                ("batch", ScoredBatch(list(self._names), t, ch, value, imputed, score, alert,
                                      reading, readings), None)
            )  # fmt: skip

    def _update_state(
        self, state: ChannelState, engine: ChannelEngine, t: np.ndarray, rx: np.ndarray, out: Any
    ) -> None:
        m = len(t)
        if not state.samples:
            state.first_t = float(t[0])
        dt = np.diff(np.concatenate(([state.last_t], t))) if state.samples else np.diff(t)
        dt = dt[dt > 0]
        if len(dt):
            iv = state.interval
            if iv is None:
                iv, dt = float(dt[0]), dt[1:]
            for d in dt[-64:].tolist():
                iv = 0.9 * iv + 0.1 * d
            state.interval = iv
        state.samples += m
        state.seen_wall = time.time()
        state.imputed += int(out.imputed.sum())
        state.last_t = float(t[-1])
        state.rx_t = float(rx[-1])
        last = float(out.value[-1])
        state.last_value = None if last != last else last
        state.last_score = float(out.score[-1])
        state.in_alert = engine.open is not None or engine.dropout_alert is not None
        state.warming_up = engine.warming_up
        flags = out.imputed.astype(np.uint8) | (out.alert.astype(np.uint8) << 1)
        state.ring.extend(t, out.value, out.score, flags)

    def _events(self, events: list[tuple[int, int, str, Alert, Alert]]) -> None:
        """Number the episodes opened, in the order of the samples that opened them, and
        queue every event for the callbacks (each with the alert as it was at that moment)."""
        events.sort(key=lambda e: (e[0], e[1]))
        for _, _, kind, a, snap in events:
            if kind == "open":
                a.id = self._next_id
                self._next_id += 1
                self.alerts.append(a)
                self.counters.alerts += 1
                st = self.channels.get(a.channel)
                if st is not None:
                    st.alerts += 1
            snap.id = a.id
            self._outbox.append(("alert", snap, kind))

    def tick(self, now: float) -> None:
        """A live source's clock moved on: look for channels that fell silent (dropouts).

        ``now`` is wall time. How long a channel has been silent is measured against when its
        last sample was scored, not against the sample's own time stamp, so a device clock
        that is off (or a followed file written long ago) does not make every channel late.
        """
        if self._requests:
            self._apply_requests()
        events: list[tuple[int, int, str, Alert, Alert]] = []
        for name, engine in list(self.engines.items()):
            st = self.channels[name]
            if not st.samples:
                continue
            for _, kind, a, snap in engine.tick(st.last_t + (now - st.seen_wall)):
                events.append((-1, 0 if kind == "open" else 1, kind, a, snap))
                st.in_alert = True
        with self.lock:
            if events:
                self._events(events)
                self.version += 1
            out = self._outbox
            self._outbox = []
        self._deliver(out)

    def _event(self, frame: Frame) -> None:
        c = self.counters
        if frame.event == "reset":
            self._reset()
        elif frame.event == "connect":
            c.connects += 1
            if frame.src in self._connected:
                c.reconnects += 1
            self._connected.add(frame.src)
        elif frame.event == "disconnect":
            c.disconnects += 1
        self.raw_lines.append((frame.t, frame.src, f"[{frame.event}] {frame.detail}", "event"))

    def _reset(self) -> None:
        """A replay restarted: forget everything learned, keep the user's thresholds."""
        self.parsers = {
            src: LineParser(src, fmt, header=header)
            for src, (fmt, header) in self._fixed_parsers.items()
        }
        self.engines.clear()
        self.channels.clear()
        self._unpublished.clear()
        self.alerts = []
        self.counters = Counters()
        self.raw_lines.clear()
        self._connected.clear()
        self._requests.clear()
        # A replay from the start numbers its alerts as before, so labels keep their alerts;
        # the labels in force now (those made since the start included) act again.
        self._next_id = 1
        if self.labels_provider is not None:
            self._label_spans = _false_positive_spans(self.labels_provider())

    def finish(self) -> list[Alert]:
        """End of input: close the episodes still open."""
        with self.lock:
            events: list[tuple[int, int, str, Alert, Alert]] = []
            closed = []
            for name, engine in self.engines.items():
                for a in engine.finish():
                    closed.append(a)
                    events.append((-1, 1, "close", a, replace(a)))
                self.channels[name].in_alert = False
            self._events(events)
            self.version += 1
            out = self._outbox
            self._outbox = []
        self._deliver(out)
        return closed

    # -- reading the state ---------------------------------------------------------------

    def threshold_for(self, channel: str) -> float:
        return self.thresholds.get(channel, self.default_threshold)

    def set_threshold(self, channel: str, threshold: float | None) -> None:
        """Change a channel's threshold (any thread); the scoring worker hands it to the
        channel's detector at its next batch, since nothing else touches detector state."""
        with self.lock:
            if threshold is None:
                self.thresholds.pop(channel, None)
            else:
                self.thresholds[channel] = threshold
        self._requests.append(("threshold", channel))

    def totals(self) -> Counters:
        c = replace(self.counters)
        for p in self.parsers.values():
            pc = p.counters
            c.lines += pc.lines
            c.parsed += pc.data
            c.parse_errors += pc.field_errors
            c.garbage += pc.garbage
            c.text += pc.text
            c.partial += pc.partial
            c.overlong += pc.overlong
            c.empty += pc.empty
            c.headers += pc.header
            c.ghosts += pc.ghosts
        c.samples = sum(ch.samples for ch in self.channels.values())
        c.imputed = sum(ch.imputed for ch in self.channels.values())
        return c

    def snapshot(
        self,
        sources: dict[str, SourceStatus] | None = None,
        errors: Sequence[str] = (),
        points: int | None = None,
        detail: str | None = None,
    ) -> Snapshot:
        """Copy the state; histories hold the last ``points`` samples (all for ``detail``)."""
        with self.lock:
            channels = {
                name: ChannelSnapshot(
                    name=name,
                    samples=ch.samples,
                    imputed=ch.imputed,
                    alerts=ch.alerts,
                    first_t=ch.first_t,
                    last_t=ch.last_t,
                    last_value=ch.last_value,
                    last_score=ch.last_score,
                    threshold=self.threshold_for(name),
                    in_alert=ch.in_alert,
                    warming_up=ch.warming_up,
                    interval=ch.interval,
                    history=ch.ring.ordered(None if name == detail else points),
                    rx_t=ch.rx_t,
                )
                for name, ch in self.channels.items()
            }
            return Snapshot(
                version=self.version,
                counters=self.totals(),
                channels=channels,
                # A long session piles up alerts; a UI shows the newest, and copying every
                # one on every tick would make each tick slower than the last.
                alerts=[replace(a) for a in self.alerts[-SNAPSHOT_ALERTS:]],
                raw_lines=list(self.raw_lines),
                sources={k: replace(v) for k, v in (sources or {}).items()},
                errors=list(errors),
                done=False,
                processed_t=self.processed_t,
            )


def _false_positive_spans(labels: Sequence[dict[str, Any]]) -> dict[str, list[tuple[float, float]]]:
    spans: dict[str, list[tuple[float, float]]] = {}
    for lab in labels:
        if lab.get("label") == "false_positive":
            spans.setdefault(str(lab["channel"]), []).append(
                (float(lab["start"]), float(lab["end"]))
            )
    return spans


class Runner:
    """Runs sources and a pipeline in threads until the sources end or stop() is called."""

    def __init__(
        self,
        sources: Sequence[Source],
        pipeline: Pipeline | None,
        recorder: RecordingWriter | None = None,
        live_backlog: int = MAX_LIVE_BACKLOG,
    ) -> None:
        self.sources = list(sources)
        self.live_backlog = live_backlog
        self._live_queued = 0
        self.pipeline = pipeline
        self.recorder = recorder
        self.stop_event = threading.Event()
        self.errors: list[str] = []
        # Each batch with what it holds while queued (_ROOM, _BACKLOG or _NOTHING).
        self._queue: queue.Queue[tuple[list[Frame], int] | None] = queue.Queue()
        self._room = threading.BoundedSemaphore(MAX_QUEUED_BATCHES)
        self._threads: list[threading.Thread] = []
        self._readers_left = 0
        self._left_lock = threading.Lock()
        self._batches_in = 0
        self._batches_done = 0
        # Set by an interactive monitor: scoring then leaves the UI room to run.
        self.share_with_ui = False
        self._worker: threading.Thread | None = None
        self.done = threading.Event()

    def start(self) -> None:
        """Open every source (raising UserError for the first that cannot), then run."""
        for src in self.sources:
            src.open()
            if self.pipeline is not None and src.parser_args is not None:
                self.pipeline.use_parser(src.name, **src.parser_args)
        # Files replayed as fast as possible run one after another in one thread, so their
        # output keeps input order; anything paced in time runs in a thread of its own.
        files = [s for s in self.sources if not s.live and s.pacer.speed is None]
        live = [s for s in self.sources if s not in files]
        if files and not live and self.pipeline is not None:
            # Only files, as fast as they go: the scoring worker reads them itself. Nothing
            # can be lost by waiting, and a reader thread would only take turns with it for
            # the GIL (reading is a tenth of the work).
            self._readers_left = 1
            self._worker = threading.Thread(
                target=self._work_inline, args=(files,), name="score", daemon=True
            )
            self._worker.start()
            return
        groups: list[list[Source]] = [[s] for s in live] + ([files] if files else [])
        self._readers_left = len(groups)
        for group in groups:
            th = threading.Thread(
                target=self._read, args=(group,), name=f"read-{group[0].name}", daemon=True
            )
            self._threads.append(th)
        self._worker = threading.Thread(target=self._work, name="score", daemon=True)
        self._worker.start()
        for th in self._threads:
            th.start()
        if not groups:
            self._queue.put(None)

    def _work_inline(self, files: list[Source]) -> None:
        """Read the files and score what they give, in this one thread."""
        assert self.pipeline is not None
        try:
            for _src, batch in self._batches_of(files):
                with self._left_lock:
                    self._batches_in += 1
                started = time.monotonic()
                self.pipeline.process(batch)
                if self.share_with_ui:
                    self._step_aside(time.monotonic() - started)
                self._batches_done += 1
        except UserError as exc:
            self.errors.append(str(exc))
        except Exception as exc:  # noqa: BLE001 - kept as data, shown by the caller
            self.errors.append(f"scoring stopped: {type(exc).__name__}: {exc}")
            self.stop_event.set()
        finally:
            for src in files:
                src.close()
            with self._left_lock:
                self._readers_left = 0
            self.pipeline.finish()
            self.done.set()

    def _batches_of(self, sources: list[Source]) -> Iterator[tuple[Source, list[Frame]]]:
        """Each source's batches in turn, until they end or ``stop`` is set."""
        stop = self.stop_event
        for src in sources:
            for batch in src.batches(stop):
                yield src, batch
                if stop.is_set():
                    return

    def _read(self, group: list[Source]) -> None:
        try:
            for src, batch in self._batches_of(group):
                if self.recorder is not None:
                    self.recorder.write(batch)
                # What the batch holds while queued: a room slot, or its lines of the
                # live backlog.
                held = _ROOM if src.can_wait and self._wait_for_room() else _NOTHING
                with self._left_lock:
                    if not src.can_wait:
                        if self._live_queued + len(batch) > self.live_backlog:
                            src.status.unscored += len(batch)
                            continue
                        self._live_queued += len(batch)
                        held = _BACKLOG
                    self._batches_in += 1
                self._queue.put((batch, held))
        except UserError as exc:
            self.errors.append(str(exc))
        except Exception as exc:  # noqa: BLE001 - a reader must report, not vanish silently
            self.errors.append(f"{group[0].name}: {type(exc).__name__}: {exc}")
        finally:
            for src in group:
                src.close()
            with self._left_lock:
                self._readers_left -= 1
                last = self._readers_left == 0
            if last:
                self._queue.put(None)

    def _wait_for_room(self) -> bool:
        """Wait until the queue has room for one more batch of a source that can wait;
        False if stopped first (what was read is queued anyway, to be scored)."""
        while not self._room.acquire(timeout=READ_TIMEOUT):
            if self.stop_event.is_set():
                return False
        return True

    def _take(self, item: tuple[list[Frame], int] | None) -> list[Frame] | None:
        """A batch out of the queue; the room it held is free again."""
        if item is None:
            return None
        batch, held = item
        if held == _ROOM:
            self._room.release()
        elif held == _BACKLOG:
            with self._left_lock:
                self._live_queued -= len(batch)
        return batch

    def _work(self) -> None:
        live = any(s.live for s in self.sources)
        next_tick = time.monotonic() + TICK
        try:
            while True:
                try:
                    batch = self._take(self._queue.get(timeout=0.2))
                except queue.Empty:
                    if self.stop_event.is_set() and self._readers_left == 0:
                        break
                    batch = []
                end = batch is None
                batches = 0 if end or not batch else 1
                frames = [] if end else list(batch)
                # Everything queued meanwhile goes in the same call: scoring costs little per
                # sample and more per call, so a backlog is cleared in a few big steps.
                while not end and len(frames) < MERGE_FRAMES:
                    try:
                        more = self._take(self._queue.get_nowait())
                    except queue.Empty:
                        break
                    if more is None:
                        end = True
                        break
                    frames.extend(more)
                    batches += 1
                if frames and self.pipeline is not None:
                    started = time.monotonic()
                    self.pipeline.process(frames)
                    if self.share_with_ui:
                        self._step_aside(time.monotonic() - started)
                self._batches_done += batches
                if live and self.pipeline is not None and time.monotonic() >= next_tick:
                    self.pipeline.tick(time.time())
                    next_tick = time.monotonic() + TICK
                if end:
                    break
        except Exception as exc:  # noqa: BLE001 - kept as data, shown by the caller
            self.errors.append(f"scoring stopped: {type(exc).__name__}: {exc}")
            self.stop_event.set()
        finally:
            if self.pipeline is not None:
                self.pipeline.finish()
            self.done.set()

    def _step_aside(self, spent: float) -> None:
        """After a stretch of scoring, give a UI thread uncontested time for the GIL.

        Scoring holds the GIL most of the time it runs; a UI thread that gives the GIL up at
        every wait would get it back too rarely to draw or answer a key. What is not scored
        yet waits in the queue; nothing is lost.
        """
        if spent >= POLITE_WORK:
            time.sleep(POLITE_PAUSE)
        elif spent >= 0.002:
            time.sleep(spent * POLITE_PAUSE / POLITE_WORK)

    def wait(self, timeout: float | None = None) -> bool:
        """Wait for the end of all input; True if it ended (False on timeout)."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while not self.done.is_set():
            left = 0.2 if deadline is None else min(0.2, deadline - time.monotonic())
            if left <= 0:
                return False
            self.done.wait(left)
        return True

    def stop(self, timeout: float = 5.0) -> None:
        """Stop reading; what was already read is still scored and recorded."""
        self.stop_event.set()
        for th in self._threads:
            th.join(timeout)
        if self._worker is not None:
            self._worker.join(timeout)
        if self.recorder is not None:
            self.recorder.close()

    def idle(self) -> bool:
        """True when every batch read so far has been scored."""
        with self._left_lock:
            return self._batches_in == self._batches_done

    def statuses(self) -> dict[str, SourceStatus]:
        return {s.name: s.status for s in self.sources}

    def snapshot(self, points: int | None = None, detail: str | None = None) -> Snapshot:
        assert self.pipeline is not None, "a recorder-only runner has no state to show"
        snap = self.pipeline.snapshot(self.statuses(), self.errors, points, detail)
        snap.done = self.done.is_set()
        return snap
