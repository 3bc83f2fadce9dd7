"""The data path: frames -> parse -> impute -> score -> alerts -> State.

:class:`Pipeline` is the synchronous heart, driven one batch of frames at a time and owning
every parser, imputer and detector. :class:`Runner` puts it in worker threads: one reader
thread per live source (file replays share one, in order), a recorder written by the
readers so recording never waits on scoring, and one scoring worker. A UI polls
:meth:`State.snapshot` on a timer; it never receives a message per sample.
"""

from __future__ import annotations

import queue
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from core.alerts import DEFAULT_HYSTERESIS, Alert, AlertTracker
from core.detect import (
    DEFAULT_DETECTOR,
    DEFAULT_FEATURES,
    DEFAULT_THRESHOLD,
    DEFAULT_WARMUP,
    ChannelDetector,
    detector_factory,
)
from core.errors import UserError
from core.impute import Imputer
from core.parse import LineParser, Reading
from core.recording import RecordingWriter
from core.sources import Frame, Source, SourceStatus, several_sources

DEFAULT_CAPACITY = 4096
RAW_LINES = 500
SNAPSHOT_ALERTS = 1000
SHOWN_AS_PARSED = frozenset({"data", "empty", "header"})
# A file replay waits while this many batches are queued, so a fast file cannot pile up
# in memory ahead of the scorer; live sources never wait (their bytes would be lost).
MAX_QUEUED_FILE_BATCHES = 32
# With a UI attached, the scorer works at most POLITE_WORK seconds at a stretch, then
# pauses POLITE_PAUSE (checked every POLITE_SLICE frames).
POLITE_WORK = 0.025
POLITE_PAUSE = 0.015
POLITE_SLICE = 8


@dataclass
class Settings:
    """Everything that shapes detection; the CLI fills it from options."""

    fmt: str = "auto"
    detector: str = DEFAULT_DETECTOR
    params: dict[str, Any] = field(default_factory=dict)
    features: tuple[str, ...] = DEFAULT_FEATURES
    threshold: float = DEFAULT_THRESHOLD
    hysteresis: int = DEFAULT_HYSTERESIS
    warmup: int = DEFAULT_WARMUP
    impute: str = "mean"
    seed: int | None = 42
    capacity: int = DEFAULT_CAPACITY


@dataclass(slots=True)
class ScoredSample:
    t: float
    channel: str
    value: float | None
    imputed: bool
    score: float
    alert: bool


@dataclass(slots=True)
class ScoredBatch:
    """Every channel sample one :meth:`Pipeline.process` call scored, in input order.

    One row per channel sample, as columns. ``channel`` indexes ``names`` (every channel
    the pipeline knows, in the order it first saw them); ``reading`` indexes ``readings``,
    the ``(receive time, source, raw line)`` of each reading the rows came from, so a
    consumer can publish a reading with its line, values and scores together.
    """

    names: list[str]
    t: np.ndarray  # float64: the reading's time (device time if it printed one)
    channel: np.ndarray  # int32 index into names
    value: np.ndarray  # float64; NaN where a channel has no value to impute from yet
    imputed: np.ndarray  # bool
    score: np.ndarray  # float64 in [0, 1]
    alert: np.ndarray  # bool: an alert episode is open on the channel
    reading: np.ndarray  # int32 index into readings
    readings: list[tuple[float, str, str]]

    def __len__(self) -> int:
        return len(self.t)

    def rows(self) -> Iterator[ScoredSample]:
        """The rows as :class:`ScoredSample` objects (slow; for tests and small batches)."""
        names = self.names
        for t, c, v, i, s, a in zip(
            self.t.tolist(), self.channel.tolist(), self.value.tolist(),
            self.imputed.tolist(), self.score.tolist(), self.alert.tolist(), strict=True,
        ):  # fmt: skip
            yield ScoredSample(t, names[c], None if v != v else v, i, s, a)

    @staticmethod
    def empty(names: list[str]) -> ScoredBatch:
        f, b, i = np.zeros(0), np.zeros(0, dtype=bool), np.zeros(0, dtype=np.int32)
        return ScoredBatch(names, f, i, f, b, f, b, i, [])


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

    def append(self, t: float, value: float | None, score: float, flags: int) -> None:
        i = self.total % self.capacity
        self.t[i] = t
        self.value[i] = np.nan if value is None else value
        self.score[i] = score
        self.flags[i] = flags
        self.total += 1

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


@dataclass
class Counters:
    lines: int = 0
    parsed: int = 0
    parse_errors: int = 0
    garbage: int = 0
    text: int = 0
    partial: int = 0
    overlong: int = 0
    empty: int = 0
    headers: int = 0
    samples: int = 0
    imputed: int = 0
    connects: int = 0
    disconnects: int = 0
    reconnects: int = 0
    alerts: int = 0


@dataclass
class ChannelSnapshot:
    name: str
    samples: int
    imputed: int
    alerts: int
    first_t: float
    last_t: float
    last_value: float | None
    last_score: float
    threshold: float
    in_alert: bool
    warming_up: bool
    interval: float | None
    history: dict[str, np.ndarray]
    rx_t: float = 0.0


@dataclass
class ReplayState:
    position: float
    t: float | None
    speed: float | None
    paused: bool
    done: bool


@dataclass
class Snapshot:
    """A consistent copy of the state, safe to read from any thread."""

    version: int
    counters: Counters
    channels: dict[str, ChannelSnapshot]
    alerts: list[Alert]
    raw_lines: list[tuple[float, str, str, str]]
    sources: dict[str, SourceStatus]
    errors: list[str]
    done: bool
    replay: ReplayState | None = None
    labels: list[dict[str, Any]] = field(default_factory=list)
    lines_per_s: float = 0.0
    data_t: float | None = None
    # "Now" on the receive clock: wall time when a live source is watched, the replay's
    # position otherwise. Staleness is judged on it, so it shows even when every channel
    # of a live board falls silent (data time stops then too).
    clock: float | None = None


class Pipeline:
    """Owns parsers, imputers, detectors and alert episodes; not thread-safe by itself."""

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
        except ValueError as exc:
            raise UserError(str(exc)) from None
        self._make = detector_factory(settings.detector, settings.params, settings.seed)
        ChannelDetector(self._make, 0, settings.warmup, settings.features)
        Imputer(settings.impute)
        self.multi = several_sources(source_names)
        self.on_sample = on_sample
        self.on_alert = on_alert
        self.on_batch = on_batch
        self._names: list[str] = []
        self._index: dict[str, int] = {}
        self._rows: list[tuple[float, int, float, bool, float, bool, int]] = []
        self._readings: list[tuple[float, str, str]] = []
        self.parsers: dict[str, LineParser] = {}
        self._fixed_parsers: dict[str, tuple[str, list[str] | None]] = {}
        self.imputers: dict[str, Imputer] = {}
        self.detectors: dict[str, ChannelDetector] = {}
        self.channels: dict[str, ChannelState] = {}
        self.tracker = AlertTracker(settings.threshold, settings.hysteresis)
        self.alerts: list[Alert] = []
        self.counters = Counters()
        self.raw_lines: deque[tuple[float, str, str, str]] = deque(maxlen=RAW_LINES)
        self._connected: set[str] = set()
        self.lock = threading.Lock()
        self.version = 0

    def use_parser(self, src: str, fmt: str, header: list[str] | None = None) -> None:
        """Parse ``src`` with a fixed format (a CSV file's own header, for one)."""
        with self.lock:
            self._fixed_parsers[src] = (fmt, header)
            self.parsers[src] = LineParser(src, fmt, header=header)

    # -- the per-frame path -------------------------------------------------------------

    def process(self, frames: Sequence[Frame]) -> None:
        with self.lock:
            for frame in frames:
                if frame.event is not None:
                    self._event(frame)
                    continue
                parser = self.parsers.get(frame.src)
                if parser is None:
                    parser = self.parsers[frame.src] = LineParser(frame.src, self.settings.fmt)
                reading = parser.feed(frame.line or "", frame.t, first=frame.first, cut=frame.cut)
                kind = parser.last_kind
                # The raw-lines pane shows what did not parse cleanly: text, garbage, cut and
                # partial lines, and data lines with a bad field.
                if kind not in SHOWN_AS_PARSED or parser.last_errors:
                    self.raw_lines.append((frame.t, frame.src, frame.line or "", kind))
                if reading is not None:
                    self._readings.append((frame.t, frame.src, frame.line or ""))
                    self._reading(reading, frame.t)
            self.version += 1
            batch = self._take_batch() if self._rows else None
        if batch is not None:
            if self.on_batch is not None:
                self.on_batch(batch)
            if self.on_sample is not None:
                for row in batch.rows():
                    self.on_sample(row)

    def _take_batch(self) -> ScoredBatch:
        rows, self._rows = self._rows, []
        readings, self._readings = self._readings, []
        t, ch, value, imputed, score, alert, reading = zip(*rows, strict=True)
        return ScoredBatch(
            names=list(self._names),
            t=np.array(t, dtype=np.float64),
            channel=np.array(ch, dtype=np.int32),
            value=np.array(value, dtype=np.float64),
            imputed=np.array(imputed, dtype=bool),
            score=np.array(score, dtype=np.float64),
            alert=np.array(alert, dtype=bool),
            reading=np.array(reading, dtype=np.int32),
            readings=readings,
        )

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

    def _reading(self, reading: Reading, rx_t: float) -> None:
        prefix = f"{reading.source}/" if self.multi else ""
        t = reading.t
        for name, raw_value in reading.values.items():
            channel = prefix + name
            state = self.channels.get(channel)
            if state is None:
                state = self._new_channel(channel, prefix)
            value, imputed = self.imputers[channel].fill(raw_value)
            det = self.detectors[channel]
            score = det.score(value, learn=not imputed) if value is not None else 0.0
            in_alert, opened, closed = self.tracker.update(
                channel, t, value or 0.0, score, det.reason
            )
            if opened is not None:
                state.alerts += 1
                self.counters.alerts += 1
                self.alerts.append(opened)
                if self.on_alert is not None:
                    self.on_alert(opened, "open")
            if closed is not None and self.on_alert is not None:
                self.on_alert(closed, "close")
            if state.samples and t > state.last_t:
                dt = t - state.last_t
                state.interval = dt if state.interval is None else 0.9 * state.interval + 0.1 * dt
            if not state.samples:
                state.first_t = t
            state.samples += 1
            state.imputed += imputed
            state.last_t = t
            state.rx_t = rx_t
            state.last_value = value
            state.last_score = score
            state.in_alert = in_alert
            state.warming_up = det.warming_up
            state.ring.append(t, value, score, imputed | (in_alert << 1))
            self._rows.append(
                (t, self._index[channel], np.nan if value is None else value, imputed, score,
                 in_alert, len(self._readings) - 1)
            )  # fmt: skip

    def _reset(self) -> None:
        """A replay restarted: forget everything learned, keep the user's thresholds."""
        self.parsers = {
            src: LineParser(src, fmt, header=header)
            for src, (fmt, header) in self._fixed_parsers.items()
        }
        self.imputers.clear()
        self.detectors.clear()
        self.channels.clear()
        thresholds = self.tracker.thresholds
        self.tracker = AlertTracker(self.settings.threshold, self.settings.hysteresis)
        self.tracker.thresholds = thresholds
        self.alerts = []
        self.counters = Counters()
        self.raw_lines.clear()
        self._connected.clear()

    def _new_channel(self, channel: str, prefix: str = "") -> ChannelState:
        s = self.settings
        # Counted within the channel's source, so that a board's detectors (their seeds) are
        # those it gets alone, whichever other boards are watched and whenever they appear:
        # a watch of a fleet then scores each board as its agent does.
        index = sum(name.startswith(prefix) for name in self.channels)
        self.imputers[channel] = Imputer(s.impute)
        self.detectors[channel] = ChannelDetector(self._make, index, s.warmup, s.features)
        state = self.channels[channel] = ChannelState(channel, Ring(s.capacity))
        if channel not in self._index:
            self._index[channel] = len(self._names)
            self._names.append(channel)
        return state

    def finish(self) -> list[Alert]:
        """End of input: close the episodes still open."""
        with self.lock:
            closed = self.tracker.close_all()
            if self.on_alert is not None:
                for alert in closed:
                    self.on_alert(alert, "close")
            self.version += 1
            return closed

    # -- reading the state ---------------------------------------------------------------

    def set_threshold(self, channel: str, threshold: float | None) -> None:
        with self.lock:
            if threshold is None:
                self.tracker.thresholds.pop(channel, None)
            else:
                self.tracker.thresholds[channel] = threshold

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
                    threshold=self.tracker.threshold_for(name),
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
            )


class Runner:
    """Runs sources and a pipeline in threads until the sources end or stop() is called."""

    def __init__(
        self,
        sources: Sequence[Source],
        pipeline: Pipeline | None,
        recorder: RecordingWriter | None = None,
    ) -> None:
        self.sources = list(sources)
        self.pipeline = pipeline
        self.recorder = recorder
        self.stop_event = threading.Event()
        self.errors: list[str] = []
        self._queue: queue.Queue[list[Frame] | None] = queue.Queue()
        self._threads: list[threading.Thread] = []
        self._readers_left = 0
        self._left_lock = threading.Lock()
        self._batches_in = 0
        self._batches_done = 0
        # Set by an interactive monitor: scoring then leaves the UI room to run.
        self.share_with_ui = False
        self._work_since = time.monotonic()
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

    def _read(self, group: list[Source]) -> None:
        stop = self.stop_event
        try:
            for src in group:
                for batch in src.batches(stop):
                    if self.recorder is not None:
                        self.recorder.write(batch)
                    if not src.live:
                        while self._queue.qsize() > MAX_QUEUED_FILE_BATCHES and not stop.is_set():
                            stop.wait(0.005)
                    with self._left_lock:
                        self._batches_in += 1
                    self._queue.put(batch)
                    if stop.is_set():
                        break
                if stop.is_set():
                    break
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

    def _work(self) -> None:
        try:
            while True:
                try:
                    batch = self._queue.get(timeout=0.2)
                except queue.Empty:
                    if self.stop_event.is_set() and self._readers_left == 0:
                        break
                    continue
                if batch is None:
                    break
                if self.pipeline is not None:
                    if self.share_with_ui:
                        self._process_politely(batch)
                    else:
                        self.pipeline.process(batch)
                self._batches_done += 1
        except Exception as exc:  # noqa: BLE001 - kept as data, shown by the caller
            self.errors.append(f"scoring stopped: {type(exc).__name__}: {exc}")
            self.stop_event.set()
        finally:
            if self.pipeline is not None:
                self.pipeline.finish()
            self.done.set()

    def _process_politely(self, batch: list[Frame]) -> None:
        """Score in slices, stepping aside now and then so a UI thread gets the GIL.

        Scoring is pure Python: under a flood it would hold the GIL nearly always, and a
        UI thread that gives the GIL up at every wait would get it back too rarely to draw
        or answer a key. Pausing briefly after each stretch of work gives the UI whole
        uncontested windows; what is not scored yet waits in the queue, nothing is lost.
        """
        assert self.pipeline is not None
        for i in range(0, len(batch), POLITE_SLICE):
            self.pipeline.process(batch[i : i + POLITE_SLICE])
            now = time.monotonic()
            if now - self._work_since >= POLITE_WORK:
                time.sleep(POLITE_PAUSE)
                self._work_since = time.monotonic()

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
