"""The agent: the watch pipeline, headless, publishing to an MQTT broker.

:class:`Agent` runs sources through the same :class:`~sensorscope.runner.Runner` and
:class:`~sensorscope.pipeline.Pipeline` as ``watch`` and hands every scored reading, alert episode
and source event to an :class:`AgentPublisher`, which sends them from its own thread under
the topic layout described in :mod:`sensorscope.mqtt`.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from sensorscope.model import Frame
from sensorscope.mqtt import (
    BACKOFF_MAX,
    BACKOFF_START,
    HOST,
    MESSAGE_VERSION,
    WINDOW,
    BrokerUrl,
    Connection,
    MqttOptions,
    agent_topic,
    finite,
    reading_bounds,
)
from sensorscope.sources.base import Source
from sensorscope.sources.open import several_sources

if TYPE_CHECKING:
    from sensorscope.hooks import AlertHooks
    from sensorscope.model import Alert, ScoredBatch, Settings
    from sensorscope.recording import RecordingWriter

DEFAULT_BUFFER = 10000
Message = tuple[str, bytes, str]  # topic, payload, kind (reading, alert, event)
# How long a stopping agent keeps trying to deliver what it has buffered.
DRAIN_TIMEOUT = 10.0


@dataclass
class _Chunk:
    """The readings of one scored batch still to publish, with their sequence numbers."""

    batch: ScoredBatch
    seqs: list[int]
    next: int = 0
    bounds: list[int] | None = None
    cols: tuple[list, ...] = field(default_factory=tuple)


@dataclass
class PublisherCounters:
    readings: int = 0  # acknowledged by the broker (QoS 1) or written to it (QoS 0)
    dropped: int = 0  # pushed out of a full buffer
    alerts: int = 0  # alert messages acknowledged


class AgentPublisher:
    """Publishes an agent's readings, alerts and source events from a thread of its own.

    The pipeline's callbacks only append to buffers. Readings wait in a buffer of at most
    ``bound`` readings while the broker is away; when it is full the oldest are dropped
    and counted (a watch sees the gap in the sequence numbers). Alerts and events are never
    dropped: they wait, however long, and go before readings. Whatever a lost connection
    had not acknowledged is sent again after the reconnect (a watch drops the repeats).
    """

    def __init__(
        self,
        conn: Connection,
        prefix: str,
        names: Sequence[str],
        multi: bool,
        qos: int = 1,
        bound: int = DEFAULT_BUFFER,
        log: Callable[[str], None] | None = None,
    ) -> None:
        self.conn = conn
        self.prefix = prefix
        self.names = list(names)
        self.multi = multi
        self.qos = qos
        self.bound = max(1, bound)
        self.log = log
        self.run = uuid.uuid4().hex[:12]
        self.counters = PublisherCounters()
        self._lock = threading.Lock()
        self._chunks: deque[_Chunk] = deque()
        self._buffered = 0
        self._seq: dict[str, int] = {}
        # Built messages, (topic, payload, kind): alerts and events first, then readings
        # to send again; and what the current connection was handed, by (generation, mid).
        self._urgent: deque[Message] = deque()
        self._retry: deque[Message] = deque()
        self._inflight: dict[tuple[int, int], Message] = {}
        self._sent_readings = 0  # readings among them, kept apart for other threads to read
        self._early: set[tuple[int, int]] = set()
        self._acks: deque[tuple[int, int]] = deque()
        self._notes: deque[str] = deque()
        self._said_full = False
        self._lost = threading.Event()
        self._wake = threading.Event()
        self._closing = threading.Event()
        self._abort = threading.Event()
        self._thread = threading.Thread(target=self._run, name="mqtt-publish", daemon=True)
        conn.publish_listeners.append(self._acked)
        conn.listeners.append(self._on_state)

    def start(self) -> None:
        self._thread.start()

    # -- called by the pipeline and the readers (never block) -------------------------------

    def on_batch(self, batch: ScoredBatch) -> None:
        if not batch.readings:
            return
        seq = self._seq
        seqs = []
        for _, src, _ in batch.readings:
            n = seq.get(src, 0) + 1
            seq[src] = n
            seqs.append(n)
        with self._lock:
            self._chunks.append(_Chunk(batch, seqs))
            self._buffered += len(seqs)
            over = self._buffered + len(self._retry) - self.bound
            while over > 0 and self._chunks:
                c = self._chunks[0]
                k = min(len(c.seqs) - c.next, over)
                c.next += k
                over -= k
                self._buffered -= k
                self.counters.dropped += k
                if c.next >= len(c.seqs):
                    self._chunks.popleft()
                if not self._said_full:
                    self._said_full = True
                    self._notes.append(f"buffer full ({self.bound} readings): dropping the oldest")
        self._wake.set()

    def on_alert(self, alert: Alert, event: str) -> None:
        from sensorscope.hooks import alert_payload

        src = self.source_of(alert.channel)
        payload = alert_payload(alert, event, source=src)
        if self.multi and alert.channel.startswith(src + "/"):
            payload["channel"] = alert.channel[len(src) + 1 :]
        body = json.dumps(payload, separators=(",", ":")).encode()
        self._urgent.append((agent_topic(self.prefix, src, "alert"), body, "alert"))
        why = f" ({alert.reason})" if alert.reason else ""
        self._notes.append(
            f"alert #{alert.id} {event}: {alert.channel} peak {alert.peak_score:.3f}{why}"
        )
        self._wake.set()

    def on_frames(self, frames: Sequence[Frame]) -> None:
        """Source events (a board unplugged, plugged back) go out as event messages."""
        for f in frames:
            if f.event in ("connect", "disconnect"):
                self.send_event(f.src, f.event, f.detail, f.t)

    def send_event(self, src: str, event: str, detail: str, t: float | None = None) -> None:
        msg = {"sensorscope": MESSAGE_VERSION, "type": "event", "src": src, "event": event,
               "t": time.time() if t is None else t, "detail": detail, "host": HOST}  # fmt: skip
        body = json.dumps(msg, separators=(",", ":")).encode()
        self._urgent.append((agent_topic(self.prefix, src, "event"), body, "event"))
        self._wake.set()

    def source_of(self, channel: str) -> str:
        if not self.multi:
            return self.names[0] if self.names else channel
        for name in self.names:
            if channel.startswith(name + "/"):
                return name
        return channel.rsplit("/", 1)[0]

    # -- state -------------------------------------------------------------------------------

    @property
    def buffered(self) -> int:
        """Readings not yet acknowledged by the broker."""
        return self._buffered + len(self._retry) + self._sent_readings

    @property
    def waiting_alerts(self) -> int:
        """Alert messages not yet acknowledged (read it once the publisher has stopped)."""
        left = list(self._urgent) + list(self._inflight.values())
        return sum(kind == "alert" for _, _, kind in left)

    def idle(self) -> bool:
        return not (self._buffered or self._retry or self._urgent or self._inflight)

    def close(self, timeout: float) -> bool:
        """Send what is buffered (for up to ``timeout`` s), then stop; True if all went."""
        self._closing.set()
        self._wake.set()
        self._thread.join(timeout)
        self._abort.set()
        self._wake.set()
        self._thread.join(1.0)
        return self.idle()

    # -- the publishing thread -----------------------------------------------------------

    def _acked(self, generation: int, mid: int) -> None:
        self._acks.append((generation, mid))
        self._wake.set()

    def _on_state(self, event: str, detail: str) -> None:
        if event == "disconnect":
            self._lost.set()
            self._notes.append(
                f"{detail}; buffering up to {self.bound} readings, reconnecting every "
                f"{BACKOFF_START:g} to {BACKOFF_MAX:g} s"
            )
        elif detail == "reconnected":
            self._said_full = False
            self._notes.append(
                f"reconnected to {self.conn.url.broker}; {self.buffered} readings to send, "
                f"{self.counters.dropped} dropped so far"
            )
        self._wake.set()

    def _run(self) -> None:
        while not self._abort.is_set():
            self._wake.wait(0.1)
            self._wake.clear()
            self._log_notes()
            self._take_acks()
            if self._lost.is_set():
                self._lost.clear()
                self._take_back()
            if self._closing.is_set() and self.idle():
                break
            if not self.conn.up.is_set() or self.conn.reconnecting_recently:
                continue
            self._send(self._urgent)
            self._send_readings()
        self._log_notes()

    def _log_notes(self) -> None:
        while self._notes:
            note = self._notes.popleft()
            if self.log is not None:
                self.log(note)

    def _take_acks(self) -> None:
        acks = self._acks
        while acks:
            key = acks.popleft()
            item = self._inflight.pop(key, None)
            if item is None:
                self._early.add(key)
            else:
                self._sent_readings -= item[2] == "reading"
                self._count(item[2])

    def _take_back(self) -> None:
        """The connection is gone, and with it what it was handed: send that again."""
        alerts = [m for m in self._inflight.values() if m[2] != "reading"]
        readings = [m for m in self._inflight.values() if m[2] == "reading"]
        self._urgent.extendleft(reversed(alerts))
        self._retry.extendleft(reversed(readings))
        self._inflight.clear()
        self._sent_readings = 0
        self._early.clear()

    def _count(self, kind: str) -> None:
        c = self.counters
        if kind == "reading":
            c.readings += 1
        elif kind == "alert":
            c.alerts += 1

    def _hand_over(self, item: Message) -> bool:
        topic, payload, kind = item
        gen, mid, rc = self.conn.publish(topic, payload, self.qos if kind == "reading" else 1)
        if rc != 0:
            return False
        key = (gen, mid)
        if key in self._early:
            self._early.discard(key)
            self._count(kind)
        else:
            self._inflight[key] = item
            self._sent_readings += kind == "reading"
        return True

    def _send(self, messages: deque[Message]) -> bool:
        while messages:
            if not self._hand_over(messages[0]):
                return False
            messages.popleft()
        return True

    def _send_readings(self) -> None:
        while len(self._inflight) < WINDOW and not self._abort.is_set():
            if self._retry:
                if not self._hand_over(self._retry[0]):
                    return
                self._retry.popleft()
                continue
            with self._lock:
                if not self._chunks:
                    return
                c = self._chunks[0]
                j = c.next
                c.next += 1
                self._buffered -= 1
                if c.next >= len(c.seqs):
                    self._chunks.popleft()
            item = self._reading_message(c, j)
            if not self._hand_over(item):
                self._retry.appendleft(item)
                return

    def _reading_message(self, c: _Chunk, j: int) -> tuple[str, bytes, str]:
        b = c.batch
        if c.bounds is None:
            c.bounds = reading_bounds(b.reading, len(b.readings))
            c.cols = (b.t.tolist(), b.channel.tolist(), b.value.tolist(), b.imputed.tolist(),
                      b.score.tolist(), b.alert.tolist())  # fmt: skip
        t_col, ch_col, v_col, imp_col, s_col, a_col = c.cols
        lo, hi = c.bounds[j], c.bounds[j + 1]
        rx_t, src, line = b.readings[j]
        cut = len(src) + 1 if self.multi else 0
        names = b.names
        channels = {}
        for k in range(lo, hi):
            name = names[ch_col[k]]
            v = v_col[k]
            channels[name[cut:] if cut and name.startswith(src + "/") else name] = {
                "value": finite(v),
                "imputed": imp_col[k],
                "score": round(s_col[k], 6),
                "alert": a_col[k],
            }
        msg = {"sensorscope": MESSAGE_VERSION, "type": "reading", "run": self.run,
               "seq": c.seqs[j], "src": src, "rx_t": rx_t, "t": t_col[lo] if hi > lo else rx_t,
               "line": line, "channels": channels}  # fmt: skip
        body = json.dumps(msg, separators=(",", ":"), allow_nan=False).encode()
        return agent_topic(self.prefix, src, "reading"), body, "reading"


class FrameTap:
    """Stands where the Runner expects a recorder: records (if asked) and hands the source
    events among the frames to the publisher. Called by the reader threads."""

    def __init__(
        self, recorder: RecordingWriter | None, on_frames: Callable[[Sequence[Frame]], None]
    ) -> None:
        self.recorder = recorder
        self.on_frames = on_frames
        self._closed = False

    def write(self, frames: Sequence[Frame]) -> None:
        if self.recorder is not None:
            self.recorder.write(frames)
        if any(f.event is not None for f in frames):
            self.on_frames(frames)

    def close(self) -> None:
        if self.recorder is not None and not self._closed:
            self._closed = True
            self.recorder.close()


class Agent:
    """Sources -> pipeline -> broker (and alert hooks), headless."""

    def __init__(
        self,
        sources: Sequence[Source],
        settings: Settings,
        url: BrokerUrl,
        options: MqttOptions | None = None,
        *,
        qos: int = 1,
        buffer: int = DEFAULT_BUFFER,
        recorder: RecordingWriter | None = None,
        hooks: AlertHooks | None = None,
        log: Callable[[str], None] | None = None,
        state: str | None = None,
    ) -> None:
        from sensorscope.pipeline import Pipeline
        from sensorscope.runner import Runner
        from sensorscope.state_file import StateFile

        self.sources = list(sources)
        self.names = [n for s in self.sources for n in s.names]
        self.url = url
        self.hooks = hooks
        self.log = log
        self.conn = Connection(url, options, "agent")
        self.publisher = AgentPublisher(
            self.conn, url.path, self.names, several_sources(self.names), qos, buffer, log
        )
        self.pipeline = Pipeline(
            settings, self.names, on_alert=self._on_alert, on_batch=self.publisher.on_batch
        )
        self.tap = FrameTap(recorder, self.publisher.on_frames)
        # The detectors' state (--state): restored before any data, saved by the scoring
        # worker every minute and when the agent stops; ``state_notice`` says why not used.
        self.state_file = None if state is None else StateFile(state, settings)
        self.state_notice = None if self.state_file is None else self.state_file.load(self.pipeline)
        self.runner = Runner(self.sources, self.pipeline, self.tap, state_file=self.state_file)
        self._stopped = False

    def _on_alert(self, alert: Alert, event: str) -> None:
        self.publisher.on_alert(alert, event)
        if self.hooks is not None:
            self.hooks.on_alert(alert, event)

    def topics(self) -> list[str]:
        return [agent_topic(self.url.path, n, "{reading,alert,event}") for n in self.names]

    def start(self) -> None:
        """Connect (UserError if the broker cannot be reached or refuses us), then run."""
        self.conn.start()
        try:
            self.publisher.start()
            if self.hooks is not None:
                self.hooks.start()
            self.runner.start()
        except BaseException:
            self.stop(drain=0.0)
            raise

    def stop(self, drain: float = DRAIN_TIMEOUT) -> bool:
        """Stop reading; deliver what is buffered for up to ``drain`` s. True if all went."""
        if self._stopped:
            return self.publisher.idle()
        self._stopped = True
        self.runner.stop()
        self.tap.close()
        if self.conn.up.is_set() or drain > 0:
            for name in self.names:
                self.publisher.send_event(name, "disconnect", "agent stopped")
        delivered = self.publisher.close(drain)
        self.conn.stop()
        if self.hooks is not None:
            self.hooks.close()
        return delivered

    def summary(self) -> list[str]:
        p = self.publisher
        c = p.counters
        lines = [
            f"{c.readings} readings published, {c.dropped} dropped from a full buffer, "
            f"{p.buffered} not delivered; {c.alerts} alert messages; "
            f"{max(0, self.conn.connects - 1)} reconnects"
        ]
        if p.waiting_alerts:
            lines.append(f"{p.waiting_alerts} alert messages NOT delivered (broker unreachable)")
        if self.hooks is not None:
            lines += self.hooks.summary()
        return lines
