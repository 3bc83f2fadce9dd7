"""One channel's path after parsing: impute -> fault rules -> scorer -> alert episodes.

A :class:`ChannelEngine` takes a channel's samples of one batch as arrays and returns, per
sample, the value (imputed where missing), the score, the alert flag and the reason code, plus
the alert episodes that opened and closed. Everything a channel learns lives here and in its
model (a :class:`sensorscope.detect.base.ChannelModel`: the default scorer, or any river
detector); only the pipeline's scoring worker calls it.

Beside the model, rules for faults that statistics cannot see, each with a one-line reason
(:func:`reason_text`): values outside a physical range the user gives for the channel, the
sentinel values sensors print when they fail (:data:`DEFAULT_SENTINELS`: DS18B20's -127 and
85.00 among them), and dropouts (no sample for ``dropout`` times the usual interval).

Two ways what has been flagged changes what is learned:

- Samples inside an open alert episode are not learned (river's ``AnomalyFilter`` idea), so an
  anomaly does not teach the model that it is normal. The engine scores ahead assuming the
  episode state stays as it is, and where it changes (an episode opens or closes) goes back
  to a checkpoint and scores again up to that sample with the right learning flags. A
  checkpoint is a copy of the model's state, a few tens of kilobytes.
- A false-positive label acts (:meth:`ChannelEngine.feedback`): the episode's samples are
  learned late (by the parts where order does not matter: HST and the learned range), and
  its pattern is remembered: for the detector's alerts its shape (how far above and below
  the level before it, and for how long), for the rules the stuck or error value, the values
  outside a range, the length of a gap. A later episode that starts within that shape is
  followed quietly: if it stays within it (no further from the level than the labelled one,
  by a margin, and not much longer) it ends unannounced, a repeat, and is learned; the moment
  it goes beyond, it is announced as an alert. Rule alerts that repeat a labelled value are
  not raised at all.
"""

from __future__ import annotations

import fnmatch
import math
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Any, NamedTuple

import numpy as np

from sensorscope.detect.base import Scored
from sensorscope.detect.numeric import ewma_states
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
    "DEFAULT_DROPOUT",
    "DEFAULT_SENTINELS",
    "ChannelEngine",
    "EngineOut",
    "limits_for",
    "unmatched_limits",
    "unmatched_limits_message",
    "reason_text",
]

# The usual interval is known after this many gaps; before, nothing is late.
DROPOUT_MIN_GAPS = 20
DROPOUT_RATE = 0.1
# However fast a channel, a silence shorter than this is not worth an alert (s).
DROPOUT_MIN_GAP = 1.0
# The long gaps a channel usually has fade from memory over about this many samples, so a
# device that sends in bursts (ten lines, then a pause) is judged by its pauses.
DROPOUT_MEMORY = 200
# Score ahead this many samples at most; after an episode changed state, twice the distance.
CHUNK_MAX = 8192
CHUNK_MIN = 256
# An episode's samples kept for learning them late on a false-positive label.
EPISODE_KEEP = 1024
EPISODES_KEPT = 64
PATTERNS_KEPT = 32
# A repeat counts as the same pattern while it stays within this multiple of the labelled
# one's distance from the level, and lasts at most this multiple of its length (+ hysteresis).
PATTERN_MARGIN = 1.25
PATTERN_LONGER = 2.0
# Observed values kept as the level an episode starts from (their median: an event shorter
# than half of them does not move it) and to measure the channel's noise.
LEVEL_SAMPLES = 256
# A repeat may also stray this many noise deviations beyond the labelled shape.
PATTERN_NOISE = 3.0
# ... and must start at least this abruptly, as a share of the labelled one's largest step
# (over the last ONSET_SAMPLES samples up to its start).
PATTERN_ABRUPT = 0.5
ONSET_SAMPLES = 32

_STATISTICAL = (Reason.HST, Reason.FORECAST, Reason.DAILY, Reason.WEEKLY)
# Rule alerts: a repeat is known by its value (or gap) alone, and not raised at all.
_BY_VALUE = (Reason.STUCK, Reason.SENTINEL, Reason.BELOW, Reason.ABOVE)


def limits_for(channel: str, limits: dict[str, tuple[float, float]]) -> tuple[float, float] | None:
    """The physical range given for ``channel``: by its name, its name without the source
    prefix, or a shell pattern (``temp*``); an exact name wins over a pattern.

    >>> limits_for("lab1/temp", {"temp": (-40.0, 125.0)})
    (-40.0, 125.0)
    >>> limits_for("hum", {"t*": (0.0, 1.0)}) is None
    True
    """
    short = channel.rsplit("/", 1)[-1]
    for name in (channel, short):
        if name in limits:
            return limits[name]
    for pattern, lim in limits.items():
        if fnmatch.fnmatchcase(channel, pattern) or fnmatch.fnmatchcase(short, pattern):
            return lim
    return None


def unmatched_limits(limits: dict[str, tuple[float, float]], channels: Iterable[str]) -> list[str]:
    """The names and patterns of ``limits`` that no channel answers to (a typo in
    ``--range``), in the order given.

    >>> unmatched_limits({"temp": (0.0, 1.0), "hmu": (0.0, 1.0)}, ["lab/temp", "lab/hum"])
    ['hmu']
    """
    names = list(channels)
    return [
        pattern
        for pattern in limits
        if not any(limits_for(ch, {pattern: limits[pattern]}) is not None for ch in names)
    ]


def unmatched_limits_message(
    limits: dict[str, tuple[float, float]], channels: Iterable[str]
) -> str:
    """One line for the ``--range`` names that match no channel, or "" when all match."""
    names = sorted(channels)
    bad = unmatched_limits(limits, names)
    if not bad:
        return ""
    which = ", ".join(bad)
    shown = ", ".join(names[:12]) + (", ..." if len(names) > 12 else "")
    verb = "matches" if len(bad) == 1 else "match"
    return f"--range {which} {verb} no channel (channels: {shown})"


class EngineOut(NamedTuple):
    value: np.ndarray  # float64, imputed where missing (NaN: nothing to impute from yet)
    imputed: np.ndarray  # bool
    score: np.ndarray  # float64 in [0, 1]
    alert: np.ndarray  # bool: an episode is open on the channel at this sample
    why: np.ndarray  # int8 reason code
    #: (sample index in the batch, "open"|"close", the alert, a copy as it was then)
    events: list[tuple[int, str, Alert, Alert]]


class _Record(NamedTuple):
    """What a false-positive label remembers of an episode: its reason and value at the
    start, the level it started from, its length and how abruptly it started."""

    why: int
    value: float
    level: float
    length: int
    jump: float


_DROPOUT_RECORD = _Record(Reason.DROPOUT, 0.0, 0.0, 0, 0.0)


@dataclass
class Pattern:
    """What a false positive looked like, to recognise a repeat.

    For the detector's alerts, its shape: how far above and below the level before it the
    values went, how many samples it lasted, and how abruptly it started (a door opening is a
    step, a drift a ramp). For the rules, the value (stuck, error value), the values (outside
    a range) or the gap (dropout).
    """

    alert: Alert  # the labelled one (its id may be numbered after the label acted)
    why: int
    lo: float  # the episode's values
    hi: float
    value: float  # the value that decided it (stuck, error value)
    up: float = 0.0  # furthest above the level before the episode
    down: float = 0.0  # furthest below it
    length: int = 0  # samples
    jump: float = 0.0  # the largest step between two samples around its start
    gap: float = 0.0  # dropouts: the silence (s)


class ChannelEngine:
    """One channel: imputation, fault rules, the model, alert episodes and false-positive
    feedback. Not thread-safe: the pipeline's scoring worker is its only caller."""

    def __init__(
        self,
        name: str,
        model: Any,
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
        if hysteresis < 1:
            raise ValueError("hysteresis must be at least 1 sample")
        self.name = name
        self.model = model
        self.hysteresis = hysteresis
        self.imputer = Imputer(impute)
        self.limits = limits
        self.sentinels = np.array(sorted(set(float(s) for s in sentinels)), dtype=np.float64)
        self.dropout = dropout
        self.learn_in_alerts = learn_in_alerts
        self.hold = hold
        # Whether learning stops inside an episode at all.
        self._holds = not learn_in_alerts and hold > 0
        self.ep_len = 0  # samples of the open episode so far
        # Labels known up front: does a false-positive label cover this closing episode?
        self.labelled_false = labelled_false
        self.feedback_count = 0
        self.threshold = threshold
        # Range of the real readings (no sentinels, within limits) that a sentinel must leave.
        self._seen_lo = math.inf
        self._seen_hi = -math.inf
        # The episode in progress, and how many samples below the threshold it has had.
        self.open: Alert | None = None
        self.quiet = 0
        self._episode_values: list[np.ndarray] = []
        self._episode_kept = 0
        # Recent episodes: the alert, its samples, and what a false-positive label would
        # remember of it.
        self.episodes: deque[tuple[Alert, np.ndarray, _Record]] = deque(maxlen=EPISODES_KEPT)
        self._open_why: tuple[int, float] = (Reason.NONE, math.nan)  # reason code, value
        # The open episode: the level it started from, whether it is announced (an episode
        # within a false positive's shape is not, unless it goes beyond it), that pattern.
        self._level = 0.0
        self._noise = 0.0
        self._jump = 0.0
        self._announced = True
        self._like: Pattern | None = None
        self._recent = np.zeros(0)  # the last LEVEL_SAMPLES observed values
        self._announced_at: int | None = None  # where a repeat went beyond its pattern
        self.repeats = 0  # episodes that stayed within a false positive's shape
        self.patterns: deque[Pattern] = deque(maxlen=PATTERNS_KEPT)
        self._chunk = CHUNK_MAX
        # Dropouts: data time of the last sample, usual interval, gaps seen, open dropout.
        self.last_t: float | None = None
        self.interval: float | None = None
        self.gap_high: float | None = None  # the long gaps seen lately (a bursty device)
        self.gaps = 0
        self.dropout_alert: Alert | None = None
        self.last_value: float | None = None

    # -- thresholds ------------------------------------------------------------------------

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

    # -- the batch path --------------------------------------------------------------------

    def process(self, t: np.ndarray, raw: np.ndarray) -> EngineOut:
        """Score one batch of this channel's samples (``raw`` NaN: missing)."""
        t = np.asarray(t, dtype=np.float64)
        value, imputed = self.imputer.fill_many(raw)
        n = len(value)
        observed = ~imputed & np.isfinite(value)
        fault = self._faults(value, observed)
        base_learn = observed & (fault == Reason.NONE)
        score = np.zeros(n)
        why = np.zeros(n, dtype=np.int8)
        alert = np.zeros(n, dtype=bool)
        events: list[tuple[int, str, Alert, Alert]] = []
        self._dropouts(t, value, alert, events)
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
            s, ev, w = self._with_faults(sc, fault[i:j], value[i:j])
            off = 0
            while True:
                k = self._first_change(s[off:], ev[off:], value[i + off : j])
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
                    if self.open is None and self._holds:
                        redo[-1] = True
                    sc = self.model.score_many(
                        value[i:cut], t[i:cut], learn[: cut - i], observed[i:cut], redo
                    )
                    s, ev, w = self._with_faults(sc, fault[i:cut], value[i:cut])
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
        return EngineOut(value, imputed, score, alert, why, events)

    def _faults(self, value: np.ndarray, observed: np.ndarray) -> np.ndarray:
        """Reason codes of the fault rules per sample (0: none fired)."""
        n = len(value)
        out = np.zeros(n, dtype=np.int8)
        if n == 0:
            return out
        if self.limits is not None:
            lo, hi = self.limits
            out[observed & (value < lo)] = Reason.BELOW
            out[observed & (value > hi)] = Reason.ABOVE
        sentinel = observed & np.isin(value, self.sentinels) if len(self.sentinels) else None
        real = observed & (out == Reason.NONE)
        if sentinel is not None:
            real &= ~sentinel
        vr = np.where(real, value, np.nan)
        # The range of real readings before each sample.
        los = np.fmin.accumulate(np.concatenate(([self._seen_lo], np.where(real, vr, np.inf))))
        his = np.fmax.accumulate(np.concatenate(([self._seen_hi], np.where(real, vr, -np.inf))))
        if sentinel is not None and sentinel.any():
            lo_b, hi_b = los[:-1], his[:-1]
            tol = np.maximum(0.05 * (hi_b - lo_b), 1e-9 * np.abs(value))
            with np.errstate(invalid="ignore"):
                outside = ~np.isfinite(lo_b) | (value < lo_b - tol) | (value > hi_b + tol)
            fp_values = {p.value for p in self.patterns if p.why == Reason.SENTINEL}
            flagged = sentinel & outside
            if fp_values:
                flagged &= ~np.isin(value, list(fp_values))
            out[flagged] = Reason.SENTINEL
        self._seen_lo, self._seen_hi = float(los[-1]), float(his[-1])
        return out

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
        self._suppress(s, w, value)
        return s, ev, w

    def _suppress(self, s: np.ndarray, w: np.ndarray, value: np.ndarray) -> None:
        """Lower the scores of rule alerts that repeat a false positive's value."""
        if not any(p.why in _BY_VALUE for p in self.patterns):
            return
        thr = self._threshold
        for k in np.flatnonzero(s >= thr).tolist():
            if int(w[k]) in _BY_VALUE and self._matches(int(w[k]), float(value[k])):
                s[k] = min(s[k], 0.6 * thr)
                w[k] = Reason.NONE

    def _matches(self, why: int, value: float) -> bool:
        for p in self.patterns:
            if p.why != why:
                continue
            if why in (Reason.STUCK, Reason.SENTINEL):
                if value == p.value:
                    return True
            else:  # outside the physical range: within what was labelled
                tol = 0.05 * (p.hi - p.lo) + 1e-9 * abs(p.hi)
                if p.lo - tol <= value <= p.hi + tol:
                    return True
        return False

    def _first_change(self, s: np.ndarray, ev: np.ndarray, value: np.ndarray) -> int | None:
        """Where the episode state would change, if anywhere: the first score at the threshold
        opens an episode; it closes after ``hysteresis`` samples whose evidence is below it
        (and, for a repeat followed quietly, whose values are back near the level)."""
        if self.open is None:
            hits = np.flatnonzero(s >= self._threshold)
            return int(hits[0]) if len(hits) else None
        above = (ev >= self._threshold) | self._away(value)
        k = np.arange(len(ev))
        last = np.maximum.accumulate(np.where(above, k, -1))
        quiet = np.where(last >= 0, k - last, self.quiet + k + 1)
        done = np.flatnonzero(quiet >= self.hysteresis)
        return int(done[0]) if len(done) else None

    def _commit(
        self, a: int, b: int, t: np.ndarray, value: np.ndarray, s: np.ndarray, ev: np.ndarray,
        w: np.ndarray, observed: np.ndarray, score: np.ndarray,
        why: np.ndarray, alert: np.ndarray, events: list[tuple[int, str, Alert, Alert]],
    ) -> None:  # fmt: skip
        """Take the scores of samples a..b-1 and move the episode state through them; at most
        the last of them opens or closes an episode (the caller cut the chunk there)."""
        score[a:b] = s
        why[a:b] = w
        if b <= a:
            return
        if self.open is None:
            if s[-1] >= self._threshold:
                self._remember(value[a : b - 1], observed[a : b - 1])
                self._open_at(b - 1, t, value, float(ev[-1]), int(w[-1]), observed, alert, events)
                self._remember(value[b - 1 : b], observed[b - 1 : b])
            else:
                self._remember(value[a:b], observed[a:b])
            return
        ep = self.open
        self.ep_len += b - a
        if not self._announced:
            self._follow_repeat(a, b, t, value, observed, events)
        if self._announced:
            first = self._announced_at if self._announced_at is not None else a
            alert[max(a, first) : b] = True
            self._announced_at = None
        idx = np.flatnonzero(ev >= self._threshold)
        if len(idx):
            top = int(idx[np.argmax(ev[idx])])
            if ev[top] > ep.peak_score:
                ep.peak_score, ep.peak_value, ep.peak_t = (
                    float(ev[top]), float(value[a + top]), float(t[a + top])
                )  # fmt: skip
            ep.last_above = float(t[a + int(idx[-1])])
            if not ep.reason:
                firsts = [i for i in idx.tolist() if w[i] != Reason.NONE]
                if firsts:
                    i0 = firsts[0]
                    ep.reason = reason_text(int(w[i0]), float(value[a + i0]), self.limits)
        if self._episode_kept < EPISODE_KEEP:
            part = value[a:b][observed[a:b]][: EPISODE_KEEP - self._episode_kept]
            self._episode_values.append(part)
            self._episode_kept += len(part)
        self._remember(value[a:b], observed[a:b])
        busy = np.flatnonzero((ev >= self._threshold) | self._away(value[a:b]))
        last_above = int(busy[-1]) if len(busy) else -1
        self.quiet = (b - a - 1 - last_above) if last_above >= 0 else self.quiet + (b - a)
        if self.quiet >= self.hysteresis:
            announced = self._announced
            closed = self._close()
            if announced:
                events.append(_event(b - 1, "close", closed))

    def _remember(self, value: np.ndarray, observed: np.ndarray) -> None:
        """Keep the last observed values: the level the next episode starts from."""
        seen = value[observed]
        if len(seen):
            self._recent = np.concatenate((self._recent, seen))[-LEVEL_SAMPLES:]

    def _open_at(
        self, k: int, t: np.ndarray, value: np.ndarray, ev: float, code: int,
        observed: np.ndarray, alert: np.ndarray, events: list[tuple[int, str, Alert, Alert]],
    ) -> None:  # fmt: skip
        v = float(value[k])
        self.open = Alert(
            0, self.name, float(t[k]), None, ev, v, float(t[k]), float(t[k]),
            reason=reason_text(code, v, self.limits),
        )  # fmt: skip
        self._open_why = (code, v)
        self.quiet = 0
        self.ep_len = 1
        self._episode_values = [value[k : k + 1][observed[k : k + 1]]]
        self._episode_kept = len(self._episode_values[0])
        r = self._recent
        self._level = float(np.median(r)) if len(r) else v
        # Noise from successive differences (robust to level changes): MAD / 0.6745 / sqrt 2.
        self._noise = float(np.median(np.abs(np.diff(r)))) * 1.0484 if len(r) > 2 else 0.0
        tail = np.concatenate((r[-ONSET_SAMPLES:], [v]))
        self._jump = float(np.abs(np.diff(tail)).max()) if len(tail) > 1 else 0.0
        self._like = self._shape_match(v - self._level) if code not in _BY_VALUE else None
        self._announced = self._like is None
        self._announced_at = None
        if self._announced:
            alert[k] = True
            events.append(_event(k, "open", self.open))

    def _shape_match(self, dev: float) -> Pattern | None:
        """A false positive of the detector whose shape this start lies within."""
        tol = self._tolerance()
        for p in self.patterns:
            if p.why in _BY_VALUE or p.why == Reason.DROPOUT:
                continue
            if not -PATTERN_MARGIN * p.down - tol <= dev <= PATTERN_MARGIN * p.up + tol:
                continue
            # Abruptness is compared as it is: noise alone makes steps of a few noise widths.
            if self._jump >= PATTERN_ABRUPT * p.jump - 1e-9 * (abs(self._level) + 1.0):
                return p
        return None

    def _jump_of(self, episode: np.ndarray) -> float:
        """The largest step between two samples around an episode's start: the last samples
        before it (the detector may speak some samples after a step) and its first ones."""
        head = episode[:ONSET_SAMPLES]
        head = head[np.isfinite(head)]
        inside = float(np.abs(np.diff(head)).max()) if len(head) > 1 else 0.0
        return max(self._jump, inside)

    def _away(self, value: np.ndarray) -> np.ndarray:
        """An episode that started like a false positive is not over while its values stay
        away from the level (more than half the labelled excursion), followed quietly or
        announced: the detector may have stopped seeing it as new, but a door left open is
        still open."""
        p = self._like
        if p is None:
            return np.zeros(len(value), dtype=bool)
        dev = value - self._level
        tol = self._tolerance()
        with np.errstate(invalid="ignore"):
            return ((p.up > tol) & (dev > 0.5 * p.up + tol)) | (
                (p.down > tol) & (dev < -0.5 * p.down - tol)
            )

    def _tolerance(self) -> float:
        return PATTERN_NOISE * self._noise + 1e-9 * (abs(self._level) + 1.0)

    def _follow_repeat(
        self, a: int, b: int, t: np.ndarray, value: np.ndarray, observed: np.ndarray,
        events: list[tuple[int, str, Alert, Alert]],
    ) -> None:  # fmt: skip
        """An episode that started like a false positive: announce it the moment it goes
        further from the level, or lasts longer, than that one did."""
        p = self._like
        assert p is not None and self.open is not None
        tol = self._tolerance()
        dev = value[a:b] - self._level
        beyond = observed[a:b] & (
            (dev > PATTERN_MARGIN * p.up + tol) | (dev < -PATTERN_MARGIN * p.down - tol)
        )
        start_len = self.ep_len - (b - a)  # samples of the episode before this slice
        too_long = start_len + np.arange(1, b - a + 1) > PATTERN_LONGER * p.length + (
            self.hysteresis
        )
        hit = np.flatnonzero(beyond | too_long)
        if not len(hit):
            return
        k = a + int(hit[0])
        how = "bigger" if beyond[hit[0]] else "longer"
        self._announced = True
        self._announced_at = k
        # _like stays: announced or not, the episode is not over while it stays away.
        ep = self.open
        ep.reason = f"{ep.reason or 'like'} ({how} than false positive #{p.alert.id})"
        events.append(_event(k, "open", ep))

    def _record(self, values: np.ndarray) -> _Record:
        """The open episode's record, given its kept samples."""
        code, v = self._open_why
        return _Record(code, v, self._level, self.ep_len, self._jump_of(values))

    def _close(self) -> Alert:
        ep = self.open
        assert ep is not None
        ep.end = ep.last_above
        self.open = None
        self.quiet = 0
        vals = np.concatenate(self._episode_values) if self._episode_values else np.zeros(0)
        self._episode_values = []
        self._episode_kept = 0
        if not self._announced:
            # A repeat of a false positive that stayed within it: normal after all.
            self.repeats += 1
            if len(vals) and hasattr(self.model, "learn_late"):
                self.model.learn_late(vals)
            self._announced = True
            return ep
        self.episodes.append((ep, vals, self._record(vals)))
        if self.labelled_false is not None and self.labelled_false(ep):
            self.feedback(ep)
        return ep

    def finish(self) -> list[Alert]:
        """End of input: close what is open."""
        out = []
        if self.open is not None:
            out.append(self._close())
        if self.dropout_alert is not None:
            out.append(self._close_dropout(self.dropout_alert.start))
        return out

    # -- dropouts --------------------------------------------------------------------------

    def _dropouts(
        self, t: np.ndarray, value: np.ndarray, alert: np.ndarray,
        events: list[tuple[int, str, Alert, Alert]],
    ) -> None:  # fmt: skip
        """Find gaps longer than ``dropout`` times the usual interval (and close a dropout
        that a live tick opened, at the first sample that came)."""
        n = len(t)
        if n == 0:
            return
        if self.dropout_alert is not None:
            ep = self._close_dropout(float(t[0]))
            alert[0] = True
            events.append(_event(0, "close", ep))
            # The gap that was reported is not learned as an interval.
            self.last_t = float(t[0])
            start = 1
        else:
            start = 0
        if self.last_t is None:
            self.last_t = float(t[0])
            start = 1
        if start >= n:
            return
        tt = t[start:]
        gaps = np.diff(np.concatenate(([self.last_t], tt)))
        gaps = np.where(np.isfinite(gaps), np.maximum(gaps, 0.0), 0.0)
        pos = 0
        while pos < len(gaps):
            g = gaps[pos:]
            if self.interval is None:
                self.interval = self.gap_high = float(g[0])
                self.gaps = 1
                pos += 1
                continue
            means = ewma_states(g, DROPOUT_RATE, self.interval)
            highs = _envelope(g, self.gap_high)
            usual = np.maximum(means[:-1], highs[:-1])
            count = self.gaps + np.arange(len(g))
            late = self.dropout > 0
            late = late & (count >= DROPOUT_MIN_GAPS)
            late &= g > np.maximum(self.dropout * usual, DROPOUT_MIN_GAP)
            hits = np.flatnonzero(late)
            if not len(hits):
                self.interval, self.gap_high = float(means[-1]), float(highs[-1])
                self.gaps += len(g)
                break
            # The gap itself is not learned as an interval: the rest starts from before it.
            k = int(hits[0])
            self.interval, self.gap_high = float(means[k]), float(highs[k])
            self.gaps += k
            j = start + pos + k  # the sample after the gap
            gap = float(g[k])
            if not self._dropout_known(gap):
                prev_t = float(t[j - 1]) if j > 0 else self.last_t
                ep = Alert(
                    0, self.name, prev_t + self._late_after(), None, 1.0,
                    float(value[j]) if np.isfinite(value[j]) else 0.0, float(t[j]), float(t[j]),
                    reason=_dropout_reason(gap, self.interval),
                )  # fmt: skip
                events.append(_event(j, "open", ep))
                ep.end = float(t[j])
                self.episodes.append((ep, np.zeros(0), _DROPOUT_RECORD))
                alert[j] = True
                events.append(_event(j, "close", ep))
            pos += k + 1
        self.last_t = float(t[-1])

    def _late_after(self) -> float:
        """Silence longer than this is a dropout."""
        usual = max(self.interval or 0.0, self.gap_high or 0.0)
        return max(self.dropout * usual, DROPOUT_MIN_GAP)

    def _dropout_known(self, gap: float) -> bool:
        return any(p.why == Reason.DROPOUT and gap <= PATTERN_MARGIN * p.gap for p in self.patterns)

    def tick(self, now_t: float) -> list[tuple[int, str, Alert, Alert]]:
        """A live clock's "now" in this channel's data time: open a dropout when late."""
        if (
            self.dropout <= 0
            or self.dropout_alert is not None
            or self.last_t is None
            or self.interval is None
            or self.gaps < DROPOUT_MIN_GAPS
        ):
            return []
        gap = now_t - self.last_t
        if gap <= self._late_after() or self._dropout_known(gap):
            return []
        ep = Alert(
            0, self.name, self.last_t + self._late_after(), None, 1.0,
            self.last_value if self.last_value is not None else 0.0, now_t, now_t,
            reason=_dropout_reason(gap, self.interval),
        )  # fmt: skip
        self.dropout_alert = ep
        return [_event(-1, "open", ep)]

    def _close_dropout(self, t: float) -> Alert:
        ep = self.dropout_alert
        assert ep is not None
        self.dropout_alert = None
        ep.end = ep.last_above = max(t, ep.start)
        if self.interval:
            ep.reason = _dropout_reason(t - (self.last_t or t), self.interval)
        self.episodes.append((ep, np.zeros(0), _DROPOUT_RECORD))
        return ep

    # -- labels ----------------------------------------------------------------------------

    def feedback(self, alert: Alert) -> bool:
        """A false-positive label on ``alert``: learn its samples, remember its pattern.

        Returns False when the alert is not one of this channel's recent episodes.
        """
        if any(p.alert is alert or p.alert.id == alert.id for p in self.patterns):
            return True
        kept = next((e for e in reversed(self.episodes) if e[0].id == alert.id), None)
        if kept is None:
            if self.open is None or self.open.id != alert.id or not self._announced:
                return False
            values = np.concatenate(self._episode_values) if self._episode_values else np.zeros(0)
            kept = (self.open, values, self._record(values))
        ep, values, (why, value, level, length, jump) = kept
        lo = float(values.min()) if len(values) else ep.peak_value
        hi = float(values.max()) if len(values) else ep.peak_value
        p = Pattern(ep, why, lo, hi, value)
        if why == Reason.DROPOUT:
            end = ep.until
            p.gap = end - ep.start + self._late_after()
        elif why not in _BY_VALUE:
            p.up, p.down, p.length = max(0.0, hi - level), max(0.0, level - lo), int(length)
            p.jump = jump
        self.patterns.append(p)
        self.feedback_count += 1
        if len(values) and hasattr(self.model, "learn_late"):
            self.model.learn_late(values)
        return True

    def retract(self, alert_id: int) -> None:
        """Undo a false-positive label: the pattern is forgotten (what was learned stays)."""
        for p in list(self.patterns):
            if p.alert.id == alert_id:
                self.patterns.remove(p)


def _envelope(g: np.ndarray, h0: float) -> np.ndarray:
    """``h <- max(g_k, h * d)`` from ``h0`` (``d = 1 - 1/DROPOUT_MEMORY``): the states, len + 1.

    In logs the decay is a straight line, so the envelope is a running maximum.

    >>> _envelope(np.array([1.0, 0.0, 0.0]), 0.5).round(4).tolist()
    [0.5, 1.0, 0.995, 0.99]
    """
    ld = math.log1p(-1.0 / DROPOUT_MEMORY)
    k = np.arange(1, len(g) + 1)
    with np.errstate(divide="ignore"):
        lg = np.log(np.concatenate(([max(h0, 1e-300)], np.maximum(g, 1e-300))))
    steps = np.concatenate(([0], k))
    best = np.maximum.accumulate(lg - steps * ld)
    return np.exp(best + steps * ld)


def _event(k: int, kind: str, alert: Alert) -> tuple[int, str, Alert, Alert]:
    """An episode event: the sample it happened at, "open" or "close", the live alert (which
    later samples go on changing) and a copy of it as it was at that moment."""
    return (k, kind, alert, replace(alert))


def _dropout_reason(gap: float, usual: float) -> str:
    return f"no data for {_secs(gap)} (usual {_secs(usual)})"


def _secs(s: float) -> str:
    if s >= 120:
        return f"{s / 60:.1f} min"
    if s >= 10:
        return f"{s:.0f} s"
    return f"{s:.2g} s"
