"""What a pipeline has to show, and the snapshot a UI reads of it.

:class:`State` holds each channel's history (:class:`Ring`) and figures, the alerts, the
counters, the raw lines and the labels in force, behind one lock; :meth:`State.snapshot`
copies them in one place. The labels are joined to the alerts as they come and go
(:class:`AlertLabels`), so a snapshot's alerts carry their labels without comparing every
label with every alert on each tick.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

import numpy as np

from sensorscope.history import HistoryStore
from sensorscope.model import (
    Alert,
    ChannelSnapshot,
    Counters,
    History,
    HistoryWindow,
    Label,
    RawLine,
    Snapshot,
    SourceStatus,
    ViewRequest,
)

if TYPE_CHECKING:
    from sensorscope.engine import ChannelEngine
    from sensorscope.formats import LineParser

RAW_LINES = 500
SNAPSHOT_ALERTS = 1000
#: An alert event as the scoring path queues it: (sample index in the batch, 0 for open
#: and 1 for close, "open" | "close", the live alert, a copy of it as it was then).
AlertEvent = tuple[int, int, str, Alert, Alert]


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

    def ordered(self, last: int | None = None) -> History:
        """Copies of the kept samples (or of the ``last`` ones), oldest first."""
        n = min(self.total, self.capacity, self.capacity if last is None else max(0, last))
        start = self.total - n
        idx = (np.arange(start, self.total) % self.capacity) if n else np.arange(0)
        return History(
            self.t[idx],
            self.value[idx],
            self.score[idx],
            (self.flags[idx] & self.IMPUTED) > 0,
            (self.flags[idx] & self.ALERT) > 0,
        )


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
    unit: str = ""  # set once, when the channel is published
    # Everything since the start, the ring's samples first, older ones in coarser tiers.
    store: HistoryStore = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.store = HistoryStore(self.ring)

    def update(self, engine: ChannelEngine, t: np.ndarray, rx: np.ndarray, out: Any) -> None:
        """Take in a batch of the channel's scored samples (``out``: the engine's)."""
        m = len(t)
        if not self.samples:
            self.first_t = float(t[0])
        dt = np.diff(np.concatenate(([self.last_t], t))) if self.samples else np.diff(t)
        dt = dt[dt > 0]
        if len(dt):
            iv = self.interval
            if iv is None:
                iv, dt = float(dt[0]), dt[1:]
            for d in dt[-64:].tolist():
                iv = 0.9 * iv + 0.1 * d
            self.interval = iv
        self.samples += m
        self.seen_wall = time.time()
        self.imputed += int(out.imputed.sum())
        self.last_t = float(t[-1])
        self.rx_t = float(rx[-1])
        last = float(out.value[-1])
        self.last_value = None if last != last else last
        self.last_score = float(out.score[-1])
        self.in_alert = engine.open is not None or engine.dropout_alert is not None
        self.warming_up = engine.warming_up
        flags = out.imputed.astype(np.uint8) | (out.alert.astype(np.uint8) << 1)
        self.store.extend(t, out.value, out.score, flags)  # the ring, then the tiers


class AlertLabels:
    """The labels in force, and which of them each alert carries.

    An alert carries the newest label that speaks of it (:meth:`Label.covers`: by its id,
    or a span of its channel that overlaps it). A closed alert's is worked out once and
    kept until a label that covers it comes or goes; an open one's (its end still moves) is
    worked out from the few labels of its channel whenever asked.
    """

    def __init__(self) -> None:
        self._labels: dict[str, Label] = {}  # in the order they were made
        self._order: dict[str, int] = {}
        self._made = 0
        self._naming: dict[int, list[Label]] = {}  # alert id -> the labels naming it
        self._spans: dict[str, list[Label]] = {}  # channel -> labels of a span alone
        self._closed: dict[int, str | None] = {}  # closed alert id -> its label

    def labels(self) -> list[Label]:
        return list(self._labels.values())

    def add(self, label: Label, alerts: Iterable[Alert]) -> None:
        self.retract(label.id, alerts)
        self._labels[label.id] = label
        self._order[label.id] = self._made
        self._made += 1
        if label.alert is not None:
            self._naming.setdefault(label.alert, []).append(label)
        else:
            self._spans.setdefault(label.channel, []).append(label)
        self._forget(label, alerts)

    def retract(self, label_id: str, alerts: Iterable[Alert]) -> Label | None:
        label = self._labels.pop(label_id, None)
        if label is None:
            return None
        del self._order[label_id]
        if label.alert is not None:
            self._naming[label.alert].remove(label)
        else:
            self._spans[label.channel].remove(label)
        self._forget(label, alerts)
        return label

    def restart(self) -> None:
        """The alerts are gone (a replay restarted; their ids are given again)."""
        self._closed.clear()

    def kind_of(self, alert: Alert) -> str | None:
        if alert.end is None:
            return self._newest(alert)
        try:
            return self._closed[alert.id]
        except KeyError:
            kind = self._closed[alert.id] = self._newest(alert)
            return kind

    def _forget(self, label: Label, alerts: Iterable[Alert]) -> None:
        """Drop what is known of the closed alerts ``label`` covers (a label act: rare)."""
        for a in alerts:
            if a.id in self._closed and label.covers(a):
                del self._closed[a.id]

    def _newest(self, alert: Alert) -> str | None:
        found: Label | None = None
        for lab in (*self._naming.get(alert.id, ()), *self._spans.get(alert.channel, ())):
            if lab.covers(alert) and (found is None or self._order[lab.id] > self._order[found.id]):
                found = lab
        return found.kind.value if found is not None else None


class State:
    """Everything a snapshot copies, guarded by ``lock``; the scoring path writes it."""

    def __init__(self, default_threshold: float) -> None:
        self.default_threshold = default_threshold
        self.lock = threading.Lock()
        self.version = 0
        self.channels: dict[str, ChannelState] = {}
        self.thresholds: dict[str, float] = {}
        self.alerts: list[Alert] = []
        self.counters = Counters()
        self.raw_lines: deque[RawLine] = deque(maxlen=RAW_LINES)
        # Every kind of line, apart: a flood of data lines must not push out the garbage.
        self.all_lines: deque[RawLine] = deque(maxlen=RAW_LINES)
        self.processed_t: float | None = None
        self.labels = AlertLabels()
        self._next_id = 1

    def threshold_for(self, channel: str) -> float:
        return self.thresholds.get(channel, self.default_threshold)

    def alert(self, alert_id: int) -> Alert | None:
        """A copy of the alert with this id, if there is one (any thread)."""
        with self.lock:
            found = next((a for a in reversed(self.alerts) if a.id == alert_id), None)
            return None if found is None else replace(found)

    def number(self, events: list[AlertEvent]) -> list[tuple[Alert, str]]:
        """Number the episodes opened, in the order of the samples that opened them; each
        event with the alert as it was at that moment (under ``lock``)."""
        events.sort(key=lambda e: (e[0], e[1]))
        out = []
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
            out.append((snap, kind))
        return out

    @property
    def next_id(self) -> int:
        return self._next_id

    def go_on(self, next_id: int, still_open: Sequence[Alert]) -> None:
        """Restored from a state file: ids go on from ``next_id``; the episodes still open
        then are this run's alerts too (they close in it)."""
        self._next_id = max(self._next_id, next_id)
        self.alerts.extend(still_open)

    def restart(self) -> None:
        """A replay restarted: forget what was seen; the thresholds and labels stay."""
        self.channels.clear()
        self.alerts = []
        self.counters = Counters()
        self.raw_lines.clear()
        self.all_lines.clear()
        self.labels.restart()
        # A replay from the start numbers its alerts as before, so labels keep their alerts.
        self._next_id = 1

    def window(self, channel: str, view: ViewRequest) -> HistoryWindow | None:
        """``view``'s stretch of the channel's history (any thread; O(points + log))."""
        with self.lock:
            ch = self.channels.get(channel)
            return None if ch is None else ch.store.window(view)

    def totals(self, parsers: Iterable[LineParser]) -> Counters:
        c = replace(self.counters)
        for p in parsers:
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
        parsers: Iterable[LineParser],
        sources: dict[str, SourceStatus] | None = None,
        errors: Sequence[str] = (),
        points: int | None = None,
        detail: str | None = None,
        view: ViewRequest | None = None,
    ) -> Snapshot:
        """Copy the state; histories hold the last ``points`` samples (all for ``detail``,
        and ``view``'s stretch of its whole history, if asked)."""
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
                    unit=ch.unit,
                    view=ch.store.window(view) if view is not None and name == detail else None,
                )
                for name, ch in self.channels.items()
            }
            kind_of = self.labels.kind_of
            return Snapshot(
                version=self.version,
                counters=self.totals(parsers),
                channels=channels,
                # A long session piles up alerts; a UI shows the newest, and copying every
                # one on every tick would make each tick slower than the last.
                alerts=[replace(a, label=kind_of(a)) for a in self.alerts[-SNAPSHOT_ALERTS:]],
                raw_lines=list(self.raw_lines),
                all_lines=list(self.all_lines),
                sources={k: replace(v) for k, v in (sources or {}).items()},
                errors=list(errors),
                done=False,
                labels=self.labels.labels(),
                processed_t=self.processed_t,
            )
