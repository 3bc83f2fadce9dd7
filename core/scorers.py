"""Per-channel online anomaly scoring: several cheap views of a channel, calibrated, combined.

:class:`ChannelScorer` scores one channel's samples in arrays (:meth:`ChannelScorer.score_many`),
in order, each sample scored before it is learned, with the same scores however the stream is
cut into arrays (to 1e-9; the arrays only change how much numpy does at once). Its score is in
[0, 1] and means the same on every channel: ``-log10(p) / 10`` for the probability ``p`` of the
channel's recent behaviour under what it has learned, per :attr:`ScorerConfig.score_period`
(10 s) of data on a channel sampled faster than that and per sample on a slower one, so 0.5 is
p = 1e-5 and the shipped threshold 0.55 is p = 10**-5.5.

The parts, and why each is there. Figures are from ``bench/nab_quality.py``, which runs every
variant through the pipeline as shipped (``sensorscope.scored.load_series``, what ``sensorscope
evaluate`` runs): NAB standard raw (best threshold) / shipped (alerts as shipped) on the 18 files
of the NAB subset, and alerts per channel-hour on a healthy 10 Hz channel (gaussian noise on a
slow wave). The default: 83.0 / 79.2, 0.03 alerts per channel-hour; the default before
``score_period``, the HST average, the range delay and the longer refractory (``"previous"``):
77.5 / 77.9, 1.15 per channel-hour.

- **Half-Space Trees** (:class:`HstView`), kept because users asked for it: river's HST with
  river's defaults (10 trees, height 8, a window of 250 samples; ``sensorscope.hst``: river's
  trees and scores, vectorised) on the value scaled by the warm-up range.
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

The view with the highest calibrated score decides; :data:`REASONS` names it for the alert.
(Lowering the maximum by the number of views that scored, ``"try:bonferroni"``: 81.7 / 78.4.)

What is learned: ``score_many`` takes ``learn`` (the sample enters the statistics: HST, the
forecaster, the profiles, the likelihoods, the learned range) and ``observed`` (the sample is a
real reading, not imputed: it counts towards stuck runs). The pipeline passes ``learn=False``
for imputed samples, samples inside an open alert episode and samples a fault rule flagged, so
an anomaly does not teach the scorer that it is normal.

Defaults to ship with: threshold :data:`DEFAULT_THRESHOLD` (0.55) and hysteresis
:data:`DEFAULT_HYSTERESIS` (10 samples). ``ChannelScorer.threshold`` is what the refractory step
guards, so a channel's threshold changed by the user is set there too. The plain behaviour, HST
on the warm-up-scaled raw value with no calibration and no rules, is the variant ``"hst-raw"``
(threshold 0.98, hysteresis 10).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields, replace
from typing import Any, NamedTuple

import numpy as np

from sensorscope.hst import HalfSpaceTrees
from sensorscope.model import REASONS, Reason

__all__ = [
    "DEFAULT_HYSTERESIS",
    "DEFAULT_THRESHOLD",
    "REASONS",
    "VARIANTS",
    "ChannelScorer",
    "ForecastView",
    "HstView",
    "Likelihood",
    "ProfileView",
    "RangeRule",
    "ScorerConfig",
    "Scored",
    "StuckRule",
    "config_from_params",
    "make_scorer",
]

#: The score at or above which an alert opens: p = 10**-5.5 on the likelihood's log scale.
DEFAULT_THRESHOLD = 0.55
#: Samples below the threshold that close an alert episode (as ``sensorscope.alerts`` ships).
DEFAULT_HYSTERESIS = 10

# Reason codes: which part made a sample's score what it is.
WHY_NONE, WHY_HST, WHY_FORECAST, WHY_DAILY, WHY_WEEKLY, WHY_RANGE, WHY_STUCK = (
    Reason.NONE, Reason.HST, Reason.FORECAST, Reason.DAILY, Reason.WEEKLY, Reason.RANGE,
    Reason.STUCK)  # fmt: skip
_LN10 = math.log(10.0)
_LN_HALF = math.log(0.5)
_SQRT_HALF = math.sqrt(0.5)
# Gaps between learned samples from which a channel's usual sample interval is taken.
INTERVAL_GAPS = 32
# Below this many items a recurrence runs as a plain loop: numpy's per-call cost dominates.
_SMALL = 64


# --------------------------------------------------------------------------- numeric helpers


def count_before(mask: np.ndarray) -> np.ndarray:
    """For each position, how many of the earlier positions are True.

    >>> count_before(np.array([True, False, True, True])).tolist()
    [0, 1, 1, 2]
    """
    c = np.cumsum(mask, dtype=np.int64)
    return c - mask


def ewma_states(x: np.ndarray, alpha: float, y0: float) -> np.ndarray:
    """States of ``y <- y + alpha * (x_k - y)`` from ``y0``: ``out[k]`` is the state after k steps.

    ``len(out) == len(x) + 1``. Long inputs use a doubling scan: the recurrence is linear, so
    after step ``s`` of ``log2(n)`` vector passes every state holds the weighted sum of the
    last ``2**s`` inputs. (A blocked matrix product would be faster on paper, but BLAS spreads
    it over threads that spin and take the cores from the reader thread.)

    >>> ewma_states(np.array([1.0, 1.0, 3.0]), 0.5, 0.0).tolist()
    [0.0, 0.5, 0.75, 1.875]
    """
    x = np.asarray(x, dtype=np.float64)
    n = len(x)
    if n < _SMALL:
        out = [y0]
        y = y0
        for v in x.tolist():
            y += alpha * (v - y)
            out.append(y)
        return np.array(out)
    b = 1.0 - alpha
    z = alpha * x
    p, step = b, 1
    while step < n and p > 0.0:
        z[step:] += p * z[:-step]
        p *= p
        step *= 2
    out = np.empty(n + 1)
    out[0] = y0
    if y0 != 0.0:
        with np.errstate(under="ignore"):
            z += y0 * np.power(b, np.arange(1, n + 1))
    out[1:] = z
    return out


def log_scores(z: np.ndarray) -> np.ndarray:
    """``-log10(p) / 10`` clipped to [0, 1] for the Gaussian upper tail ``p`` of each ``z``.

    Computed in logs throughout, so a z of 40 is a score of 1 rather than an underflow: the
    complementary error function by the rational Chebyshev fit of Numerical Recipes' ``erfcc``
    (fractional error below 1.2e-7 everywhere, so scores are right to 1e-8).

    >>> [f"{s:.6f}" for s in log_scores(np.array([-3.0, 0.0, 4.264891, 30.0]))]
    ['0.000059', '0.030103', '0.500000', '1.000000']
    """
    z = np.asarray(z, dtype=np.float64)
    x = np.abs(z) * _SQRT_HALF
    t = 1.0 / (1.0 + 0.5 * x)
    poly = -1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 + t * (
        -0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (
            -0.82215223 + t * 0.17087277))))))))  # fmt: skip
    ln_erfc = np.log(t) - x * x + poly  # ln erfc(|z| / sqrt 2)
    # Upper tail: 0.5 * erfc(z / sqrt 2); for z < 0 it is 1 - 0.5 * erfc(|z| / sqrt 2).
    ln_tail = np.where(z >= 0.0, _LN_HALF + ln_erfc, np.log1p(-0.5 * np.exp(ln_erfc)))
    s = -ln_tail / (10.0 * _LN10)
    s = np.where(np.isnan(z), 0.0, s)
    return np.clip(s, 0.0, 1.0)


def _squash(z: np.ndarray, scale: float) -> np.ndarray:
    """Errors in units of their typical size mapped into [0, 1): 1 - exp(-z / scale)."""
    return -np.expm1(-z / scale)


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

    # Half-Space Trees with river's defaults, on these features scaled by the warm-up range.
    hst: bool = True
    hst_features: tuple[str, ...] = ("value",)
    hst_trees: int = 10
    hst_height: int = 8
    hst_window: int = 250
    #: The warm-up range fills the middle fifth of HST's [0, 1] (as sensorscope.detect does).
    scale_margin: float = 2.0
    #: Weight of the newest sample in the slow mean behind the ``dev`` feature.
    hst_dev_alpha: float = 0.05
    #: Calibrate HST through the likelihood (False: HST's own score is the score).
    hst_likelihood: bool = True
    #: HST's own short-term average in the likelihood (0: ``likelihood_avg``).
    hst_likelihood_avg: int = 30

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
    #: The likelihoods of the forecaster and profiles see ``squash(z ** error_power,
    #: error_squash)`` (1: the squashed error itself).
    error_power: float = 1.0
    error_squash: float = 3.0
    #: HST's likelihood sees ``1 - (1 - score) ** hst_power``.
    hst_power: float = 1.0
    #: How the views' scores combine: "max", or "bonferroni" (the max lowered by
    #: log10(views that scored) / 10: the chance that any of k views is this unusual).
    combine: str = "max"
    #: Seconds: a channel sampled faster than this has its statistical scores lowered by
    #: ``log10(score_period / interval) / 10`` (0: never).
    score_period: float = 10.0

    # Anomaly likelihood over every statistical view.
    likelihood_avg: int = 10
    #: ...and at least this many seconds of samples, on a channel whose sample interval is
    #: known before its first raw score (0: samples only).
    likelihood_seconds: float = 0.0
    likelihood_history: int = 8640
    likelihood_min_history: int = 300
    likelihood_min_std: float = 1e-3
    #: Short-term means are compared as ``mean ** power`` (1: as they are).
    likelihood_power: float = 1.0
    #: The upper tail the means are compared with: "gauss", or "expo" (exponential above the
    #: ``likelihood_tail_quantile`` of the history where heavier than the Gaussian, refitted
    #: every ``likelihood_tail_refit`` learned means).
    likelihood_tail: str = "gauss"
    likelihood_tail_quantile: float = 0.95
    likelihood_tail_refit: int = 1000

    # Rules.
    range_rule: bool = True
    range_tolerance: float = 0.05
    range_steps: float = 3.0
    range_step_rate: float = 0.01
    #: Learned samples a value must be older than to count in the learned range.
    range_delay: int = 10
    stuck_rule: bool = True
    stuck_min_run: int = 10
    stuck_factor: float = 3.0

    #: Parts that do not learn from samples inside an open alert episode (of: hst, forecast,
    #: profiles, likelihood, range): the models of what is normal. The forecaster follows the
    #: level and the likelihoods the noise of the scores, so they keep learning: holding the
    #: likelihoods back costs 2.3 / 1.1 points of NAB standard raw / shipped, the forecaster
    #: 1.9 / 1.5 (``sensorscope evaluate ... --param hold_parts=hst+profiles+range+likelihood``);
    #: holding nothing back scores 83.4 / 79.5 against 83.0 / 79.2, but then a fault widens
    #: the learned range and a repeat of it goes unseen (tests/core/test_engine.py).
    hold_parts: tuple[str, ...] = ("hst", "profiles", "range")

    # One alert per event: high scores this many samples after the last one are lowered.
    refractory: int = 100
    #: A lowered score is at most this fraction of the threshold, so no new alert opens.
    refractory_level: float = 0.6

    def with_(self, **changes: Any) -> ScorerConfig:
        """A copy with ``changes`` (a new name included when given)."""
        return replace(self, **changes)


DEFAULT = ScorerConfig()

_PARTS_OFF = dict(forecast=False, profiles=(), range_rule=False, stuck_rule=False, refractory=0)


def _try(name: str, **changes: Any) -> ScorerConfig:
    return DEFAULT.with_(name=name, **changes)


#: The measured variants, by name (``bench/nab_quality.py`` prints one row each).
VARIANTS: dict[str, ScorerConfig] = {
    # HST on the warm-up-scaled raw value, its own score thresholded: the plain behaviour.
    "hst-raw": _try(
        "hst-raw", hst_likelihood=False, threshold=0.98, score_period=0.0, **_PARTS_OFF
    ),  # fmt: skip
    # The default built up one part at a time.
    "hst+likelihood": _try("hst+likelihood", **_PARTS_OFF),
    "+forecast": _try("+forecast", profiles=(), range_rule=False, stuck_rule=False, refractory=0),
    "+profiles": _try("+profiles", range_rule=False, stuck_rule=False, refractory=0),
    "+range": _try("+range", stuck_rule=False, refractory=0),
    "+stuck": _try("+stuck", refractory=0),
    "default": DEFAULT,
    # The default before fast channels were calibrated per score_period (commit ba260a8).
    "previous": _try(
        "previous", score_period=0.0, hst_likelihood_avg=0, range_delay=0, refractory=50
    ),
    # The default without one part.
    "default-hst": _try("default-hst", hst=False),
    "default-forecast": _try("default-forecast", forecast=False),
    "default-daily": _try("default-daily", profiles=(DEFAULT.profiles[1],)),
    "default-weekly": _try("default-weekly", profiles=(DEFAULT.profiles[0],)),
    "default-range": _try("default-range", range_rule=False),
    "default-stuck": _try("default-stuck", stuck_rule=False),
    "default-refractory": _try("default-refractory", refractory=0),
    "default-period": _try("default-period", score_period=0.0),
    "default-hst-avg": _try("default-hst-avg", hst_likelihood_avg=0),
    "default-range-delay": _try("default-range-delay", range_delay=0),
    # Other settings tried, each one change from the default.
    "try:hst-value-diff": _try("try:hst-value-diff", hst_features=("value", "diff")),
    "try:hst-dev-diff": _try("try:hst-dev-diff", hst_features=("dev", "diff")),
    "try:hst-window-100": _try("try:hst-window-100", hst_window=100),
    "try:hst-window-500": _try("try:hst-window-500", hst_window=500),
    "try:hst-shingle-3": _try("try:hst-shingle-3", hst_features=("value", "lag1", "lag2")),
    "try:hst-power-2": _try("try:hst-power-2", hst_power=2.0),
    "try:hst-avg-50": _try("try:hst-avg-50", hst_likelihood_avg=50),
    "try:squash-3": _try("try:squash-3", squash=3.0),
    "try:error-sqrt": _try("try:error-sqrt", error_power=0.5),
    "try:avg-5": _try("try:avg-5", likelihood_avg=5),
    "try:avg-20": _try("try:avg-20", likelihood_avg=20),
    "try:cube-root": _try("try:cube-root", likelihood_power=1 / 3),
    "try:tail-expo": _try("try:tail-expo", likelihood_tail="expo"),
    "try:tail-gpd": _try("try:tail-gpd", likelihood_tail="gpd", likelihood_tail_quantile=0.98),
    "try:bonferroni": _try("try:bonferroni", combine="bonferroni"),
    "try:seconds-10": _try(
        "try:seconds-10", score_period=0.0, hst_likelihood_avg=0, likelihood_seconds=10.0
    ),
    "try:period-5": _try("try:period-5", score_period=5.0),
    "try:period-30": _try("try:period-30", score_period=30.0),
    "try:range-delay-50": _try("try:range-delay-50", range_delay=50),
    "try:refractory-50": _try("try:refractory-50", refractory=50),
    "try:refractory-200": _try("try:refractory-200", refractory=200),
    "try:threshold-0.5": _try("try:threshold-0.5", threshold=0.5),
    "try:threshold-0.65": _try("try:threshold-0.65", threshold=0.65),
    "try:daily-12-slots": _try("try:daily-12-slots", profiles=((86400.0, 12), DEFAULT.profiles[1])),
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


def config_from_params(base: ScorerConfig, params: dict[str, Any]) -> ScorerConfig:
    """``base`` with ``--param`` overrides (``hst_trees=25``), each checked and converted.

    >>> config_from_params(DEFAULT, {"hst_trees": 25, "profiles": "none"}).hst_trees
    25
    >>> config_from_params(DEFAULT, {"trees": 3})
    Traceback (most recent call last):
    ...
    ValueError: the default scorer has no parameter 'trees'
    """
    known = {f.name: f for f in fields(ScorerConfig)}
    changes: dict[str, Any] = {}
    for key, value in params.items():
        if key not in known or key == "name":
            raise ValueError(f"the {base.name} scorer has no parameter {key!r}")
        old = getattr(base, key)
        try:
            if key == "profiles":
                changes[key] = _profiles(value)
            elif isinstance(old, tuple):  # names: "a+b", or "none"
                if isinstance(value, str) and value.lower() in ("none", ""):
                    items = []
                else:
                    items = value if isinstance(value, (list, tuple)) else str(value).split("+")
                changes[key] = tuple(str(x).strip() for x in items if str(x).strip())
            elif isinstance(old, bool):
                if not isinstance(value, bool):
                    raise ValueError("expected true or false")
                changes[key] = value
            elif isinstance(old, int) and key != "seed":
                if not _is_number(value) or float(value) != int(value):
                    raise ValueError("expected a whole number")
                changes[key] = int(value)
            elif isinstance(old, float):
                if not _is_number(value):
                    raise ValueError("expected a number")
                changes[key] = float(value)
            elif isinstance(old, str):
                changes[key] = str(value)
            else:
                if value is not None and (not _is_number(value) or float(value) != int(value)):
                    raise ValueError("expected a whole number or none")
                changes[key] = None if value is None else int(value)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"bad value {value!r} for {key}: {exc}") from None
    cfg = base.with_(**changes)
    HstView(cfg) if cfg.hst else None  # a bad feature name fails here, before any data
    return cfg


def _is_number(value: Any) -> bool:
    """A finite int or float as ``--param`` parses them (not a bool, not a word)."""
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _profiles(value: Any) -> tuple[tuple[float, int], ...]:
    """``"none"``, ``"daily"``, ``"weekly"``, ``"daily+weekly"`` or ``"86400:24+604800:42"``."""
    if value is None or (isinstance(value, str) and value.lower() in ("none", "off", "")):
        return ()
    if isinstance(value, (list, tuple)):
        return tuple((float(p), int(s)) for p, s in value)
    named = {"daily": DEFAULT.profiles[0], "weekly": DEFAULT.profiles[1]}
    out = []
    for part in str(value).split("+"):
        part = part.strip().lower()
        if part in named:
            out.append(named[part])
        else:
            period, _, slots = part.partition(":")
            try:
                out.append((float(period), int(slots)))
            except ValueError:
                raise ValueError(
                    "expected none, daily, weekly or PERIOD:SLOTS, joined by +"
                ) from None
    return tuple(out)


class Scored(NamedTuple):
    """What :meth:`ChannelScorer.score_many` returns, one entry per sample."""

    score: np.ndarray  # float64 in [0, 1], after the refractory step
    why: np.ndarray  # int8 reason code (REASONS) of the part that decided the score
    #: float64: the score before the refractory step. An alert episode that a high score
    #: opened stays open while this stays high: the anomaly goes on even though it is not
    #: announced again.
    evidence: np.ndarray


# --------------------------------------------------------------------------- calibration


class Likelihood:
    """How unusual the recent average of a raw score is against its own long-run history.

    NAB's "anomaly likelihood": the mean of the last ``avg`` raw scores is compared with the
    mean and standard deviation of the last ``history`` such means, and the Gaussian upper
    tail probability ``p`` of the current one is returned as ``-log10(p) / 10``. Averaging makes
    a burst of moderately high raw scores (several spikes close together, a noisy stretch)
    count as much as one very high score; the long-run history makes the score relative to
    how noisy this view of this channel usually is. Nothing is scored until ``min_history``
    means have been seen, and raw scores of a view that is not ready yet (NaN) are skipped
    entirely, so a warm-up never enters the history. ``std`` is floored at ``min_std`` so that
    a view that has always been exactly 0 does not turn a rounding error into an alert.

    A sample that is not learned is scored with the mean it would make, and changes nothing.

    ``tail="expo"`` or ``"gpd"`` (measured, not the default): above the ``tail_quantile`` of the
    history the tail is an exponential or a generalised Pareto (probability-weighted moments)
    fitted to the excesses, wherever that is heavier than the Gaussian. It is refitted when the
    learned means reach ``min_history + k * tail_refit``, so the fit does not depend on how the
    stream is cut.

    >>> lik = Likelihood(avg=2, history=100, min_history=20)
    >>> quiet = lik.run(0.1 + 0.01 * (np.arange(50) % 3), np.ones(50, bool))
    >>> float(quiet.max()) < 0.2, float(lik.run(np.array([0.9]), np.array([True]))[0]) > 0.5
    (True, True)
    """

    def __init__(
        self, avg: int = 10, history: int = 8640, min_history: int = 300, min_std: float = 1e-3,
        power: float = 1.0, tail: str = "gauss", tail_quantile: float = 0.95,
        tail_refit: int = 1000,
    ) -> None:  # fmt: skip
        self.power = power
        self.avg = max(1, avg)
        self.history = max(2, history)
        self.min_history = max(2, min(min_history, self.history))
        self.min_std = min_std
        if tail not in ("gauss", "expo", "gpd"):
            raise ValueError(f"unknown likelihood tail {tail!r} (gauss, expo or gpd)")
        self.tail = tail
        self.tail_quantile = tail_quantile
        self.tail_refit = max(1, tail_refit)
        self.count = 0  # means learned ever: the refit schedule counts these
        self.started = False  # set by the scorer once its window is fixed (first raw score)
        self.active = np.zeros(0, dtype=bool)  # which samples of the last run were scored
        # The tail fitted last: (fit number, z of its threshold, ln of the fraction above it,
        # scale and shape of the excesses over it), in standard units of the history it was
        # fitted on.
        self.fit: tuple[int, float, float, float, float] | None = None
        self.short = np.zeros(0)  # the last <= avg learned raw scores, oldest first
        self.means = np.zeros(0)  # the last <= history short-term means, oldest first
        # Prefix sums of `means` and of their squares (len(means) + 1 each, from 0), so that a
        # batch sums its windows without summing the whole history again.
        self._cs = np.zeros(1)
        self._cs2 = np.zeros(1)

    def run(self, raw: np.ndarray, learn: np.ndarray) -> np.ndarray:
        """Scores for ``raw`` (NaN: the view is not ready: 0.0 and nothing learned)."""
        n = len(raw)
        out = np.zeros(n)
        ready = ~np.isnan(raw)
        self.active = np.zeros(n, dtype=bool)
        if not ready.any():
            return out
        idx = np.flatnonzero(ready)
        r = raw[idx]
        lr = learn[idx]
        A = self.avg
        m = len(self.short)
        E = np.concatenate((self.short, r[lr]))
        C = np.concatenate(([0.0], np.cumsum(E)))
        before = count_before(lr)
        N = m + before  # learned raws before each sample, carried ones included
        # A learned sample's window is the last A of E up to and including itself; one that is
        # not learned is averaged with the last A - 1 learned ones, as if it were appended.
        lo = np.maximum(0, N + 1 - A)
        hi = np.where(lr, N + 1, N)
        mean = (C[hi] - C[lo] + np.where(lr, 0.0, r)) / (hi - lo + np.where(lr, 0, 1))
        if self.power != 1.0:
            mean = np.where(mean > 0.0, np.abs(mean) ** self.power, 0.0)
        h = len(self.means)
        new = mean[lr]
        D = np.concatenate((self._cs, self._cs[-1] + np.cumsum(new)))
        D2 = np.concatenate((self._cs2, self._cs2[-1] + np.cumsum(new * new)))
        q = h + before  # means in the history before each sample
        qlo = np.maximum(0, q - self.history)
        k = q - qlo
        active = k >= self.min_history
        fitted = self.tail != "gauss"
        if fitted:
            # Every mean this batch can reach, oldest first; allm[0] is mean number `base`.
            allm = np.concatenate((self.means, new))
            base = self.count - h
            g = self.count + before  # means learned ever before each sample
        if active.any():
            kk = np.maximum(k, 1)
            mu = (D[q] - D[qlo]) / kk
            var = (D2[q] - D2[qlo]) / kk - mu * mu
            sd = np.maximum(np.sqrt(np.maximum(var, 0.0)), self.min_std)
            z = (mean - mu) / sd
            if fitted:
                got = self._tail_scores(z, g, allm, base)
            else:
                got = log_scores(z)
            out[idx] = np.where(active, got, 0.0)
            self.active[idx] = active
        self.short = E[-A:].copy()
        if fitted and len(new) and self._fit_number(self.count + len(new)) >= 0:
            # Fit now what the next sample needs, while its history is still at hand.
            self._fit_for(self.count + len(new), allm, base)
        self.count += len(new)
        if len(new):
            self.means = np.concatenate((self.means, new))[-self.history :]
            # Keep the prefix sums of what is kept, starting from 0 again so they stay small.
            keep = len(self.means) + 1
            self._cs = D[-keep:] - D[-keep]
            self._cs2 = D2[-keep:] - D2[-keep]
        return out

    def _fit_number(self, g: int) -> int:
        """The fit in force for a sample with ``g`` means before it (-1: none yet)."""
        return -1 if g < self.min_history else (g - self.min_history) // self.tail_refit

    def _fit_for(
        self, g: int, allm: np.ndarray, base: int
    ) -> tuple[int, float, float, float, float]:
        """The tail for a sample with ``g`` means learned before it: fitted on the ``history``
        means before the last refit point, which is ``min_history + k * tail_refit`` means. The
        schedule counts means, so the fit is the same however the stream is cut."""
        k = self._fit_number(g)
        if self.fit is not None and self.fit[0] == k:
            return self.fit
        end = self.min_history + k * self.tail_refit - base
        w = allm[max(0, end - self.history) : end]
        mu = float(w.mean())
        sd = max(float(w.std()), self.min_std)
        top = max(1, int(math.ceil((1.0 - self.tail_quantile) * len(w))))
        part = np.partition(w, len(w) - top - 1)
        zu = (float(part[len(w) - top - 1]) - mu) / sd
        y = np.sort((part[len(w) - top :] - mu) / sd - zu)
        a0 = float(y.mean())
        if self.tail == "gpd" and top >= 3 and a0 > 0.0:
            # Probability-weighted moments (Hosking and Wallis 1987) of the excesses.
            a1 = float((y * (top - 1 - np.arange(top))).sum()) / (top * (top - 1))
            den = a0 - 2.0 * a1
            if den > 0.0:
                shape = 2.0 - a0 / den  # GPD xi: > 0 heavier than exponential, < 0 bounded
                scale = 2.0 * a0 * a1 / den
            else:
                shape, scale = 0.0, a0
        else:
            shape, scale = 0.0, a0
        self.fit = (k, zu, math.log(top / len(w)), scale, shape)
        return self.fit

    def _tail_scores(self, z: np.ndarray, g: np.ndarray, allm: np.ndarray, base: int) -> np.ndarray:
        """Scores with a fitted tail (exponential, or generalised Pareto) above the fitted
        quantile, where it is heavier than the Gaussian's. Short-term means of skewed raw
        scores have heavier tails than a Gaussian; measured, and not kept: see VARIANTS."""
        ln_gauss = -log_scores(z) * (10.0 * _LN10)
        ln_p = ln_gauss.copy()
        knum = np.where(g >= self.min_history, (g - self.min_history) // self.tail_refit, -1)
        for kf in np.unique(knum[knum >= 0]).tolist():
            _, zu, ln_pu, scale, shape = self._fit_for(
                self.min_history + kf * self.tail_refit, allm, base
            )
            if scale <= 0.0:
                continue  # no spread above the quantile (ties): the Gaussian stands
            sel = (knum == kf) & (z > zu)
            y = (z[sel] - zu) / scale
            if abs(shape) < 1e-9:
                ln_t = -y
            else:
                with np.errstate(invalid="ignore", divide="ignore"):
                    ln_t = -np.log1p(shape * y) / shape
                ln_t = np.where(1.0 + shape * y > 0.0, ln_t, -np.inf)  # beyond a bounded tail
            ln_p[sel] = np.maximum(ln_gauss[sel], ln_pu + ln_t)
        return np.clip(-ln_p / (10.0 * _LN10), 0.0, 1.0)

    def checkpoint(self) -> tuple[Any, ...]:
        # The arrays are replaced, never changed in place, so sharing them is a copy.
        return (self.short, self.means, self._cs, self._cs2, self.count, self.fit, self.avg,
                self.started)  # fmt: skip

    def restore(self, state: tuple[Any, ...]) -> None:
        (self.short, self.means, self._cs, self._cs2, self.count, self.fit, self.avg,
         self.started) = state  # fmt: skip


# --------------------------------------------------------------------------- views


class HstView:
    """river's Half-Space Trees on warm-up-scaled features (``sensorscope.hst``, bit-identical).

    Features (the default uses ``value`` and ``diff``; the others were measured and did not
    help, see :data:`VARIANTS`): ``value``; ``diff``, the change since the previous learned
    sample; ``dev``, the distance from a slow EWMA of the value (weight ``dev_alpha``);
    ``lag1``..``lag5``, the previous values (a shingle with ``value``); ``diff2``, the change
    over two samples; ``range8``, the spread of the last 8 values and this one. The scaling range
    is each feature's warm-up range widened by ``margin`` spans on both sides, so that the trees'
    random splits have room to isolate values beyond it; values beyond are clipped onto the edge.
    The warm-up is learned at once when it ends, so with a window no longer than the warm-up
    HST scores from the first sample after it.
    """

    FEATURES = ("value", "diff", "dev", "lag1", "lag2", "lag3", "lag4", "lag5", "diff2", "range8")
    _KEEP = 8  # learned values kept as context for the features

    def __init__(self, cfg: ScorerConfig) -> None:
        bad = [f for f in cfg.hst_features if f not in self.FEATURES]
        if bad or not cfg.hst_features:
            raise ValueError(
                f"unknown HST feature {bad[0] if bad else ''!r} "
                f"(choose from: {', '.join(self.FEATURES)})"
            )
        self.cfg = cfg
        self.features = tuple(cfg.hst_features)
        self.warmup = max(1, cfg.warmup)
        self.margin = cfg.scale_margin
        self.window = cfg.hst_window
        self.dev_alpha = cfg.hst_dev_alpha
        self.model = self._new_model()
        self.recent = np.zeros(0)  # the last <= 8 learned values
        self.mean: float | None = None
        self.pending: list[np.ndarray] = []  # raw feature rows of the warm-up
        self.n_pending = 0
        self.lo: np.ndarray | None = None
        self.span: np.ndarray | None = None

    def _new_model(self) -> HalfSpaceTrees:
        c = self.cfg
        return HalfSpaceTrees(
            n_trees=c.hst_trees, height=c.hst_height, window_size=c.hst_window, seed=c.seed
        )

    @property
    def warming_up(self) -> bool:
        return self.lo is None

    def _features(self, v: np.ndarray, learn: np.ndarray) -> np.ndarray:
        """Raw feature rows; the context (previous values) moves on only with learned ones."""
        m = len(self.recent)
        E = np.concatenate((self.recent, v[learn]))
        N = m + count_before(learn)  # context length before each sample
        cols = []
        need_mean = "dev" in self.features
        if need_mean:
            y0 = self.mean
            xl = v[learn]
            if y0 is None and len(xl):
                states = np.concatenate(([np.nan], ewma_states(xl[1:], self.dev_alpha, xl[0])))
            elif y0 is None:
                states = np.array([np.nan])
            else:
                states = ewma_states(xl, self.dev_alpha, y0)
            mean_before = states[count_before(learn)]
        for name in self.features:
            if name == "value":
                cols.append(v)
            elif name == "diff":
                cols.append(np.where(N >= 1, v - E[np.maximum(N - 1, 0)], 0.0) if len(E) else
                            np.zeros(len(v)))  # fmt: skip
            elif name == "dev":
                cols.append(np.where(np.isnan(mean_before), 0.0, v - mean_before))
            elif name.startswith("lag"):
                k = int(name[3:])
                if len(E) == 0:
                    cols.append(v.copy())
                    continue
                oldest = E[np.maximum(N - self._KEEP, 0)]
                lag = np.where(N >= k, E[np.maximum(N - k, 0)], oldest)
                cols.append(np.where(N >= 1, lag, v))
            elif name == "diff2":
                cols.append(np.where(N >= 2, v - E[np.maximum(N - 2, 0)], 0.0) if len(E) else
                            np.zeros(len(v)))  # fmt: skip
            else:  # range8: the last 8 learned values and this one
                pad = np.concatenate((np.full(self._KEEP, np.nan), E))
                win = np.lib.stride_tricks.sliding_window_view(pad, self._KEEP)
                # win[i] holds E[i-8 .. i-1]: the 8 values before position i of E.
                ctx = win[N] if len(win) else np.full((len(v), self._KEEP), np.nan)
                hi = np.fmax(np.nanmax(np.where(np.isnan(ctx), -np.inf, ctx), axis=1), v)
                lo = np.fmin(np.nanmin(np.where(np.isnan(ctx), np.inf, ctx), axis=1), v)
                cols.append(hi - lo)
        xl = v[learn]
        if len(xl):
            self.recent = E[-self._KEEP :].copy()
            if need_mean:
                self.mean = float(states[-1])
        return np.column_stack(cols)

    def _fit(self) -> None:
        rows = np.concatenate(self.pending)
        lo, hi = rows.min(axis=0), rows.max(axis=0)
        span = np.maximum(np.maximum(hi - lo, np.abs(hi) * 1e-3), 1e-6)
        self.lo = lo - self.margin * span
        self.span = span * (1.0 + 2.0 * self.margin)
        self.model.score_learn_many(self._scaled(rows), features=self.features)
        self.pending = []
        self.n_pending = 0

    def _scaled(self, raw: np.ndarray) -> np.ndarray:
        return np.clip((raw - self.lo) / self.span, 0.0, 1.0)

    def run(self, values: np.ndarray, learn: np.ndarray) -> np.ndarray:
        """HST's score of each sample before it is learned; NaN while not ready."""
        n = len(values)
        out = np.full(n, np.nan)
        if n == 0:
            return out
        raw = self._features(values, learn)
        start = 0
        if self.lo is None:
            # Learned samples join the warm-up until it is complete; the one completing it is
            # still not scored (as river's first window scores 0).
            need = self.warmup - self.n_pending
            lidx = np.flatnonzero(learn)
            if len(lidx) < need:
                if len(lidx):
                    self.pending.append(raw[lidx])
                    self.n_pending += len(lidx)
                return out
            end = int(lidx[need - 1])
            self.pending.append(raw[lidx[:need]])
            self.n_pending += need
            self._fit()
            start = end + 1
        if start >= n:
            return out
        X = self._scaled(raw[start:])
        lrn = learn[start:]
        ready = (self.model.n_learned + count_before(lrn)) >= self.window
        got = self.model.score_learn_many(X, features=self.features, learn=lrn)
        out[start:] = np.where(ready, got, np.nan)
        return out

    def learn_late(self, values: np.ndarray) -> None:
        """Learn ``values`` now without moving the context the features are computed from."""
        context = (self.recent, self.mean)
        self.run(values, np.ones(len(values), dtype=bool))
        self.recent, self.mean = context

    def checkpoint(self) -> tuple[Any, ...]:
        hst = self.model.checkpoint() if self.model.features is not None else None
        return (hst, self.recent, self.mean, list(self.pending), self.n_pending, self.lo,
                self.span)  # fmt: skip

    def restore(self, state: tuple[Any, ...]) -> None:
        hst, self.recent, self.mean, pending, self.n_pending, self.lo, self.span = state
        self.pending = list(pending)
        if hst is None:
            self.model = self._new_model()
        else:
            self.model.restore(hst)


class ForecastView:
    """Error of a one-step EWMA forecast in units of its running mean absolute error.

    The prediction is an EWMA of the level with weight ``alpha`` on the newest sample; the
    error's typical size is an EWMA (``rate``) of absolute errors. A sudden jump, spike or
    drop is many typical errors; a noise burst is a run of large ones. NaN for the first
    ``ready`` learned samples while the typical error settles.
    """

    def __init__(self, alpha: float = 0.5, rate: float = 0.01, ready: int = 50) -> None:
        self.alpha = alpha
        self.rate = rate
        self.ready = ready
        self.level: float | None = None
        self.size: float | None = None
        self.n = 0

    def run(self, values: np.ndarray, learn: np.ndarray) -> np.ndarray:
        xl = values[learn]
        K = len(xl)
        c = count_before(learn)
        # levels[c]: the level after c learned samples of this batch.
        if self.level is None:
            if K:
                levels = np.concatenate(([np.nan], ewma_states(xl[1:], self.alpha, xl[0])))
            else:
                levels = np.array([np.nan])
        else:
            levels = ewma_states(xl, self.alpha, self.level)
        level = levels[c]
        err = np.abs(values - level)
        # The blocked EWMA lands within an ulp or two of a value a sequential one reaches
        # exactly; a flat channel must still see no error at all.
        err = np.where(err <= 1e-12 * np.abs(values), 0.0, err)
        # The typical size follows the errors of learned samples that had a level to miss.
        has_level = learn & ~np.isnan(level)
        e = err[has_level]
        if self.size is None:
            if len(e):
                sizes = np.concatenate(([np.nan], ewma_states(e[1:], self.rate, e[0])))
            else:
                sizes = np.array([np.nan])
        else:
            sizes = ewma_states(e, self.rate, self.size)
        size = sizes[count_before(has_level)]
        size = np.where(np.isnan(size), err, size)
        with np.errstate(divide="ignore", invalid="ignore"):
            z = np.where(size > 0.0, err / size, np.where(err == 0.0, 0.0, 10.0))
        ready = (self.n + c) > self.ready
        z = np.where(ready & ~np.isnan(level), z, np.nan)
        if K:
            self.level = float(levels[-1])
            self.n += K
        if len(e):
            self.size = float(sizes[-1])
        return z

    def checkpoint(self) -> tuple[Any, ...]:
        return (self.level, self.size, self.n)

    def restore(self, state: tuple[Any, ...]) -> None:
        self.level, self.size, self.n = state


class ProfileView:
    """Distance from what this time slot of the day (or week) usually looks like.

    The period (a day, a week) is cut into ``slots``. Each visit to a slot (its learned samples
    from entering it to leaving it) is summarised by its mean level and by its mean absolute
    distance from the slot's profile level. When a visit ends, the slot's level moves towards
    the visit's mean by ``rate`` and its spread towards the visit's distance by ``spread_rate``
    (the first visits are plain averages). A sample is scored by ``|value - level| / spread`` of
    its slot, which needs two finished visits (the first gives a level, the second a spread):
    the profile compares with earlier days (weeks), learns once per day (week) whatever the
    sample rate, and says nothing on a short recording.

    >>> p = ProfileView(period=86400.0, slots=24)
    >>> h = np.arange(72)
    >>> z = p.run(10.0 + h % 24 + 0.1 * (h // 24 % 2), 3600.0 * h, np.ones(72, bool))
    >>> bool(np.isnan(z[:48]).all()), bool(np.isfinite(z[49:]).all())
    (True, True)
    """

    def __init__(
        self, period: float = 86400.0, slots: int = 24, rate: float = 0.2, spread_rate: float = 0.2
    ) -> None:
        self.period = period
        self.slots = slots
        self.rate = rate
        self.spread_rate = spread_rate
        self.level = np.full(slots, np.nan)
        self.spread = np.full(slots, np.nan)
        self.visits = np.zeros(slots, dtype=np.int64)
        self.key: int | None = None  # the visit in progress: period number * slots + slot
        self.acc = (0, 0.0, 0.0)  # its learned samples: count, sum, distance from the level

    def run(self, values: np.ndarray, t: np.ndarray, learn: np.ndarray) -> np.ndarray:
        n = len(values)
        finite = np.isfinite(t)
        tt = np.where(finite, t, 0.0)
        period_no = np.floor_divide(tt, self.period)
        into = tt - period_no * self.period
        slot = np.minimum(self.slots - 1, np.floor_divide(into, self.period / self.slots))
        slot = slot.astype(np.int64)
        key = period_no.astype(np.int64) * self.slots + slot
        lidx = np.flatnonzero(learn & finite)
        lkey = key[lidx]
        # A learned sample in another slot (or period) than the visit in progress starts a
        # new visit; the batch is cut there into segments that each see one profile state.
        chg = np.empty(len(lidx), dtype=bool)
        if len(lidx):
            chg[1:] = lkey[1:] != lkey[:-1]
            chg[0] = self.key is None or int(lkey[0]) != self.key
        change = lidx[chg]
        lpos = np.searchsorted(lidx, np.concatenate(([0], change, [n])))
        levels = [self.level.copy()]
        spreads = [self.spread.copy()]
        vl = values[lidx]
        for s in range(len(change) + 1):
            if s > 0:
                self._close_visit()
                self.key = int(key[change[s - 1]])
                levels.append(self.level.copy())
                spreads.append(self.spread.copy())
            a, b = int(lpos[s]), int(lpos[s + 1])
            if b > a:
                seg = vl[a:b]
                lev = self.level[self.key % self.slots]
                cnt, tot, dev = self.acc
                dev_add = 0.0 if np.isnan(lev) else float(np.abs(seg - lev).sum())
                self.acc = (cnt + b - a, tot + float(seg.sum()), dev + dev_add)
        seg_of = np.searchsorted(change, np.arange(n), side="right")
        lev = np.array(levels)[seg_of, slot]
        spr = np.array(spreads)[seg_of, slot]
        err = np.abs(values - lev)
        err = np.where(err <= 1e-12 * np.abs(values), 0.0, err)
        with np.errstate(divide="ignore", invalid="ignore"):
            z = np.where(spr > 0.0, err / spr, np.where(err == 0.0, 0.0, 10.0))
        return np.where(finite & ~np.isnan(spr), z, np.nan)

    def _close_visit(self) -> None:
        cnt, tot, dev = self.acc
        self.acc = (0, 0.0, 0.0)
        if self.key is None or cnt == 0:
            return
        slot = self.key % self.slots
        mean = tot / cnt
        visits = int(self.visits[slot])
        if visits == 0:
            self.level[slot] = mean
        else:
            d = dev / cnt
            spread = self.spread[slot]
            if np.isnan(spread):
                self.spread[slot] = d
            else:
                self.spread[slot] = spread + max(self.spread_rate, 1.0 / visits) * (d - spread)
            self.level[slot] += max(self.rate, 1.0 / (visits + 1)) * (mean - self.level[slot])
        self.visits[slot] = visits + 1

    def checkpoint(self) -> tuple[Any, ...]:
        return (self.level.copy(), self.spread.copy(), self.visits.copy(), self.key, self.acc)

    def restore(self, state: tuple[Any, ...]) -> None:
        level, spread, visits, self.key, self.acc = state
        self.level, self.spread, self.visits = level.copy(), spread.copy(), visits.copy()


class RangeRule:
    """A value beyond everything learned, by more than a tolerance.

    The tolerance is the larger of ``tolerance`` times the learned range (NAB's Numenta
    detector uses 5%) and ``steps`` typical sample-to-sample changes, so that a noisy channel
    whose baseline wanders does not fire on every new noise extreme. Silent during the warm-up.
    With a ``delay``, the learned range is that of the values learned at least ``delay`` learned
    samples before: a drift that moves by less than the tolerance per sample would otherwise
    widen the range step by step and never leave it.
    """

    def __init__(
        self, warmup: int = 250, tolerance: float = 0.05, steps: float = 3.0, rate: float = 0.01,
        delay: int = 0,
    ) -> None:  # fmt: skip
        self.warmup = warmup
        self.tolerance = tolerance
        self.steps = steps
        self.rate = rate
        self.delay = max(0, delay)
        self.lo = math.inf  # the range of the learned values older than the last `delay`
        self.hi = -math.inf
        self.recent = np.zeros(0)  # the last <= delay learned values, oldest first
        self.step_size: float | None = None
        self.prev: float | None = None
        self.n = 0

    def run(self, values: np.ndarray, learn: np.ndarray) -> np.ndarray:
        xl = values[learn]
        c = count_before(learn)
        # A sample is compared with the range of the values learned up to `delay` learned
        # samples before it, so a drift that creeps a little beyond the range at each step
        # does not drag the range along with it.
        E = np.concatenate((self.recent, xl)) if self.delay else xl
        los = np.minimum.accumulate(np.concatenate(([self.lo], E)))
        his = np.maximum.accumulate(np.concatenate(([self.hi], E)))
        at = np.maximum(0, len(self.recent) + c - self.delay) if self.delay else c
        lo, hi = los[at], his[at]
        # Steps between consecutive learned values (the first needs a previous one).
        ctx = xl if self.prev is None else np.concatenate(([self.prev], xl))
        d = np.abs(np.diff(ctx))
        if self.step_size is None:
            steps = (
                np.concatenate(([np.nan], ewma_states(d[1:], self.rate, d[0])))
                if len(d)
                else np.array([np.nan])
            )
        else:
            steps = ewma_states(d, self.rate, self.step_size)
        n_steps = c if self.prev is not None else np.maximum(c - 1, 0)
        step = np.nan_to_num(steps[n_steps], nan=0.0)
        tol = np.maximum(self.tolerance * (hi - lo), self.steps * step)
        with np.errstate(invalid="ignore"):
            fired = ((self.n + c) >= self.warmup) & (hi > lo)
            fired &= (values > hi + tol) | (values < lo - tol)
        if len(xl):
            end = max(0, len(E) - self.delay)
            self.lo, self.hi = float(los[end]), float(his[end])
            if self.delay:
                self.recent = E[end:].copy()
            self.prev = float(xl[-1])
            self.n += len(xl)
        if len(d):
            self.step_size = float(steps[-1])
        return fired

    def widen(self, values: np.ndarray) -> None:
        """Take ``values`` into the range at once (samples learned late)."""
        self.lo = min(self.lo, float(values.min()))
        self.hi = max(self.hi, float(values.max()))

    def checkpoint(self) -> tuple[Any, ...]:
        return (self.lo, self.hi, self.recent, self.step_size, self.prev, self.n)

    def restore(self, state: tuple[Any, ...]) -> None:
        self.lo, self.hi, self.recent, self.step_size, self.prev, self.n = state


class StuckRule:
    """A run of identical readings far longer than this channel's usual runs.

    The usual run length is learned over the warm-up before anything is flagged (a channel that
    idles at 0, or a square wave, has long runs from the start); a channel that has never
    changed is constant, not stuck; and a flagged run that ends on its own raises the bar to its
    own length divided by ``factor`` for ``raise_lasts`` times that length, so a channel that
    holds values for long stretches by nature alerts once, not at every stretch, while the
    same fault coming back much later alerts again. Runs count observed readings (imputed ones
    neither extend nor break a run).

    >>> rule = StuckRule(warmup=20, min_run=5)
    >>> bool(rule.run(np.ones(100), np.ones(100, bool)).any())  # never changed: a constant
    False
    """

    def __init__(
        self, warmup: int = 250, min_run: int = 10, factor: float = 3.0, raise_lasts: int = 4
    ) -> None:
        self.warmup = warmup
        self.min_run = min_run
        self.factor = factor
        self.raise_lasts = raise_lasts
        self.raised = 0  # the bar a flagged run raised, in force until sample raised_until
        self.raised_until = 0
        self.run_len = 0
        self.value: float | None = None
        self.longest = 1
        self.changed = False
        self.n = 0

    def _limit(self, longest: int) -> int:
        return max(self.min_run, int(self.factor * longest))

    def run(self, values: np.ndarray, observed: np.ndarray) -> np.ndarray:
        """The run length where the channel counts as stuck, else 0."""
        out = np.zeros(len(values), dtype=np.int64)
        oidx = np.flatnonzero(observed)
        x = values[oidx]
        K = len(x)
        if K == 0:
            return out
        prev = np.concatenate(([np.nan if self.value is None else self.value], x[:-1]))
        starts = x != prev  # a new run starts here (NaN never equals: the first one does)
        if self.value is None:
            starts[0] = True
        k = np.arange(K)
        start_at = np.maximum.accumulate(np.where(starts, k, -1))
        carried = start_at < 0  # still the run that was going on before this batch
        run = np.where(carried, self.run_len + k + 1, k - start_at + 1)
        n = self.n + k + 1
        changed = np.logical_or.accumulate(starts & ~np.isnan(prev)) | self.changed
        # The run that ends where each new run starts, and how long it was.
        ended = np.flatnonzero(starts)
        ended_len = np.where(ended > 0, run[np.maximum(ended - 1, 0)], self.run_len)
        if self.value is None:
            ended_len = np.where(ended == 0, 0, ended_len)
        # longest after each step: the warm-up keeps the longest run seen; afterwards a run
        # that ends updates it (by its length if it was not flagged, else by length / factor).
        warm = n <= self.warmup
        cand = np.zeros(K, dtype=np.int64)
        cand[warm] = run[warm]
        longest = self.longest
        ends_after = ended[~warm[ended]] if len(ended) else ended
        lens_after = ended_len[~warm[ended]] if len(ended) else ended_len
        short = lens_after < self.min_run
        cand[ends_after[short]] = np.maximum(cand[ends_after[short]], lens_after[short])
        longest_at = np.maximum.accumulate(np.maximum(cand, longest))
        # A bar raised by a flagged run: in force until sample number raised_until.
        raise_at = np.where(n < self.raised_until, self.raised, 0)
        long_pos = ends_after[~short]
        long_len = lens_after[~short]
        if len(long_pos):
            # Long runs decide against the limit in force when they end: one at a time.
            natural = np.zeros(K, dtype=np.int64)
            for p, r in zip(long_pos.tolist(), long_len.tolist(), strict=True):
                usual = int(max(longest_at[p - 1] if p > 0 else longest,
                                natural[:p].max(initial=0)))  # fmt: skip
                before = max(usual, int(raise_at[max(p - 1, 0)]))
                if r < self._limit(usual):
                    natural[p] = r  # a long run this channel has by nature: kept
                elif r < self._limit(before):
                    pass  # a repeat the raised bar let pass: not learned as usual
                else:
                    # Flagged and over: the bar goes up for a while, so a channel holding
                    # values now and then alerts once, while the same fault days later
                    # alerts again.
                    bar = math.ceil(r / self.factor)
                    until = int(n[p]) + self.raise_lasts * r
                    raise_at[p : p + self.raise_lasts * r] = np.maximum(
                        raise_at[p : p + self.raise_lasts * r], bar
                    )
                    if until > self.raised_until or bar > self.raised:
                        self.raised, self.raised_until = bar, until
            longest_at = np.maximum.accumulate(np.maximum(np.maximum(cand, natural), longest))
        limit = np.maximum(
            self.min_run, (self.factor * np.maximum(longest_at, raise_at)).astype(np.int64)
        )
        stuck = ~warm & changed & (run >= limit)
        out[oidx] = np.where(stuck, run, 0)
        self.value = float(x[-1])
        self.run_len = int(run[-1])
        self.longest = int(longest_at[-1])
        self.changed = bool(changed[-1])
        self.n = int(n[-1])
        return out

    def checkpoint(self) -> tuple[Any, ...]:
        return (self.run_len, self.value, self.longest, self.changed, self.n, self.raised,
                self.raised_until)  # fmt: skip

    def restore(self, state: tuple[Any, ...]) -> None:
        (self.run_len, self.value, self.longest, self.changed, self.n, self.raised,
         self.raised_until) = state  # fmt: skip


# --------------------------------------------------------------------------- the scorer


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
        self.hst = HstView(cfg) if cfg.hst else None
        lik = dict(
            avg=cfg.likelihood_avg, history=cfg.likelihood_history,
            min_history=cfg.likelihood_min_history, min_std=cfg.likelihood_min_std,
            power=cfg.likelihood_power, tail=cfg.likelihood_tail,
            tail_quantile=cfg.likelihood_tail_quantile, tail_refit=cfg.likelihood_tail_refit,
        )  # fmt: skip
        hst_lik = {**lik, "avg": cfg.hst_likelihood_avg or cfg.likelihood_avg}
        self.hst_lik = Likelihood(**hst_lik) if cfg.hst and cfg.hst_likelihood else None
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
        self.reason = ""
        self.learned = 0
        self.seen = 0  # samples scored, learned or not: the refractory step counts these
        self._last_high = -(10**18)
        # The usual sample interval (s), from the times of the first learned samples.
        self._times: tuple[float, ...] = ()
        self.interval: float | None = None

    @property
    def warming_up(self) -> bool:
        return self.learned < self.config.warmup

    def _parts(self) -> list[Any]:
        return [
            p
            for p in (
                self.hst,
                self.hst_lik,
                self.forecast,
                self.forecast_lik,
                *self.profiles,
                *self.profile_liks,
                self.range,
                self.stuck,
            )  # fmt: skip
            if p is not None
        ]

    def checkpoint(self) -> tuple[Any, ...]:
        return (
            [p.checkpoint() for p in self._parts()], self.learned, self.seen, self._last_high,
            self.reason, self._times, self.interval,
        )  # fmt: skip

    def restore(self, state: tuple[Any, ...]) -> None:
        parts, self.learned, self.seen, self._last_high, self.reason, self._times, self.interval = (
            state
        )
        for p, s in zip(self._parts(), parts, strict=True):
            p.restore(s)

    def learn_late(self, values: np.ndarray) -> None:
        """Learn samples that were held back (an alert later labelled a false positive), in
        the parts where their order does not matter: HST's masses and the learned range."""
        v = np.asarray(values, dtype=np.float64)
        v = v[np.isfinite(v)]
        if not len(v):
            return
        if self.hst is not None and not self.hst.warming_up:
            self.hst.learn_late(v)
        if self.range is not None and self.range.n:
            self.range.widen(v)

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

    def _lik_input(self, z: np.ndarray, sq: np.ndarray) -> np.ndarray:
        cfg = self.config
        if cfg.error_power == 1.0:
            return sq
        return _squash(z**cfg.error_power, cfg.error_squash)

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
        cfg = self.config
        held_learn = learn if held is None else learn & ~np.asarray(held, dtype=bool)
        parts = cfg.hold_parts

        def lrn(part: str) -> np.ndarray:
            return held_learn if part in parts else learn

        best = np.zeros(n)
        why = np.zeros(n, dtype=np.int8)

        known_at = self._learn_interval(t, learn)
        shift = self._period_shift(n, known_at)

        def consider(s: np.ndarray, code: int) -> None:
            nonlocal best
            s = np.maximum(s - shift, 0.0)
            better = s > best
            best = np.where(better, s, best)
            why[better] = code

        if self.hst is not None:
            h = self.hst.run(values, lrn("hst"))
            if self.hst_lik is not None:
                hin = h if cfg.hst_power == 1.0 else 1.0 - (1.0 - h) ** cfg.hst_power
                self._fit_average(self.hst_lik, hin, known_at)
                consider(self.hst_lik.run(hin, lrn("likelihood")), WHY_HST)
            else:
                consider(np.nan_to_num(h, nan=0.0), WHY_HST)
        if self.forecast is not None:
            z = self.forecast.run(values, lrn("forecast"))
            sq = _squash(z, cfg.squash)
            zin = self._lik_input(z, sq)
            self._fit_average(self.forecast_lik, zin, known_at)
            consider(self.forecast_lik.run(zin, lrn("likelihood")), WHY_FORECAST)
        for view, lik in zip(self.profiles, self.profile_liks, strict=True):
            z = view.run(values, t, lrn("profiles"))
            sq = _squash(z, cfg.squash)
            code = WHY_DAILY if view.period <= 86400.0 else WHY_WEEKLY
            zin = self._lik_input(z, sq)
            self._fit_average(lik, zin, known_at)
            consider(lik.run(zin, lrn("likelihood")), code)
        if cfg.combine == "bonferroni":
            liks = [x for x in (self.hst_lik, self.forecast_lik, *self.profile_liks) if x]
            k = np.sum([x.active for x in liks], axis=0) if liks else np.zeros(n)
            best = np.maximum(best - np.log10(np.maximum(k, 1)) / 10.0, 0.0)
        if self.range is not None:
            fired = self.range.run(values, lrn("range"))
            best = np.where(fired, 1.0, best)
            why[fired] = WHY_RANGE
        if self.stuck is not None:
            run = self.stuck.run(values, observed)
            fired = run > 0
            best = np.where(fired, 1.0, best)
            why[fired] = WHY_STUCK
        best = np.where(finite, best, 0.0)
        why[~finite] = WHY_NONE
        self.learned += int(held_learn.sum())
        pos = self.seen + np.arange(n)
        self.seen += n
        evidence = best.copy()
        high = np.flatnonzero(best >= self.threshold)
        if len(high) and cfg.refractory > 0:
            hp = pos[high]
            since = np.diff(np.concatenate(([self._last_high], hp)))
            lowered = high[since <= cfg.refractory]
            best[lowered] = np.minimum(best[lowered], cfg.refractory_level * self.threshold)
            self._last_high = int(hp[-1])
        if n:
            last = int(why[-1])
            self.reason = (
                REASONS[last].format(value=values[-1]) if best[-1] >= self.threshold else ""
            )
        return Scored(best, why, evidence)
