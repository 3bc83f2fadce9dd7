"""Per-channel online anomaly scoring: several cheap views of a channel, calibrated, combined.

:class:`ChannelScorer` scores one channel's samples one at a time (:meth:`ChannelScorer.score`)
or a whole array at once with identical results (:meth:`ChannelScorer.score_many`). Its score is
in [0, 1] and means the same on every channel: ``-log10(p) / 10`` for the probability ``p`` of
the channel's recent behaviour under what it has learned, so 0.5 is p = 1e-5 and the shipped
threshold 0.55 is p = 10**-5.5.

The parts, and why each is there. Every figure is NAB standard (raw score at its best threshold
/ alerts as shipped) on the 18 files of the NAB subset, from ``bench/nab_quality.py``, whose
table has a row per part; the default scores 74.4 / 72.2 (Numenta HTM: 61.3).

- **Half-Space Trees** (:class:`HstView`), kept because users asked for it: river's HST (10
  trees, height 8, a window of 100 samples) on the value and its change since the previous
  sample, both scaled by the warm-up range as ``core.detect`` does. Its raw score (how little
  mass the last window put where this sample lands) is compressed towards 1 and means
  different things on different channels, so it is never thresholded directly; it goes
  through the likelihood below. Measured: with the other views present it adds nothing (the
  default without it scores 0.2 more on NAB, the same on the simulated board); calibrated
  but alone it scores 13.5 / 19.4, thresholded naively 0.0 / -20.2.
- **A streaming forecaster** (:class:`ForecastView`): the error of an EWMA prediction divided by
  the running mean absolute error. Jumps, spikes, drops and noise bursts are large errors
  (+6.9 / +5.4; on the board it catches spikes, drifts and noise bursts).
- **Seasonal profiles** (:class:`ProfileView`), daily (+13.8 / +13.4) and weekly (+4.5 / +4.3):
  each hour of the day, and each 4-hour block of the week, keeps an average over earlier days
  (weeks) of the channel's level and spread. A sample far from what this time usually looks
  like (a missing daily peak, a holiday, a plateau at the wrong level) is a large profile
  error. A profile speaks only once its slot has two finished visits on earlier days (weeks),
  so it learns per day whatever the sample rate and stays silent on short recordings.
- **Anomaly likelihood** (:class:`Likelihood`), after NAB's leading detectors: each raw score is
  averaged over the last 10 samples, and that short-term mean is compared with the last 8640
  such means as a Gaussian upper tail. A channel whose raw scores are always noisy needs a much
  larger excursion than a quiet one, and one threshold fits every channel and every view. Raw
  errors enter it squashed as ``1 - exp(-z / 6)`` (with /3 the default drops to 65.5 / 62.9).
- **Two rules** for what statistics see late or not at all: a stuck sensor (:class:`StuckRule`,
  ``core.detect``'s flatline rule with its usual run lengths learned over the warm-up; +3.4 /
  +3.4, and the board's three stuck faults) and a value beyond everything learned
  (:class:`RangeRule`, tolerance 5% of the range or 3 typical steps, after NAB's Numenta
  detector; +0.5 / +0.1, a backstop whose spikes the forecaster usually catches first).
- **One alert per event** (the refractory step in :meth:`ChannelScorer.score`): once a sample
  has scored at or above the threshold, further high scores within the next 50 samples are
  lowered below it. NAB counts every row above the threshold and rewards only the earliest
  one in a window (without this step the raw score falls to 16.2), and a person watching the
  monitor wants an anomaly announced at its start rather than a stream of alerts.

The view with the highest calibrated score decides; ``reason`` names it.

Defaults to ship with: threshold :data:`DEFAULT_THRESHOLD` (0.55) and hysteresis
:data:`DEFAULT_HYSTERESIS` (10 samples). 0.55 rather than 0.5 because it alerts 2.5 times less
on stationary noise (6 against 15 alerts in 4 hours of 10 Hz gaussian noise, 12 seeds) for the
same NAB score. ``ChannelScorer.threshold`` is what the refractory step guards, so a channel's
threshold changed by the user should be set there too. The plain behaviour, HST on the
warm-up-scaled raw value with no calibration and no rules, stays available as the variant
``"hst-raw"`` (threshold 0.98, hysteresis 10, as ``core.detect`` ships).
"""

from __future__ import annotations

import math
from array import array
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from core.hst import HalfSpaceTrees

__all__ = [
    "DEFAULT_HYSTERESIS",
    "DEFAULT_THRESHOLD",
    "VARIANTS",
    "ChannelScorer",
    "ForecastView",
    "HstView",
    "Likelihood",
    "ProfileView",
    "RangeRule",
    "ScorerConfig",
    "StuckRule",
    "make_scorer",
]

#: The score at or above which an alert opens: p = 10**-5.5 on the likelihood's log scale.
DEFAULT_THRESHOLD = 0.55
#: Samples below the threshold that close an alert episode (as ``core.alerts`` ships).
DEFAULT_HYSTERESIS = 10

_SQRT2 = math.sqrt(2.0)
# Smallest tail probability kept apart; anything below scores the maximum 1.0 anyway.
_MIN_TAIL = 1e-300


def log_score(tail: float) -> float:
    """``-log10(tail) / 10`` clipped to [0, 1]: 0.5 is p = 1e-5, 1.0 is p <= 1e-10.

    >>> log_score(1.0), log_score(1e-5), log_score(1e-20)
    (0.0, 0.5, 1.0)
    """
    if tail >= 1.0:
        return 0.0
    s = -math.log10(max(tail, _MIN_TAIL)) / 10.0
    return 1.0 if s > 1.0 else s


def _squash(z: float, scale: float) -> float:
    """An error in units of its typical size mapped into [0, 1): 1 - exp(-z / scale)."""
    return 1.0 - math.exp(-z / scale)


# --------------------------------------------------------------------------- configuration


@dataclass(frozen=True)
class ScorerConfig:
    """Every setting of a :class:`ChannelScorer`; :data:`VARIANTS` names the measured ones.

    Sample counts are in samples of this channel (learned ones: imputed samples do not count).
    """

    name: str = "default"
    #: Samples that fix the scaling range for HST and teach the rules what is usual.
    warmup: int = 250
    threshold: float = DEFAULT_THRESHOLD
    hysteresis: int = DEFAULT_HYSTERESIS
    seed: int | None = 42

    # Half-Space Trees (river's defaults), on these features scaled by the warm-up range.
    hst: bool = True
    hst_features: tuple[str, ...] = ("value", "diff")
    hst_trees: int = 10
    hst_height: int = 8
    hst_window: int = 100
    #: The warm-up range fills the middle fifth of HST's [0, 1] (as core.detect does).
    scale_margin: float = 2.0
    #: Weight of the newest sample in the slow mean behind the ``dev`` feature.
    hst_dev_alpha: float = 0.05
    #: Calibrate HST through the likelihood (False: HST's own score is the score).
    hst_likelihood: bool = True

    # Streaming forecaster: EWMA prediction, error over its running mean absolute size.
    forecast: bool = True
    forecast_alpha: float = 0.5
    forecast_error_rate: float = 0.01
    forecast_ready: int = 50

    # Seasonal profiles: (period seconds, slots per period); per-visit learning rates.
    profiles: tuple[tuple[float, int], ...] = ((86400.0, 24), (7 * 86400.0, 42))
    profile_rate: float = 0.2
    profile_spread_rate: float = 0.2

    #: Raw errors (in units of their typical size) are squashed with 1 - exp(-z / this).
    squash: float = 6.0

    # Anomaly likelihood over every statistical view.
    likelihood_avg: int = 10
    likelihood_history: int = 8640
    likelihood_min_history: int = 300
    likelihood_min_std: float = 1e-3
    #: Short-term means are compared as ``mean ** power`` (1: as they are; 1/3 would make the
    #: skewed means closer to Gaussian: fewer alerts on noise, and a much lower NAB score).
    likelihood_power: float = 1.0

    # Rules.
    range_rule: bool = True
    range_tolerance: float = 0.05
    range_steps: float = 3.0
    range_step_rate: float = 0.01
    stuck_rule: bool = True
    stuck_min_run: int = 10
    stuck_factor: float = 3.0

    # One alert per event: high scores this many samples after the last one are lowered.
    refractory: int = 50
    #: A lowered score is at most this fraction of the threshold, so no new alert opens.
    refractory_level: float = 0.6

    def with_(self, **changes: Any) -> ScorerConfig:
        """A copy with ``changes`` (a new name included when given)."""
        return replace(self, **changes)


DEFAULT = ScorerConfig()

_PARTS_OFF = dict(forecast=False, profiles=(), range_rule=False, stuck_rule=False, refractory=0)

#: The measured variants, by name (``bench/nab_quality.py`` prints one row each).
VARIANTS: dict[str, ScorerConfig] = {
    # HST on the warm-up-scaled raw value, its own score thresholded: the plain behaviour.
    "hst-raw": DEFAULT.with_(
        name="hst-raw",
        hst_features=("value",),
        hst_window=250,
        hst_likelihood=False,
        threshold=0.98,
        **_PARTS_OFF,
    ),  # fmt: skip
    # The default built up one part at a time.
    "hst+likelihood": DEFAULT.with_(name="hst+likelihood", **_PARTS_OFF),
    "+forecast": DEFAULT.with_(
        name="+forecast", profiles=(), range_rule=False, stuck_rule=False, refractory=0
    ),
    "+profiles": DEFAULT.with_(name="+profiles", range_rule=False, stuck_rule=False, refractory=0),
    "+range": DEFAULT.with_(name="+range", stuck_rule=False, refractory=0),
    "+stuck": DEFAULT.with_(name="+stuck", refractory=0),
    "default": DEFAULT,
    # The default without one part.
    "default-hst": DEFAULT.with_(name="default-hst", hst=False),
    "default-forecast": DEFAULT.with_(name="default-forecast", forecast=False),
    "default-daily": DEFAULT.with_(name="default-daily", profiles=(DEFAULT.profiles[1],)),
    "default-weekly": DEFAULT.with_(name="default-weekly", profiles=(DEFAULT.profiles[0],)),
    "default-range": DEFAULT.with_(name="default-range", range_rule=False),
    "default-stuck": DEFAULT.with_(name="default-stuck", stuck_rule=False),
    "default-refractory": DEFAULT.with_(name="default-refractory", refractory=0),
    # Other settings tried, each one change from the default.
    "try:hst-value-only": DEFAULT.with_(name="try:hst-value-only", hst_features=("value",)),
    "try:hst-dev-diff": DEFAULT.with_(name="try:hst-dev-diff", hst_features=("dev", "diff")),
    "try:hst-window-250": DEFAULT.with_(name="try:hst-window-250", hst_window=250),
    "try:hst-shingle-3": DEFAULT.with_(
        name="try:hst-shingle-3", hst_features=("value", "lag1", "lag2")
    ),
    "try:squash-3": DEFAULT.with_(name="try:squash-3", squash=3.0),
    "try:avg-5": DEFAULT.with_(name="try:avg-5", likelihood_avg=5),
    "try:avg-20": DEFAULT.with_(name="try:avg-20", likelihood_avg=20),
    "try:refractory-200": DEFAULT.with_(name="try:refractory-200", refractory=200),
    "try:cube-root": DEFAULT.with_(name="try:cube-root", likelihood_power=1 / 3),
    "try:threshold-0.5": DEFAULT.with_(name="try:threshold-0.5", threshold=0.5),
    "try:daily-12-slots": DEFAULT.with_(
        name="try:daily-12-slots", profiles=((86400.0, 12), DEFAULT.profiles[1])
    ),
}


def make_scorer(variant: str | ScorerConfig = "default") -> ChannelScorer:
    """A fresh :class:`ChannelScorer` for a variant name or a config."""
    if isinstance(variant, str):
        try:
            variant = VARIANTS[variant]
        except KeyError:
            raise ValueError(
                f"unknown scorer variant {variant!r} (choose from: {', '.join(VARIANTS)})"
            ) from None
    return ChannelScorer(variant)


# --------------------------------------------------------------------------- calibration


class Likelihood:
    """How unusual the recent average of a raw score is against its own long-run history.

    NAB's "anomaly likelihood": the mean of the last ``avg`` raw scores is compared with the
    mean and standard deviation of the last ``history`` such means, and the Gaussian upper
    tail probability ``p`` of the current one is returned as :func:`log_score`. Averaging makes
    a burst of moderately high raw scores (several spikes close together, a noisy stretch)
    count as much as one very high score; the long-run history makes the score relative to
    how noisy this view of this channel usually is. Nothing is scored until ``min_history``
    means have been seen, and raw scores of a view that is not ready yet (None) are skipped
    entirely, so a warm-up never enters the history. ``std`` is floored at ``min_std`` so that
    a view that has always been exactly 0 does not turn a rounding error into an alert.

    Unlike NAB's, which re-estimates the distribution every 100 samples, the mean and
    variance follow every sample (running sums over a ring buffer, recomputed exactly once per
    ``history`` samples so rounding cannot drift).

    >>> lik = Likelihood(avg=2, history=100, min_history=20)
    >>> quiet = [lik.score(0.1 + 0.01 * (i % 3)) for i in range(50)]
    >>> max(quiet) < 0.2, lik.score(0.9) > 0.5
    (True, True)
    """

    __slots__ = ("avg", "history", "min_history", "min_std", "power", "_short", "_ring",
                 "_count", "_next", "_hsum", "_hsq")  # fmt: skip

    def __init__(
        self, avg: int = 10, history: int = 8640, min_history: int = 300, min_std: float = 1e-3,
        power: float = 1.0,
    ) -> None:  # fmt: skip
        self.power = power
        self.avg = max(1, avg)
        self.history = max(2, history)
        self.min_history = max(2, min(min_history, self.history))
        self.min_std = min_std
        self._short: deque[float] = deque()
        # The last `history` means, oldest overwritten: 8 bytes each, quick to index one by one.
        self._ring = array("d", bytes(8 * self.history))
        self._count = 0  # means in the ring
        self._next = 0  # where the next mean goes
        self._hsum = 0.0
        self._hsq = 0.0

    def score(self, raw: float | None, learn: bool = True) -> float:
        """Score ``raw`` (None: the view is not ready, 0.0 and nothing learned)."""
        if raw is None:
            return 0.0
        short = self._short
        if learn:
            short.append(raw)
            if len(short) > self.avg:
                short.popleft()
            mean = sum(short) / len(short)
        else:
            # The same mean as if raw were appended, without touching the window.
            kept = list(short)[1:] if len(short) >= self.avg else list(short)
            mean = (sum(kept) + raw) / (len(kept) + 1)
        if self.power != 1.0:
            mean = mean**self.power if mean > 0.0 else 0.0
        out = 0.0
        k = self._count
        if k >= self.min_history:
            mu = self._hsum / k
            var = self._hsq / k - mu * mu
            sd = math.sqrt(var) if var > 0.0 else 0.0
            if sd < self.min_std:
                sd = self.min_std
            z = (mean - mu) / sd
            out = log_score(0.5 * math.erfc(z / _SQRT2))
        if learn:
            self._push(mean)
        return out

    def _push(self, mean: float) -> None:
        ring, i = self._ring, self._next
        if self._count == self.history:
            old = ring[i]
            self._hsum -= old
            self._hsq -= old * old
        else:
            self._count += 1
        ring[i] = mean
        self._hsum += mean
        self._hsq += mean * mean
        self._next = i + 1
        if self._next == self.history:
            self._next = 0
            # Running sums drift by rounding over millions of samples; start them afresh.
            self._hsum = math.fsum(ring)
            self._hsq = math.fsum(v * v for v in ring)


# --------------------------------------------------------------------------- views


class HstView:
    """river's Half-Space Trees on warm-up-scaled features (``core.hst``, bit-identical).

    Features (the default uses ``value`` and ``diff``; the others were measured and did not
    help, see :data:`VARIANTS`): ``value``; ``diff``, the change since the previous learned
    sample; ``dev``, the distance from a slow EWMA of the value (weight ``dev_alpha``);
    ``lag1``..``lag5``, the previous values (a shingle with ``value``); ``diff2``, the change
    over two samples; ``range8``, the spread of the last 8 values. The scaling range is each
    feature's warm-up range widened by ``margin`` spans on both sides, so that the trees'
    random splits have room to isolate values beyond it; values beyond are clipped onto the
    edge. The warm-up is learned at once when it ends, so with a window no longer than the
    warm-up HST scores from the first sample after it.
    """

    FEATURES = ("value", "diff", "dev", "lag1", "lag2", "lag3", "lag4", "lag5", "diff2", "range8")

    def __init__(self, cfg: ScorerConfig) -> None:
        bad = [f for f in cfg.hst_features if f not in self.FEATURES]
        if bad or not cfg.hst_features:
            raise ValueError(f"unknown HST feature {bad[0] if bad else ''!r}")
        self.features = tuple(cfg.hst_features)
        self.warmup = max(1, cfg.warmup)
        self.margin = cfg.scale_margin
        self.window = cfg.hst_window
        self.dev_alpha = cfg.hst_dev_alpha
        self.model = HalfSpaceTrees(
            n_trees=cfg.hst_trees, height=cfg.hst_height, window_size=cfg.hst_window,
            seed=cfg.seed,
        )  # fmt: skip
        self.prev: float | None = None
        self.mean: float | None = None
        self.recent: deque[float] = deque(maxlen=8)
        self.pending: list[tuple[float, ...]] = []
        self.lo: tuple[float, ...] | None = None
        self.span: tuple[float, ...] = ()
        self.learned = 0  # rows the trees have learned

    @property
    def warming_up(self) -> bool:
        return self.lo is None

    def features_of(self, value: float, learn: bool) -> tuple[float, ...]:
        """The raw features of ``value``; the context moves on only when it is learned."""
        out = []
        for name in self.features:
            if name == "value":
                out.append(value)
            elif name == "diff":
                out.append(0.0 if self.prev is None else value - self.prev)
            elif name == "dev":
                out.append(0.0 if self.mean is None else value - self.mean)
            elif name.startswith("lag"):
                k = int(name[3:])
                r = self.recent
                out.append(r[-k] if len(r) >= k else (r[0] if r else value))
            elif name == "diff2":
                r = self.recent
                out.append(value - r[-2] if len(r) >= 2 else 0.0)
            else:
                r = [*self.recent, value]
                out.append(max(r) - min(r))
        if learn:
            self.recent.append(value)
            self.prev = value
            self.mean = (
                value if self.mean is None else self.mean + self.dev_alpha * (value - self.mean)
            )
        return tuple(out)

    def scaled(self, raw: Sequence[float]) -> dict[str, float]:
        x = {}
        for name, v, lo, span in zip(self.features, raw, self.lo, self.span, strict=True):
            s = (v - lo) / span
            x[name] = 0.0 if s < 0.0 else 1.0 if s > 1.0 else s
        return x

    def _fit(self) -> None:
        los, spans = [], []
        for col in zip(*self.pending, strict=True):
            lo, hi = min(col), max(col)
            span = max(hi - lo, abs(hi) * 1e-3, 1e-6)
            los.append(lo - self.margin * span)
            spans.append(span * (1.0 + 2.0 * self.margin))
        self.lo, self.span = tuple(los), tuple(spans)
        rows = np.array([[self.scaled(r)[f] for f in self.features] for r in self.pending])
        self.model.score_learn_many(rows, features=self.features)
        self.learned += len(rows)
        self.pending = []

    def step(self, value: float, learn: bool) -> float | None:
        """HST's score of ``value`` (then learned unless ``learn`` is False); None if not ready."""
        raw = self.features_of(value, learn)
        if self.lo is None:
            if learn:
                self.pending.append(raw)
                if len(self.pending) >= self.warmup:
                    self._fit()
            return None
        ready = self.learned >= self.window
        x = self.scaled(raw)
        s = self.model.score_one(x)
        if learn:
            self.model.learn_one(x)
            self.learned += 1
        return s if ready else None

    def step_many(self, values: Sequence[float], learn: Sequence[bool]) -> list[float | None]:
        """``step`` for each sample in order (after the warm-up), with HST in batches."""
        n = len(values)
        if n == 0:
            return []
        raw = np.array([self.features_of(v, k) for v, k in zip(values, learn, strict=True)])
        raw = raw.reshape(n, len(self.features))
        lo, span = np.array(self.lo), np.array(self.span)
        X = np.clip((raw - lo) / span, 0.0, 1.0)
        learn_arr = np.asarray(learn, dtype=bool)
        ready = (self.learned + np.r_[0, np.cumsum(learn_arr)[:-1]]) >= self.window
        out = np.empty(n)
        j = 0
        while j < n:
            if learn_arr[j]:
                k = j
                while k < n and learn_arr[k]:
                    k += 1
                out[j:k] = self.model.score_learn_many(X[j:k], features=self.features)
                self.learned += k - j
                j = k
            else:
                out[j] = self.model.score_one(dict(zip(self.features, X[j].tolist(), strict=True)))
                j += 1
        return [float(v) if r else None for v, r in zip(out.tolist(), ready.tolist(), strict=True)]


class ForecastView:
    """Error of a one-step EWMA forecast in units of its running mean absolute error.

    The prediction is an EWMA of the level with weight ``alpha`` on the newest sample; the
    error's typical size is an EWMA (``rate``) of absolute errors. A sudden jump, spike or
    drop is many typical errors; a noise burst is a run of large ones. Returns None for the
    first ``ready`` samples while the typical error settles.
    """

    __slots__ = ("alpha", "rate", "ready", "level", "size", "n")

    def __init__(self, alpha: float = 0.5, rate: float = 0.01, ready: int = 50) -> None:
        self.alpha = alpha
        self.rate = rate
        self.ready = ready
        self.level: float | None = None
        self.size: float | None = None
        self.n = 0

    def step(self, value: float, learn: bool) -> float | None:
        if self.level is None:
            if learn:
                self.level = value
                self.n = 1
            return None
        ready = self.n > self.ready
        err = abs(value - self.level)
        size = err if self.size is None else self.size
        if size > 0.0:
            z = err / size
        else:
            z = 0.0 if err == 0.0 else 10.0
        if learn:
            self.size = err if self.size is None else size + self.rate * (err - size)
            self.level += self.alpha * (value - self.level)
            self.n += 1
        return z if ready else None


class ProfileView:
    """Distance from what this time slot of the day (or week) usually looks like.

    The period (a day, a week) is cut into ``slots``. Each visit to a slot (its samples from
    entering it to leaving it) is summarised by its mean level and by its mean absolute
    distance from the slot's profile level. When a visit ends, the slot's level moves
    towards the visit's mean by ``rate`` and its spread towards the visit's distance by
    ``spread_rate`` (the first visits are plain averages). A sample is scored by
    ``|value - level| / spread`` of its slot, which needs two finished visits (the first
    gives a level, the second a spread): the profile compares with earlier days (weeks), learns
    once per day (week) whatever the sample rate, and says nothing on a short recording.
    """

    __slots__ = ("period", "slots", "rate", "spread_rate", "level", "spread", "visits",
                 "_slot", "_period_no", "_n", "_sum", "_dev")  # fmt: skip

    def __init__(
        self, period: float = 86400.0, slots: int = 24, rate: float = 0.2, spread_rate: float = 0.2
    ) -> None:
        self.period = period
        self.slots = slots
        self.rate = rate
        self.spread_rate = spread_rate
        self.level: dict[int, float] = {}
        self.spread: dict[int, float] = {}
        self.visits: dict[int, int] = {}
        self._slot: int | None = None  # the visit in progress
        self._period_no = 0
        self._n = 0
        self._sum = 0.0
        self._dev = 0.0

    def step(self, value: float, t: float, learn: bool) -> float | None:
        if not math.isfinite(t):
            return None
        period_no, into = divmod(t, self.period)
        slot = min(self.slots - 1, int(into // (self.period / self.slots)))
        if learn and (slot != self._slot or period_no != self._period_no):
            self._close_visit()
            self._slot, self._period_no = slot, period_no
        spread = self.spread.get(slot)
        if spread is None:
            z = None
        else:
            err = abs(value - self.level[slot])
            z = err / spread if spread > 0.0 else (0.0 if err == 0.0 else 10.0)
        if learn:
            self._n += 1
            self._sum += value
            level = self.level.get(slot)
            if level is not None:
                self._dev += abs(value - level)
        return z

    def _close_visit(self) -> None:
        slot, n = self._slot, self._n
        if slot is None or n == 0:
            return
        mean = self._sum / n
        visits = self.visits.get(slot, 0)
        if visits == 0:
            self.level[slot] = mean
        else:
            dev = self._dev / n
            spread = self.spread.get(slot)
            if spread is None:
                self.spread[slot] = dev
            else:
                self.spread[slot] = spread + max(self.spread_rate, 1.0 / visits) * (dev - spread)
            self.level[slot] += max(self.rate, 1.0 / (visits + 1)) * (mean - self.level[slot])
        self.visits[slot] = visits + 1
        self._n, self._sum, self._dev = 0, 0.0, 0.0


class RangeRule:
    """A value beyond everything learned, by more than a tolerance.

    The tolerance is the larger of ``tolerance`` times the learned range (NAB's Numenta
    detector uses 5%) and ``steps`` typical sample-to-sample changes, so that a noisy channel
    whose baseline wanders does not fire on every new noise extreme. Silent during the warm-up.
    """

    __slots__ = ("warmup", "tolerance", "steps", "rate", "lo", "hi", "step_size", "prev", "n")

    def __init__(
        self, warmup: int = 250, tolerance: float = 0.05, steps: float = 3.0, rate: float = 0.01
    ) -> None:
        self.warmup = warmup
        self.tolerance = tolerance
        self.steps = steps
        self.rate = rate
        self.lo = math.inf
        self.hi = -math.inf
        self.step_size: float | None = None
        self.prev: float | None = None
        self.n = 0

    def step(self, value: float, learn: bool) -> bool:
        fired = False
        if self.n >= self.warmup and self.hi > self.lo:
            tol = max(self.tolerance * (self.hi - self.lo), self.steps * (self.step_size or 0.0))
            fired = value > self.hi + tol or value < self.lo - tol
        if learn:
            self.n += 1
            if value < self.lo:
                self.lo = value
            if value > self.hi:
                self.hi = value
            if self.prev is not None:
                d = abs(value - self.prev)
                self.step_size = (
                    d
                    if self.step_size is None
                    else self.step_size + self.rate * (d - self.step_size)
                )
            self.prev = value
        return fired


class StuckRule:
    """A run of identical readings far longer than this channel's usual runs.

    ``core.detect.FlatlineRule`` with three changes measured on NAB: the usual run length is
    learned over the warm-up before anything is flagged (a channel that idles at 0, or a
    square wave, has long runs from the start); a channel that has never changed is constant,
    not stuck; and a flagged run that ends on its own raises the bar to its own length, so a
    channel that holds values for long stretches by nature alerts once, not at every stretch.
    """

    __slots__ = ("warmup", "min_run", "factor", "run", "value", "longest", "changed", "n")

    def __init__(self, warmup: int = 250, min_run: int = 10, factor: float = 3.0) -> None:
        self.warmup = warmup
        self.min_run = min_run
        self.factor = factor
        self.run = 0
        self.value: float | None = None
        self.longest = 1
        self.changed = False
        self.n = 0

    def limit(self) -> int:
        return max(self.min_run, int(self.factor * self.longest))

    def step(self, value: float, learn: bool) -> int:
        """The run length when the channel counts as stuck, else 0 (learns unless told not)."""
        if not learn:
            return 0
        self.n += 1
        if value == self.value:
            self.run += 1
        else:
            if self.value is not None:
                self.changed = True
            if self.run < self.limit():
                self.longest = max(self.longest, self.run)
            else:
                self.longest = max(self.longest, math.ceil(self.run / self.factor))
            self.value = value
            self.run = 1
        if self.n <= self.warmup:
            self.longest = max(self.longest, self.run)
            return 0
        return self.run if self.changed and self.run >= self.limit() else 0


# --------------------------------------------------------------------------- the scorer


class ChannelScorer:
    """Scores one channel online: HST, forecaster and profiles calibrated, rules, refractory.

    ``score(value, t, learn)`` returns a score in [0, 1]; imputed samples are scored with
    ``learn=False`` and change nothing. ``reason`` says which view made the last score high
    (empty when it is below the threshold). ``score_many`` gives the same scores for an
    array, with HST computed in batches.

    >>> sc = ChannelScorer()
    >>> quiet = [sc.score(20.0 + 0.1 * ((i * 7) % 5), 60.0 * i) for i in range(1000)]
    >>> max(quiet) < sc.threshold
    True
    >>> sc.score(35.0, 60.0 * 1000) >= sc.threshold, sc.reason
    (True, 'outside the learned range')
    """

    def __init__(self, config: ScorerConfig | None = None) -> None:
        cfg = self.config = config or DEFAULT
        self.threshold = cfg.threshold
        self.hst = HstView(cfg) if cfg.hst else None
        lik = dict(
            avg=cfg.likelihood_avg, history=cfg.likelihood_history,
            min_history=cfg.likelihood_min_history, min_std=cfg.likelihood_min_std,
            power=cfg.likelihood_power,
        )  # fmt: skip
        self.hst_lik = Likelihood(**lik) if cfg.hst and cfg.hst_likelihood else None
        self.forecast = (
            ForecastView(cfg.forecast_alpha, cfg.forecast_error_rate, cfg.forecast_ready)
            if cfg.forecast
            else None
        )
        self.forecast_lik = Likelihood(**lik) if cfg.forecast else None
        self.profiles = [
            ProfileView(p, s, cfg.profile_rate, cfg.profile_spread_rate) for p, s in cfg.profiles
        ]
        self.profile_liks = [Likelihood(**lik) for _ in cfg.profiles]
        self.range = (
            RangeRule(cfg.warmup, cfg.range_tolerance, cfg.range_steps, cfg.range_step_rate)
            if cfg.range_rule
            else None
        )
        self.stuck = (
            StuckRule(cfg.warmup, cfg.stuck_min_run, cfg.stuck_factor) if cfg.stuck_rule else None
        )
        self.reason = ""
        self.learned = 0
        self._last_high = -(10**18)

    @property
    def warming_up(self) -> bool:
        return self.learned < self.config.warmup

    # -- one sample ------------------------------------------------------------------------

    def score(self, value: float, t: float = math.nan, learn: bool = True) -> float:
        """Score ``value`` at time ``t`` (epoch seconds); learn it unless ``learn`` is False."""
        value = float(value)
        if not math.isfinite(value):
            self.reason = ""
            return 0.0
        hst_raw = self.hst.step(value, learn) if self.hst is not None else None
        return self._finish(value, float(t), learn, hst_raw)

    def _finish(self, value: float, t: float, learn: bool, hst_raw: float | None) -> float:
        """Everything after HST; shared by score and score_many so both give the same."""
        cfg = self.config
        best, why = 0.0, ""
        if self.hst is not None:
            if self.hst_lik is not None:
                s = self.hst_lik.score(hst_raw, learn)
            else:
                s = 0.0 if hst_raw is None else hst_raw
            if s > best:
                best, why = s, "rare value for the recent window (HST)"
        if self.forecast is not None:
            z = self.forecast.step(value, learn)
            s = self.forecast_lik.score(None if z is None else _squash(z, cfg.squash), learn)
            if s > best:
                best, why = s, "sudden change against the forecast"
        for view, lik in zip(self.profiles, self.profile_liks, strict=True):
            z = view.step(value, t, learn)
            s = lik.score(None if z is None else _squash(z, cfg.squash), learn)
            if s > best:
                best = s
                why = f"unusual for this time of {'day' if view.period <= 86400.0 else 'week'}"
        if self.range is not None and self.range.step(value, learn):
            best, why = 1.0, "outside the learned range"
        if self.stuck is not None and self.stuck.step(value, learn):
            best, why = 1.0, f"stuck at {value:g}"
        if learn:
            self.learned += 1
        if best >= self.threshold:
            self.reason = why
            if cfg.refractory > 0:
                recent = self.learned - self._last_high <= cfg.refractory
                if learn:
                    self._last_high = self.learned
                if recent:
                    best = min(best, cfg.refractory_level * self.threshold)
        else:
            self.reason = ""
        return best

    # -- many samples ----------------------------------------------------------------------

    def score_many(
        self, values: np.ndarray, t: np.ndarray | None = None, learn: np.ndarray | None = None
    ) -> np.ndarray:
        """``score`` of every sample in order, identical results, HST in batches.

        ``learn`` (optional, bool per sample) is False for imputed samples.
        """
        values = np.asarray(values, dtype=np.float64)
        n = len(values)
        t = np.full(n, math.nan) if t is None else np.asarray(t, dtype=np.float64)
        learn = np.ones(n, dtype=bool) if learn is None else np.asarray(learn, dtype=bool)
        if t.shape != values.shape or learn.shape != values.shape:
            raise ValueError("values, t and learn must have one length")
        out = np.empty(n, dtype=np.float64)
        i = 0
        hst = self.hst
        # The warm-up (until the trees are built) goes one sample at a time.
        while i < n and hst is not None and hst.warming_up:
            out[i] = self.score(values[i], t[i], bool(learn[i]))
            i += 1
        vals, ts, lrn = values[i:].tolist(), t[i:].tolist(), learn[i:].tolist()
        finite = [math.isfinite(v) for v in vals]
        raws: list[float | None] = [None] * len(vals)
        if hst is not None and vals:
            keep = [j for j, f in enumerate(finite) if f]
            got = hst.step_many([vals[j] for j in keep], [lrn[j] for j in keep])
            for j, r in zip(keep, got, strict=True):
                raws[j] = r
        finish = self._finish
        for j in range(len(vals)):
            if finite[j]:
                out[i + j] = finish(vals[j], ts[j], lrn[j], raws[j])
            else:
                self.reason = ""
                out[i + j] = 0.0
        return out
