"""The channels a pipeline knows, and the labels and thresholds that act on their detectors.

:class:`ChannelRegistry` numbers the channels, builds each one's
:class:`~sensorscope.engine.ChannelEngine` and runs a batch's samples through them;
:class:`Feedback` queues what other threads ask of the detectors (a false positive to learn,
a label taken back, a threshold) for the scoring worker, and knows the false positives
given up front.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from sensorscope.engine import ChannelEngine
from sensorscope.faults import limits_for
from sensorscope.model import Alert, Label, LabelKind, Settings
from sensorscope.state import AlertEvent, ChannelState, Ring

if TYPE_CHECKING:
    from sensorscope.joint import JointViews


@dataclass
class BatchScores:
    """A batch's samples as the engines scored them, in input order, with the alert events
    and, per channel, what its state takes in."""

    value: np.ndarray
    imputed: np.ndarray
    score: np.ndarray
    alert: np.ndarray
    events: list[AlertEvent] = field(default_factory=list)
    done: list[tuple[str, ChannelState, ChannelEngine, np.ndarray, np.ndarray, Any]] = field(
        default_factory=list
    )


class Feedback:
    """Labels that act on the detectors, and threshold changes: what other threads ask is
    queued and applied by the scoring worker at its next batch (nothing else touches
    detector state); false positives known up front act when an episode they overlap
    closes."""

    def __init__(self) -> None:
        self._asked: deque[tuple[str, Any]] = deque()
        self._spans: dict[str, list[Label]] = {}
        # The labels in force, to act again after a replay restarts (None: the same spans).
        self._again: Callable[[], Sequence[Label]] | None = None

    def ask(self, kind: str, key: Any) -> None:
        self._asked.append((kind, key))

    def __bool__(self) -> bool:
        return bool(self._asked)

    def known(
        self, labels: Sequence[Label], again: Callable[[], Sequence[Label]] | None = None
    ) -> None:
        self._spans = _false_positive_spans(labels)
        self._again = again

    def restart(self) -> None:
        self._asked.clear()
        if self._again is not None:
            self._spans = _false_positive_spans(self._again())

    def apply(
        self,
        registry: ChannelRegistry,
        alerts: Sequence[Alert],
        threshold_for: Callable[[str], float],
        joint: JointViews | None = None,
    ) -> None:
        engines = registry.engines
        while self._asked:
            kind, key = self._asked.popleft()
            if kind == "threshold":
                engine = engines.get(key)
                if engine is not None:
                    engine.threshold = threshold_for(key)
                continue
            alert = next((a for a in reversed(alerts) if a.id == key), None)
            if alert is None:
                continue
            engine = engines.get(alert.channel)
            if engine is None:
                # The joint view's alert: a false positive teaches it; nothing to undo (what
                # was learned stays, as a channel's does).
                view = joint.engine_of(alert) if joint is not None else None
                if view is not None and kind == "fp":
                    view.feedback(alert)
                continue
            if kind == "fp":
                engine.feedback(alert)
            else:
                engine.retract(key)

    def labelled_false(self, alert: Alert) -> bool:
        spans = self._spans.get(alert.channel)
        if not spans:
            return False
        return any(lab.overlaps(alert.start, alert.until) for lab in spans)


class ChannelRegistry:
    """The channels a pipeline knows: their numbers (in the order first seen), their
    engines, and the states of those with no samples published yet."""

    def __init__(
        self,
        settings: Settings,
        factory: Any,
        hysteresis: int,
        threshold_for: Callable[[str], float],
        labelled_false: Callable[[Alert], bool],
    ) -> None:
        self.settings = settings
        self.factory = factory
        self.hysteresis = hysteresis
        self.threshold_for = threshold_for
        self.labelled_false = labelled_false
        self.engines: dict[str, ChannelEngine] = {}
        self.names: list[str] = []
        self._index: dict[str, int] = {}
        self._prefix_of: dict[str, str] = {}
        self.unpublished: dict[str, ChannelState] = {}

    def index(self, channel: str, prefix: str) -> int:
        ci = self._index.get(channel)
        return self._add(channel, prefix) if ci is None else ci

    def _add(self, channel: str, prefix: str = "") -> int:
        ci = self._index[channel] = len(self.names)
        self.names.append(channel)
        self._prefix_of[channel] = prefix
        return ci

    def prefixes(self) -> dict[str, str]:
        return dict(self._prefix_of)

    def restart(self) -> None:
        """Forget what every channel learned; their numbers stay."""
        self.engines.clear()
        self.unpublished.clear()

    def restore(
        self, engines: dict[str, ChannelEngine], names: list[str], prefixes: dict[str, str]
    ) -> None:
        """Take the engines of a state file: each goes on as it was, with this run's
        threshold and labels; channels are numbered in the order they were first seen."""
        for name in names:
            if name not in self._index:
                self._add(name, prefixes.get(name, ""))
        for name, engine in engines.items():
            engine.labelled_false = self.labelled_false
            engine.threshold = self.threshold_for(name)
            self.engines[name] = engine
            state = ChannelState(name, Ring(self.settings.capacity))
            state.warming_up = engine.warming_up
            self.unpublished[name] = state

    def engine(
        self, channel: str, published: dict[str, ChannelState]
    ) -> tuple[ChannelEngine, ChannelState]:
        """The channel's engine and state; a new channel's state is published (put in
        ``published``, which snapshots read) only with its first samples."""
        engine = self.engines.get(channel)
        if engine is None:
            return self._new(channel)
        state = published.get(channel)
        return engine, state if state is not None else self.unpublished[channel]

    def _new(self, channel: str) -> tuple[ChannelEngine, ChannelState]:
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
            labelled_false=self.labelled_false,
        )
        state = self.unpublished[channel] = ChannelState(channel, Ring(s.capacity))
        return engine, state

    def score(
        self, ch: np.ndarray, raw: np.ndarray, t: np.ndarray, published: dict[str, ChannelState]
    ) -> BatchScores:
        """Each channel's samples of a batch through its engine (``ch`` indexes ``names``)."""
        n = len(ch)
        out = BatchScores(
            np.empty(n), np.empty(n, dtype=bool), np.empty(n), np.empty(n, dtype=bool)
        )
        order = np.argsort(ch, kind="stable")
        cuts = np.flatnonzero(np.diff(ch[order])) + 1
        for sel in np.split(order, cuts):
            name = self.names[int(ch[sel[0]])]
            engine, state = self.engine(name, published)
            ts = t[sel]
            got = engine.process(ts, raw[sel])
            out.value[sel] = got.value
            out.imputed[sel] = got.imputed
            out.score[sel] = got.score
            out.alert[sel] = got.alert
            for k, kind, a, snap in got.events:
                out.events.append((int(sel[k]), 0 if kind == "open" else 1, kind, a, snap))
            out.done.append((name, state, engine, ts, sel, got))
        return out


def _false_positive_spans(labels: Sequence[Label]) -> dict[str, list[Label]]:
    spans: dict[str, list[Label]] = {}
    for lab in labels:
        if lab.kind is LabelKind.FALSE_POSITIVE:
            spans.setdefault(lab.channel, []).append(lab)
    return spans
