"""Per-channel online anomaly scoring: several cheap views of a channel, calibrated, combined.

:class:`ChannelScorer` scores one channel's samples in arrays (:meth:`ChannelScorer.score_many`),
in order, each sample scored before it is learned, with the same scores however the stream is
cut into arrays (to 1e-9; the arrays only change how much numpy does at once). Its score is in
[0, 1] and means the same on every channel: ``-log10(p) / 10`` for the probability ``p`` of the
channel's recent behaviour under what it has learned, per :attr:`ScorerConfig.score_period`
(10 s) of data on a channel sampled faster than that and per sample on a slower one, so 0.5 is
p = 1e-5 and the shipped threshold 0.55 is p = 10**-5.5.

The parts, and why each is there. Figures are from ``bench/nab_quality.py``, which runs every
variant through the pipeline as shipped (``sensorscope.series.load_series``, what ``sensorscope
evaluate`` runs): NAB standard raw (best threshold) / shipped (alerts as shipped) on the 18 files
of the NAB subset, and alerts per channel-hour on a healthy 10 Hz channel (gaussian noise on a
slow wave). The default: 83.0 / 79.2, 0.03 alerts per channel-hour; the default before
``score_period``, the HST average, the range delay and the longer refractory (``"previous"``):
77.5 / 77.9, 1.15 per channel-hour.

- **Half-Space Trees** (:class:`HstView`), kept because users asked for it: river's HST with
  river's defaults (10 trees, height 8, a window of 250 samples; ``sensorscope.detect.hst``:
  river's trees and scores, vectorised) on the value scaled by the warm-up range.
  Its raw score (how little mass the last window put where this sample lands) is compressed
  towards 1 and means different things on different channels, so it is never thresholded
  directly; it goes through the likelihood below, averaged over 30 samples rather than 10: one
  HST score is a noisy density estimate, and what HST sees (values moved to where the last
  window had little mass) lasts. On NAB it decides nothing the other parts would not (without
  it: the same figures); on fast channels it is what catches a level shift or a slow ramp
  inside the range the noise has covered (12/12 of each in the bench's subtle faults; 0/12
  without it). With the average of 10, a healthy 50 Hz channel alerts 0.13 times an hour (30:
  0.04; ``bench/nab_quality.py --noise-hz 50 --noise-hours 2 --noise-seeds 12``).
- **A streaming forecaster** (:class:`ForecastView`): the error of an EWMA prediction divided by
  the running mean absolute error. Jumps, spikes, drops and noise bursts are large errors.
  Without it NAB reads 82.4 / 80.4, but a 2 s noise burst inside the range is caught in 3 of 12
  runs instead of 8 (the bench's subtle faults, at 10 Hz).
- **Seasonal profiles** (:class:`ProfileView`), daily and weekly: each hour of the day, and each
  4-hour block of the week, keeps an average over earlier days (weeks) of the channel's level
  and spread. A sample far from what this time usually looks like (a missing daily peak, a
  holiday, a plateau at the wrong level) is a large profile error. A profile speaks only once
  its slot has two finished visits on earlier days (weeks), so it learns per day whatever the
  sample rate and stays silent on short recordings. Without the daily one: 72.4 / 69.6; without
  the weekly one: 77.6 / 74.9.
- **Anomaly likelihood** (:class:`Likelihood`), after NAB's leading detectors: each raw score is
  averaged over the last 10 samples, and that short-term mean is compared with the last 8640
  such means as a Gaussian upper tail. A channel whose raw scores are always noisy needs a much
  larger excursion than a quiet one, and one threshold fits every channel and every view. Raw
  errors enter it squashed as ``1 - exp(-z / 6)``. The means of skewed raw scores have heavier
  upper tails than the Gaussian's (on healthy noise, z > 4.4 happens 3 to 6 times as often as
  the Gaussian says), but NAB's real anomalies live in that tail: an exponential or generalised
  Pareto tail fitted to the history (``"try:tail-expo"``, ``"try:tail-gpd"``: 59.3 / 50.5 and
  70.5 / 63.5) and errors made near-Gaussian by a square root (``"try:error-sqrt"``: 76.6 / 74.4)
  all cost more than they bring; the false alerts are cut per score_period instead.
- **Scores per score_period** on fast channels: a channel sampled every ``dt`` seconds tests
  ``score_period / dt`` samples in each period, so its statistical scores are lowered by
  ``log10(score_period / dt) / 10`` (0.2 at 10 Hz, 0.27 at 50 Hz; nothing at NAB's 5 minutes, so
  NAB is unchanged). ``dt`` is the median gap between the first 33 learned samples. A person
  watching a board counts false alerts per hour, not per sample: at 10 Hz the per-sample score
  alerted 1.15 times per channel-hour, per 10 s it alerts 0.03 times (50 Hz: 6.0 against 0.04);
  the price is a 2 s noise burst inside the range caught in 8 of 12 runs instead of 12.
  Averaging over 10 s instead (``"try:seconds-10"``) catches 2 of them.
- **Count channels stabilised** (:class:`sensorscope.detect.stabilise.Stabiliser`,
  ``count_transform``): a channel whose first 33 learned values are non-negative integers
  counted in ones with variance at least their mean (event counts, social volumes) reaches the
  views and the range rule through Anscombe's square root, so a busy hour's Poisson noise is
  no larger than a quiet one's. On the simulator's bursty counts (``sensorscope.simulate.
  counts``, 10 healthy two-week runs) false alerts fall from 1.30 to 0.60 a week, and of 30
  real anomalies 27 are caught instead of 25 (drops 8/10 against 5/10, one broken rhythm
  lost); NAB's LOCO mean is unchanged (82.7; nyc_taxi is the one NAB count channel).
  log1p (``"try:count-log"``: 0.38 a week on 4 runs, but no broken rhythm caught) and the
  negative binomial's transform (``"try:count-nb"``: 0.62 a week, no rhythm caught either)
  flatten the daily shape too much.
- **Two rules** for what statistics see late or not at all: a stuck sensor (:class:`StuckRule`:
  a run of identical readings far longer than the channel's usual runs, learned over the
  warm-up) and a value beyond everything learned (:class:`RangeRule`, tolerance 5% of the range
  or 3 typical steps, after NAB's Numenta detector). The learned range leaves out the last 10
  learned samples, so a drift that creeps by less than the tolerance per sample does not drag
  the range along (NAB raw 78.6 without the delay; the demo's drifts are then caught by the
  forecaster at scores just over the threshold, or late).
- **One alert per event** (the refractory step): once a sample has scored at or above the
  threshold, further high scores within the next 100 samples are lowered below it. NAB counts
  every row above the threshold and rewards only the earliest one in a window, and a person
  watching the monitor wants an anomaly announced at its start rather than a stream of alerts.
  50 samples: 82.4 / 77.9; 200: 83.7 / 80.0, but 250 fell to 72.8 / 69.4 when measured before
  the stuck rule's fix (windows that follow each other closely are lost), so 100 keeps its
  distance from that edge.

The view with the highest calibrated score decides; ``sensorscope.model.REASONS`` names it for
the alert. (Lowering the maximum by the number of views that scored, ``"try:bonferroni"``:
81.7 / 78.4.)

What is learned: ``score_many`` takes ``learn`` (the sample enters the statistics: HST, the
forecaster, the profiles, the likelihoods, the learned range) and ``observed`` (the sample is a
real reading, not imputed: it counts towards stuck runs). The pipeline passes ``learn=False``
for imputed samples, samples inside an open alert episode and samples a fault rule flagged, so
an anomaly does not teach the scorer that it is normal.

Defaults to ship with (``sensorscope.detect.config``): threshold ``DEFAULT_THRESHOLD`` (0.55)
and hysteresis ``DEFAULT_HYSTERESIS`` (10 samples). ``ChannelScorer.threshold`` is what the
refractory step guards, so a channel's threshold changed by the user is set there too. The
plain behaviour, HST on the warm-up-scaled raw value with no calibration and no rules, is the
variant ``"hst-raw"`` (threshold 0.98, hysteresis 10).

The views are plugged in through :data:`VIEWS`: each is one file (the view, behind the
:class:`sensorscope.detect.base.View` protocol, and a builder from the config) and one line
there; the scorer runs them in that order (the first of equal scores decides), calibrates
each through its likelihood and combines them, then the rules and the refractory step.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from sensorscope.detect.base import CalibratedView, Scored
from sensorscope.detect.config import DEFAULT, ScorerConfig
from sensorscope.detect.forecast import forecast_views
from sensorscope.detect.hst_view import hst_views
from sensorscope.detect.likelihood import Likelihood
from sensorscope.detect.local import local_views
from sensorscope.detect.profile import profile_views
from sensorscope.detect.refractory import RefractoryGate
from sensorscope.detect.rules import RangeRule, StuckRule
from sensorscope.detect.stabilise import Stabiliser
from sensorscope.model import REASONS, Reason

__all__ = ["INTERVAL_GAPS", "VIEWS", "ChannelScorer"]

#: The default scorer's views, in the order they are run: a builder each, from the config to
#: the views it asks for (none when the config turns the view off).
VIEWS: tuple[Callable[[ScorerConfig], list[CalibratedView]], ...] = (
    hst_views,
    forecast_views,
    profile_views,
    local_views,
)
# Gaps between learned samples from which a channel's usual sample interval is taken.
INTERVAL_GAPS = 32


class ChannelScorer:
    """Scores one channel online: HST, forecaster and profiles calibrated, rules, refractory.

    ``score_many(values, t, learn, observed)`` returns a :class:`Scored` (scores in [0, 1],
    reason codes, evidence); ``score(value, t, learn)`` scores one sample and leaves its reason
    in ``reason``. ``checkpoint``/``restore`` let the pipeline score ahead and go back (to stop
    learning from the moment an alert opens). ``interval`` is the channel's usual sample
    interval in seconds once learned (None before; it sets the ``score_period`` step).

    >>> sc = ChannelScorer()
    >>> i = np.arange(1000)
    >>> quiet = sc.score_many(20.0 + 0.1 * ((i * 7) % 5), 60.0 * i).score
    >>> bool(quiet.max() < sc.threshold)
    True
    >>> sc.score(35.0, 60.0 * 1000) >= sc.threshold, sc.reason
    (True, 'beyond its range')
    """

    def __init__(self, config: ScorerConfig | None = None) -> None:
        cfg = self.config = config or DEFAULT
        self.threshold = cfg.threshold
        self.views = [v for build in VIEWS for v in build(cfg)]
        self.range = (
            RangeRule(
                cfg.warmup,
                cfg.range_tolerance,
                cfg.range_steps,
                cfg.range_step_rate,
                cfg.range_delay,
            )  # fmt: skip
            if cfg.range_rule
            else None
        )
        self.stuck = (
            StuckRule(cfg.warmup, cfg.stuck_min_run, cfg.stuck_factor) if cfg.stuck_rule else None
        )
        self.stabiliser = Stabiliser(cfg.count_transform)
        self.reason = ""
        self.learned = 0
        self.seen = 0  # samples scored, learned or not: the refractory step counts these
        self.gate = RefractoryGate(cfg)
        # The usual sample interval (s), from the times of the first learned samples.
        self._times: tuple[float, ...] = ()
        self.interval: float | None = None

    @property
    def warming_up(self) -> bool:
        # Until the range is known (a slow rhythm seen through), its rule is silent: the
        # channel says so rather than look fully watched.
        if self.learned < self.config.warmup:
            return True
        return self.range is not None and not self.range.armed

    def _parts(self) -> list[Any]:
        views = [p for v in self.views for p in (v.view, v.likelihood) if p is not None]
        return [p for p in (*views, self.range, self.stuck, self.stabiliser) if p is not None]

    def checkpoint(self) -> tuple[Any, ...]:
        return (
            [p.checkpoint() for p in self._parts()], self.learned, self.seen,
            self.gate.checkpoint(), self.reason, self._times, self.interval,
        )  # fmt: skip

    def restore(self, state: tuple[Any, ...]) -> None:
        parts, self.learned, self.seen, gate, self.reason, self._times, self.interval = state
        self.gate.restore(gate)
        for p, s in zip(self._parts(), parts, strict=True):
            p.restore(s)

    def learn_late(self, values: np.ndarray) -> None:
        """Learn samples that were held back (an alert later labelled a false positive), in
        the parts where their order does not matter: HST's masses and the learned range."""
        v = np.asarray(values, dtype=np.float64)
        v = v[np.isfinite(v)]
        if not len(v):
            return
        for cv in self.views:
            if not cv.view.warming_up:
                cv.view.learn_late(v)
        if self.range is not None and self.range.n:
            self.range.widen(v)

    def expected(self, why: int, t: float, back: int = 0) -> tuple[float, float] | None:
        """The band of the view (or rule) behind ``why`` for the latest sample scored (or the
        one ``back`` before it); for a view with none of its own, and for the error-value and
        limit rules, the learned range; a stuck sensor has none."""
        for cv in self.views:
            if cv.view.reason == why:
                band = cv.view.expected(t, back) if back else cv.view.expected(t)
                if band is not None:
                    return band
        if why == Reason.STUCK or self.range is None:
            return None
        return self.range.band()

    def score(self, value: float, t: float = math.nan, learn: bool = True) -> float:
        """Score one sample (``learn=False``: imputed; scored, nothing learned)."""
        got = self.score_many(np.array([value]), np.array([t]), np.array([learn]))
        return float(got.score[0])

    def _learn_interval(self, t: np.ndarray, learn: np.ndarray) -> int:
        """Learn the channel's usual sample interval: the median gap between its first
        :data:`INTERVAL_GAPS` + 1 learned samples with times. Returns the index in this batch
        after which it is known (-1: known before this batch; ``len(t)``: not yet)."""
        if self.interval is not None:
            return -1
        ok = np.flatnonzero(learn & np.isfinite(t))
        need = INTERVAL_GAPS + 1 - len(self._times)
        self._times = self._times + tuple(t[ok[:need]].tolist())
        if len(self._times) < INTERVAL_GAPS + 1:
            return len(t)
        gaps = np.diff(np.array(self._times))
        gaps = gaps[gaps > 0.0]
        self.interval = float(np.median(gaps)) if len(gaps) else math.inf
        self._times = ()
        return int(ok[need - 1])

    def _period_shift(self, n: int, known_at: int) -> np.ndarray | float:
        """How much each sample's statistical scores are lowered for a fast channel:
        ``log10(score_period / interval) / 10`` (at least 0), so that the score is of the
        probability of what was seen within a ``score_period`` of normal data rather than
        within one sample. Nothing is lowered until the interval is known."""
        period = self.config.score_period
        iv = self.interval
        if period <= 0.0 or iv is None or not 0.0 < iv < math.inf:
            return 0.0
        shift = max(0.0, math.log10(period / iv)) / 10.0
        return shift if known_at < 0 else np.where(np.arange(n) > known_at, shift, 0.0)

    def _fit_average(self, lik: Likelihood, raw: np.ndarray, known_at: int) -> None:
        """Give a likelihood its short-term window once, before its first raw score: at
        least ``likelihood_seconds`` of samples when the interval is known by then."""
        if lik.started:
            return
        ready = np.flatnonzero(~np.isnan(raw))
        if not len(ready):
            return
        lik.started = True
        iv, secs = self.interval, self.config.likelihood_seconds
        if secs > 0.0 and iv is not None and 0.0 < iv < math.inf and int(ready[0]) > known_at:
            lik.avg = max(lik.avg, math.ceil(secs / iv - 1e-9))

    def score_many(
        self,
        values: np.ndarray,
        t: np.ndarray | None = None,
        learn: np.ndarray | None = None,
        observed: np.ndarray | None = None,
        held: np.ndarray | None = None,
    ) -> Scored:
        """Score every sample in order, each before it is learned.

        ``learn`` (bool per sample, default all): the sample enters the statistics.
        ``observed`` (default ``learn``): the sample is a real reading (stuck runs count it).
        ``held`` (default none): the sample is inside an alert episode; the parts named in
        the config's ``hold_parts`` do not learn it.
        Non-finite values score 0 and are neither learned nor observed.
        """
        values = np.asarray(values, dtype=np.float64)
        n = len(values)
        t = np.full(n, math.nan) if t is None else np.asarray(t, dtype=np.float64)
        learn = np.ones(n, dtype=bool) if learn is None else np.asarray(learn, dtype=bool)
        observed = learn if observed is None else np.asarray(observed, dtype=bool)
        if t.shape != values.shape or learn.shape != values.shape or observed.shape != t.shape:
            raise ValueError("values, t, learn and observed must have one length")
        finite = np.isfinite(values)
        if not finite.all():
            learn = learn & finite
            observed = observed & finite
            values = np.where(finite, values, 0.0)
        held_learn = learn if held is None else learn & ~np.asarray(held, dtype=bool)
        holds = self.config.hold_parts

        def learns(part: str) -> np.ndarray:
            return held_learn if part in holds else learn

        known_at = self._learn_interval(t, learn)
        stable = self._stabilised(values, t, learn, learns)
        if stable is None:  # held back until the channel's transform is decided
            best, why = np.zeros(n), np.zeros(n, dtype=np.int8)
        else:
            best, why = self._views(stable, t, learns, known_at)
        range_held = None if held is None or "range" not in holds else np.asarray(held, bool)
        best = self._rules(stable, values, learns("range"), observed, best, why, range_held)
        best = np.where(finite, best, 0.0)
        why[~finite] = Reason.NONE
        self.learned += int(held_learn.sum())
        evidence = best.copy()
        self.gate.apply(best, why, self.seen + np.arange(n), self.threshold)
        self.seen += n
        if n:
            last = int(why[-1])
            self.reason = (
                REASONS[last].format(value=values[-1]) if best[-1] >= self.threshold else ""
            )
        return Scored(best, why, evidence)

    def _stabilised(
        self, values: np.ndarray, t: np.ndarray, learn: np.ndarray,
        learns: Callable[[str], np.ndarray],
    ) -> np.ndarray | None:  # fmt: skip
        """The values the views and the range rule see (``sensorscope.detect.stabilise``).
        Until the channel's transform is decided, batches are held back (their views would
        still be warming up: nothing is lost), then replayed through the views in order."""
        st = self.stabiliser
        if st.kind is None:
            parts = {cv.view.part for cv in self.views} | {"likelihood", "range"}
            masks = {p: learns(p) for p in sorted(parts)}
            if st.decide(values[learn]) < 0:
                st.pending = (*st.pending, (values, t, masks))
                return None
            for v, tt, m in st.pending:
                self._views(st.apply(v), tt, m.__getitem__, len(v))
                if self.range is not None:
                    self.range.run(st.apply(v), m["range"])
            st.pending = ()
        return st.apply(values)

    def _views(
        self,
        values: np.ndarray,
        t: np.ndarray,
        learns: Callable[[str], np.ndarray],
        known_at: int,
    ) -> tuple[np.ndarray, np.ndarray]:
        """The statistical views, each calibrated: the highest score per sample and the
        reason code of the view that gave it (the first of equal ones)."""
        n = len(values)
        best = np.zeros(n)
        why = np.zeros(n, dtype=np.int8)
        shift = self._period_shift(n, known_at)
        for cv in self.views:
            view, lik = cv.view, cv.likelihood
            raw = view.run(values, t, learns(view.part))
            if lik is None:
                # nan_to_num's NaN to 0 in one pass when nothing is infinite (raw HST scores).
                inf = np.isinf(raw).any()
                s = np.nan_to_num(raw, nan=0.0) if inf else np.where(np.isnan(raw), 0.0, raw)
            else:
                x = view.likelihood_input(raw)
                self._fit_average(lik, x, known_at)
                s = lik.run(x, learns("likelihood"))
            s = np.maximum(s - shift, 0.0)
            better = s > best
            best = np.where(better, s, best)
            why[better] = view.reason
        if self.config.combine == "bonferroni":
            liks = [cv.likelihood for cv in self.views if cv.likelihood is not None]
            k = np.sum([x.active for x in liks], axis=0) if liks else np.zeros(n)
            best = np.maximum(best - np.log10(np.maximum(k, 1)) / 10.0, 0.0)
        return best, why

    def _rules(
        self, stable: np.ndarray | None, values: np.ndarray, learn: np.ndarray,
        observed: np.ndarray, best: np.ndarray, why: np.ndarray,
        held: np.ndarray | None = None,
    ) -> np.ndarray:  # fmt: skip
        """Where a rule fires the score is 1 and the rule is the reason (the stuck rule over
        the range rule). The range rule sees the stabilised values, the stuck rule the raw."""
        if self.range is not None and stable is not None:
            fired = self.range.run(stable, learn, held)
            best = np.where(fired, 1.0, best)
            why[fired] = Reason.RANGE
        if self.stuck is not None:
            fired = self.stuck.run(values, observed) > 0
            best = np.where(fired, 1.0, best)
            why[fired] = Reason.STUCK
        return best

    def quiet(self, on: bool) -> None:
        """The engine's word that the high it just scored last opened an episode that repeats
        a labelled false positive (``on``), or that such an episode is over or announced
        (:class:`sensorscope.detect.refractory.RefractoryGate`)."""
        self.gate.quiet(on, self.seen - 1)
