"""One channel's path after parsing: impute -> fault rules -> scorer -> alert episodes.

A :class:`ChannelEngine` takes a channel's samples of one batch as arrays and returns, per
sample, the value (imputed where missing), the score, the alert flag and the reason code, plus
the alert episodes that opened and closed. Everything a channel learns lives here, in its
model (a :class:`sensorscope.detect.base.ChannelModel`: the default scorer, or any river
detector) and in the parts it is made of: the fault rules and dropouts
(:mod:`sensorscope.faults`), the episode rule (:mod:`sensorscope.episodes`) and what
false-positive labels taught (:mod:`sensorscope.feedback`). Only the pipeline's scoring worker
calls it.

Samples inside an open alert episode are not learned (river's ``AnomalyFilter`` idea), so an
anomaly does not teach the model that it is normal. The engine scores ahead assuming the
episode state stays as it is, and where it changes (an episode opens or closes) goes back to
a checkpoint and scores again up to that sample with the right learning flags. A checkpoint
is a copy of the model's state, a few tens of kilobytes. An episode that starts like a
labelled false positive is followed quietly (see :mod:`sensorscope.feedback`): it keeps the
episode open while its values stay away from the level, and is announced only when it goes
beyond that false positive's shape. An episode also stays open while the channel is away from
what it was like outside alerts (:mod:`sensorscope.detect.reference`), so a fault that lasts
minutes stays alerted though the views have learned it, until a false-positive label on it or
``ScorerConfig.lasting_limit`` of the channel's time makes it the new normal.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import NamedTuple

import numpy as np

from sensorscope.detect.base import ChannelModel, Scored
from sensorscope.detect.config import ScorerConfig
from sensorscope.detect.reference import LastingReference
from sensorscope.episodes import Change, EpisodeRule, Event, event
from sensorscope.escalation import Escalation
from sensorscope.faults import Dropouts, FaultRules
from sensorscope.feedback import FalsePositiveMemory, OpenEpisode, learn_late
from sensorscope.impute import Imputer
from sensorscope.model import (
    DEFAULT_DROPOUT,
    DEFAULT_HOLD,
    DEFAULT_SENTINELS,
    Alert,
    Reason,
    reason_text,
)

__all__ = [
    "ChannelEngine",
    "EngineOut",
]

# Score ahead this many samples at most; after an episode changed state, twice the distance.
CHUNK_MAX = 8192
CHUNK_MIN = 256

_STATISTICAL = (Reason.HST, Reason.FORECAST, Reason.DAILY, Reason.WEEKLY)


class EngineOut(NamedTuple):
    value: np.ndarray  # float64, imputed where missing (NaN: nothing to impute from yet)
    imputed: np.ndarray  # bool
    score: np.ndarray  # float64 in [0, 1]
    alert: np.ndarray  # bool: an episode is open on the channel at this sample
    why: np.ndarray  # int8 reason code
    #: (sample index in the batch, "open"|"close", the alert, a copy as it was then)
    events: list[Event]


class ChannelEngine:
    """One channel: imputation, the fault rules (:mod:`sensorscope.faults`), the model, alert
    episodes (:mod:`sensorscope.episodes`) and false-positive memory
    (:mod:`sensorscope.feedback`). Not thread-safe: the pipeline's scoring worker is its only
    caller.

    Size: a little over 300 lines: the batch path and the episode state it moves through are
    one loop (what each part decides lives in its own module: the lasting reference's in
    :mod:`sensorscope.detect.reference`).
    """

    def __init__(
        self,
        name: str,
        model: ChannelModel,
        *,
        threshold: float,
        hysteresis: int,
        impute: str = "mean",
        limits: tuple[float, float] | None = None,
        sentinels: Sequence[float] = DEFAULT_SENTINELS,
        dropout: float = DEFAULT_DROPOUT,
        learn_in_alerts: bool = False,
        hold: int = DEFAULT_HOLD,
        labelled_false: Callable[[Alert], bool] | None = None,
    ) -> None:
        # The plain rule's state (open, samples below since): open exactly while self.open is.
        self.rule = EpisodeRule(hysteresis)
        self.name = name
        self.model = model
        self.hysteresis = hysteresis
        self.imputer = Imputer(impute)
        self.faults = FaultRules(limits, sentinels)
        self.memory = FalsePositiveMemory()
        self.dropouts = Dropouts(name, dropout, self.memory.dropout_known)
        self.learn_in_alerts = learn_in_alerts
        self.hold = hold
        # Whether learning stops inside an episode at all.
        self._holds = not learn_in_alerts and hold > 0
        self.ep_len = 0  # samples of the open episode so far
        # Labels known up front: does a false-positive label cover this closing episode?
        self.labelled_false = labelled_false
        self.threshold = threshold
        # The episode in progress, and what the memory sees of it.
        self.open: Alert | None = None
        self.episode = OpenEpisode()
        self._chunk = CHUNK_MAX
        self.last_value: float | None = None
        # What the channel is like outside alerts: keeps a lasting fault's episode open.
        cfg = getattr(model, "config", None)
        self.lasting = LastingReference(cfg.lasting_limit if isinstance(cfg, ScorerConfig) else 0)
        # A much bigger event inside (or just after) an episode is a new alert.
        factor = (cfg if isinstance(cfg, ScorerConfig) else ScorerConfig()).escalate
        self.escalation = Escalation(factor, hysteresis)
        # The change _first_change found is an escalation / a lowered high it raised back.
        self._escalates = self._lifted = False
        self._scored_to = 0  # the model has scored the batch's samples up to this one
        self._last_t = 0.0

    # -- thresholds and what others read ---------------------------------------------------

    @property
    def threshold(self) -> float:
        return self._threshold

    @threshold.setter
    def threshold(self, value: float) -> None:
        self._threshold = float(value)
        # The model's refractory step guards the threshold alerts are opened at.
        self.model.threshold = float(value)

    @property
    def warming_up(self) -> bool:
        return bool(self.model.warming_up)

    @property
    def dropout_alert(self) -> Alert | None:
        """The dropout a live tick opened, while no sample has come."""
        return self.dropouts.alert

    @property
    def feedback_count(self) -> int:
        return self.memory.feedback_count

    @property
    def repeats(self) -> int:
        """Episodes that stayed within a false positive's shape (ended unannounced)."""
        return self.memory.repeats

    # -- the batch path --------------------------------------------------------------------

    def process(self, t: np.ndarray, raw: np.ndarray) -> EngineOut:
        """Score one batch of this channel's samples (``raw`` NaN: missing)."""
        t = np.asarray(t, dtype=np.float64)
        value, imputed = self.imputer.fill_many(raw)
        n = len(value)
        observed = ~imputed & np.isfinite(value)
        fault = self.faults.codes(value, observed, self.memory.sentinel_values())
        base_learn = observed & (fault == Reason.NONE)
        score = np.zeros(n)
        why = np.zeros(n, dtype=np.int8)
        alert = np.zeros(n, dtype=bool)
        events: list[Event] = []
        for ep in self.dropouts.scan(t, value, alert, events):
            self.memory.keep_dropout(ep)
        i = 0
        while i < n:
            frozen = self._frozen()
            j = min(n, i + self._chunk)
            if frozen:
                # Learning resumes once an episode has been open for `hold` samples.
                j = min(j, i + self.hold - self.ep_len)
            learn = base_learn[i:j]
            held = np.full(j - i, frozen)
            ck = self.model.checkpoint() if self._holds or self.labelled_false else None
            sc = self.model.score_many(value[i:j], t[i:j], learn, observed[i:j], held)
            self._scored_to = j
            s, ev, w = self._with_faults(sc, fault[i:j], value[i:j])
            off = 0
            while True:
                k = self._first_change(
                    s[off:], ev[off:], w[off:], value[i + off : j], t[i + off : j]
                )
                if k is None:
                    self._commit(i + off, j, t, value, s[off:], ev[off:], w[off:],
                                 observed, score, why, alert, events)  # fmt: skip
                    self._chunk = min(CHUNK_MAX, self._chunk * 2)
                    i = j
                    break
                cut = i + off + k + 1
                if ck is not None and (self._holds or self.open is not None):
                    # Learning stops (an episode opens) or starts again (a frozen one closes),
                    # or a closing episode may be labelled a false positive and teach the
                    # model, at sample cut - 1: what follows was scored with the wrong state.
                    # Go back and score again up to and including that sample. The sample
                    # that opens an episode is itself not learned.
                    self.model.restore(ck)
                    redo = held[: cut - i].copy()
                    if self._holds and (self.open is None or self._escalates):
                        redo[-1] = True
                    sc = self.model.score_many(
                        value[i:cut], t[i:cut], learn[: cut - i], observed[i:cut], redo
                    )
                    self._scored_to = cut
                    s, ev, w = self._with_faults(sc, fault[i:cut], value[i:cut])
                    if self._lifted:
                        s[-1] = ev[-1]
                    # Samples before `off` were committed already (the same scores again).
                    self._commit(i + off, cut, t, value, s[off:], ev[off:], w[off:],
                                 observed, score, why, alert, events)  # fmt: skip
                    self._chunk = max(CHUNK_MIN, min(CHUNK_MAX, 2 * (cut - i)))
                    i = cut
                    break
                # Learning does not change here: carry on through the same scores.
                e = off + k + 1
                self._commit(i + off, cut, t, value, s[off:e], ev[off:e], w[off:e],
                             observed, score, why, alert, events)  # fmt: skip
                off = e
                if i + off >= j:
                    i = j
                    break
        if n:
            self.last_value = float(value[-1]) if np.isfinite(value[-1]) else self.last_value
            self._last_t = float(t[-1])
        return EngineOut(value, imputed, score, alert, why, events)

    def _frozen(self) -> bool:
        return self._holds and self.open is not None and self.ep_len < self.hold

    def _with_faults(
        self, sc: Scored, fault: np.ndarray, value: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        s = sc.score.copy()
        ev = sc.evidence.copy()
        w = sc.why.astype(np.int8, copy=True)
        hit = fault != Reason.NONE
        if hit.any():
            s[hit] = ev[hit] = 1.0
            w[hit] = fault[hit]
        self.memory.suppress(s, w, value, self._threshold)
        return s, ev, w

    def _first_change(
        self, s: np.ndarray, ev: np.ndarray, w: np.ndarray, value: np.ndarray, t: np.ndarray
    ) -> int | None:
        """Where the episode state would change, if anywhere: the first score at the threshold
        opens an episode; it closes after ``hysteresis`` samples whose evidence is below it
        (and, for a repeat followed quietly, whose values are back near the level, and while
        the lasting reference says the channel is away from it). The sample at which an
        episode reaches the lasting limit is a change too (the reference adopts it), and so
        is a much bigger event inside it (:mod:`sensorscope.escalation`: it closes and a new
        one opens there; ``_escalates`` says so)."""
        self._escalates = self._lifted = False
        if self.open is None:
            k = self.rule.next_change(s >= self._threshold)
            r = self.escalation.first_lowered(s[:k], ev[:k], w[:k], value[:k],
                                              self._threshold)  # fmt: skip
            if r is None:
                return k
            # A high the refractory step lowered, far bigger than the last episode: it opens
            # one (its score as it was, here and in the caller's scores again).
            s[r] = ev[r]
            self._lifted = True
            return r
        away = self.episode.away(value) | self.lasting.away(value)
        k = self.lasting.sooner(self.rule.next_change((ev >= self._threshold) | away), t)
        e = self._escalation(value, ev, self.ep_len)
        if e is not None and (k is None or e <= k):
            self._escalates = True
            return e
        return k

    def _escalation(self, value: np.ndarray, ev: np.ndarray, done: int) -> int | None:
        """The first of the open episode's next samples (``done`` of it before them) that is
        a new event, if any (an episode followed quietly is announced by its own rule,
        :meth:`_follow_repeat`)."""
        if not self.episode.announced:
            return None
        return self.escalation.first(value, ev, self._threshold, done)

    def _commit(
        self, a: int, b: int, t: np.ndarray, value: np.ndarray, s: np.ndarray, ev: np.ndarray,
        w: np.ndarray, observed: np.ndarray, score: np.ndarray,
        why: np.ndarray, alert: np.ndarray, events: list[Event],
    ) -> None:  # fmt: skip
        """Take the scores of samples a..b-1 and move the episode state through them; at most
        the last of them opens or closes an episode (the caller cut the chunk there)."""
        score[a:b] = s
        why[a:b] = w
        if b <= a:
            return
        if self.open is None:
            if self.rule.advance(s >= self._threshold) is Change.OPENED:
                self.episode.remember(value[a : b - 1], observed[a : b - 1])
                self.lasting.take(value[a : b - 1], observed[a : b - 1], inside=False)
                self.lasting.opened(float(t[b - 1]))
                self._open_at(b - 1, t, value, float(ev[-1]), int(w[-1]), observed, alert, events)
                self.episode.remember(value[b - 1 : b], observed[b - 1 : b])
                self.lasting.take(value[b - 1 : b], observed[b - 1 : b], inside=True)
            else:
                self.escalation.take_outside(s, ev, w, value[a:b], self._threshold)
                self.episode.remember(value[a:b], observed[a:b])
                self.lasting.take(value[a:b], observed[a:b], inside=False)
            return
        if self._escalation(value[a:b], ev, self.ep_len) == b - 1 - a:
            # Its last sample is a new event (the caller cut the slice there).
            self._commit(a, b - 1, t, value, s[:-1], ev[:-1], w[:-1],
                         observed, score, why, alert, events)  # fmt: skip
            self._escalate(b - 1, t, value, float(ev[-1]), int(w[-1]), observed, alert, events)
            score[b - 1] = max(score[b - 1], ev[-1])
            return
        ep = self.open
        self.ep_len += b - a
        first = a
        if not self.episode.announced:
            first = self._follow_repeat(a, b, value, observed, events)
        if self.episode.announced:
            alert[first:b] = True
        idx = np.flatnonzero(ev >= self._threshold)
        if len(idx):
            top = int(idx[np.argmax(ev[idx])])
            if ev[top] > ep.peak_score:
                ep.peak_score, ep.peak_value, ep.peak_t = (
                    float(ev[top]), float(value[a + top]), float(t[a + top])
                )  # fmt: skip
                ep.expected = self._expected(int(ep.why), a + top, t)
            ep.last_above = float(t[a + int(idx[-1])])
            if not ep.reason:
                firsts = [i for i in idx.tolist() if w[i] != Reason.NONE]
                if firsts:
                    i0 = firsts[0]
                    ep.reason = reason_text(int(w[i0]), float(value[a + i0]), self.faults.limits)
                    ep.why = Reason(int(w[i0]))
        self.episode.collect(value[a:b], observed[a:b])
        self.episode.remember(value[a:b], observed[a:b])
        self.escalation.take(value[a:b], observed[a:b])
        busy = (ev >= self._threshold) | self.episode.away(value[a:b])
        busy |= self.lasting.away(value[a:b])
        self.lasting.take(value[a:b], observed[a:b], inside=True)
        if self.lasting.due(t[b - 1 : b]) == 0:
            self.lasting.adopt(float(t[b - 1]))  # lasted far longer than any fault
        if self.rule.advance(busy) is Change.CLOSED:
            announced = self.episode.announced
            closed = self._close()
            if announced:
                events.append(event(b - 1, "close", closed))

    def _open_at(
        self, k: int, t: np.ndarray, value: np.ndarray, ev: float, code: int,
        observed: np.ndarray, alert: np.ndarray, events: list[Event],
    ) -> None:  # fmt: skip
        v = float(value[k])
        self.open = Alert(
            0, self.name, float(t[k]), None, ev, v, float(t[k]), float(t[k]),
            reason=reason_text(code, v, self.faults.limits), why=Reason(code),
            expected=self._expected(code, k, t),
        )  # fmt: skip
        self.ep_len = 1
        announced = self.episode.start(v, code, value[k : k + 1][observed[k : k + 1]], self.memory)
        self.escalation.start(self.episode.level, self.episode.tolerance(), v)
        if announced:
            alert[k] = True
            events.append(event(k, "open", self.open))
        elif self._holds:
            # Scored up to this sample and no further (the batch was scored again up to the
            # change), so the model's latest high is this one.
            self._quiet(True)

    def _escalate(
        self, k: int, t: np.ndarray, value: np.ndarray, ev: float, code: int,
        observed: np.ndarray, alert: np.ndarray, events: list[Event],
    ) -> None:  # fmt: skip
        """Sample ``k`` of the open episode is a much bigger event: the episode closes (its
        end is its last high before it) and a new one opens at ``k``. For the lasting
        reference the channel has been away since the first: its limit still runs from it."""
        closed = self._close()
        events.append(event(max(k - 1, 0), "close", closed))
        self.rule.advance(np.ones(1, dtype=bool))
        self._open_at(k, t, value, ev, code, observed, alert, events)
        self.episode.remember(value[k : k + 1], observed[k : k + 1])
        self.lasting.take(value[k : k + 1], observed[k : k + 1], inside=True)

    def _quiet(self, on: bool) -> None:
        quiet = getattr(self.model, "quiet", None)
        if quiet is not None:
            quiet(on)

    def _expected(self, code: int, k: int, t: np.ndarray) -> tuple[float, float] | None:
        """What the part behind ``code`` expected at sample ``k`` of the batch (an alert's
        opening or its peak): the configured limits for a limit rule, else the model's band
        for that sample (scored, not yet learned)."""
        if code in (Reason.BELOW, Reason.ABOVE) and self.faults.limits is not None:
            return self.faults.limits
        back = self._scored_to - 1 - k
        tk = float(t[k])
        return self.model.expected(code, tk, back) if back > 0 else self.model.expected(code, tk)

    def _follow_repeat(
        self, a: int, b: int, value: np.ndarray, observed: np.ndarray, events: list[Event]
    ) -> int:
        """An episode that started like a false positive: announce it the moment it goes
        further from the level, or lasts longer, than that one did. The first sample of
        a..b-1 that is then in alert (b: none)."""
        start_len = self.ep_len - (b - a)  # samples of the episode before this slice
        hit = self.episode.beyond(value[a:b], observed[a:b], start_len, self.hysteresis)
        if hit is None:
            return b
        k, how = a + hit[0], hit[1]
        self._quiet(False)
        ep = self.open
        assert ep is not None and self.episode.like is not None
        ep.reason = (
            f"{ep.reason or 'like'} ({how} than false positive #{self.episode.like.alert.id})"
        )
        events.append(event(k, "open", ep))
        return k

    def _close(self) -> Alert:
        ep = self.open
        assert ep is not None
        ep.end = ep.last_above
        self.open = None
        self.rule.close()
        vals = self.episode.end()
        self._quiet(False)
        if not self.episode.announced:
            # A repeat of a false positive that stayed within it: normal after all.
            self.memory.repeats += 1
            learn_late(self.model, vals)
            self.episode.announced = True
            return ep
        self.memory.keep(ep, vals, self.episode.record(self.ep_len, vals))
        if self.labelled_false is not None and self.labelled_false(ep):
            self.feedback(ep)
        return ep

    def finish(self) -> list[Alert]:
        """End of input: close what is open."""
        out = []
        if self.open is not None:
            out.append(self._close())
        if self.dropouts.alert is not None:
            ep = self.dropouts.close(self.dropouts.alert.start)
            self.memory.keep_dropout(ep)
            out.append(ep)
        return out

    def tick(self, now_t: float) -> list[Event]:
        """A live clock's "now" in this channel's data time: open a dropout when late."""
        return self.dropouts.tick(now_t, self.last_value)

    # -- labels ----------------------------------------------------------------------------

    def feedback(self, alert: Alert) -> bool:
        """A false-positive label on ``alert``: learn its samples, remember its pattern.

        Returns False when the alert is not one of this channel's recent episodes.
        """
        current = None
        if self.open is not None and self.open.id == alert.id and self.episode.announced:
            values = self.episode.values()
            current = (self.open, values, self.episode.record(self.ep_len, values))
            self.lasting.adopt(self._last_t)  # a person says this is normal now
        return self.memory.learn(alert, current, self.dropouts.late_after(), self.model)

    def retract(self, alert_id: int) -> None:
        """Undo a false-positive label: the pattern is forgotten (what was learned stays)."""
        self.memory.retract(alert_id)
