"""The default scorer's settings: :class:`ScorerConfig`, the measured :data:`VARIANTS` by name,
and :func:`config_from_params` for ``--param`` overrides.

What each part is and the figures behind the defaults: ``sensorscope.detect.default``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields, replace
from typing import Any

from sensorscope.detect.hst_view import check_features

__all__ = [
    "DEFAULT",
    "DEFAULT_HYSTERESIS",
    "DEFAULT_THRESHOLD",
    "VARIANTS",
    "ScorerConfig",
    "config_from_params",
]

#: The score at or above which an alert opens: p = 10**-5.5 on the likelihood's log scale.
DEFAULT_THRESHOLD = 0.55
#: Samples below the threshold that close an alert episode (as ``sensorscope.episodes`` ships).
DEFAULT_HYSTERESIS = 10


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

    # The local view (sensorscope.detect.local): distance from the median of the last
    # `local_window` learned values in robust spreads, the reference refreshed every
    # `local_step` learned samples, scoring after `local_ready` of them. On: it catches a
    # level shift that stays inside the learned range (bench/protocol.py's three shifts hours
    # apart: 6/6 with it, 4/6 without) and changes no other figure of the protocol (LOCO
    # 82.6 both); its highs on a labelled benign repeat no longer hold the refractory gate
    # shut (ChannelScorer.quiet). "stop18" turns it off.
    local: bool = True
    local_window: int = 256
    local_step: int = 32
    local_ready: int = 64
    #: Its likelihood's short-term average (one spike is the event it is there for).
    local_likelihood_avg: int = 1
    #: Means its likelihood needs before it speaks (0: ``likelihood_min_history``).
    local_min_history: int = 0
    #: Its likelihood's upper tail ("": ``likelihood_tail``).
    local_likelihood_tail: str = "expo"
    #: ...fitted above this quantile of its history (0: ``likelihood_tail_quantile``).
    local_tail_quantile: float = 0.0
    #: Its distances are squashed with 1 - exp(-z / this).
    local_squash: float = 30.0

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

    #: A count channel's values reach the views and the range rule through this variance-
    #: stabilising transform ("sqrt": Anscombe's, "log": log1p, "nb": the negative binomial's
    #: with its shape from the first values, "none": as they are); any
    #: other channel is left as it is (``sensorscope.detect.stabilise``).
    count_transform: str = "sqrt"

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
    #: Seconds of the channel's time: an alert episode stays open while the channel is away
    #: from what it was like outside alerts (``sensorscope.detect.reference``), until a
    #: false-positive label on it or this long, far longer than any fault, makes it the new
    #: normal (0: off; episodes end when the views stop seeing them, as stop 18 shipped).
    lasting_limit: float = 7200.0
    #: A sample inside an open episode (past its first ``hysteresis`` samples), or one the
    #: refractory step lowered after an episode, that goes this many times further from
    #: the level the episode started from than the episode had is a new alert
    #: (``sensorscope.escalation``; 0: off, as stop 18 shipped).
    escalate: float = 3.0

    # One alert per event: high scores this many samples after the last one are lowered.
    refractory: int = 100
    #: A lowered score is at most this fraction of the threshold, so no new alert opens.
    refractory_level: float = 0.6
    #: The gate counts from the last announced high, and rule hits are never lowered
    #: (False: from every high, lowered ones too). Measured, not shipped: LOCO 82.7 -> 76.7
    #: (artificialWithAnomaly 91.0 -> 86.4 with 11 false alerts instead of 5;
    #: realKnownCause 74.5 -> 67.0), ``bench/protocol.py --quick``; "try:refractory-announced".
    refractory_announced: bool = False
    #: A rule's hit (beyond the range, stuck) is never lowered: a value beyond everything
    #: learned is a fact, not a score that a nearby high makes less likely.
    refractory_spares_rules: bool = False

    def with_(self, **changes: Any) -> ScorerConfig:
        """A copy with ``changes`` (a new name included when given)."""
        return replace(self, **changes)


DEFAULT = ScorerConfig()

_PARTS_OFF = dict(
    forecast=False, profiles=(), local=False, range_rule=False, stuck_rule=False, refractory=0
)


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
    "+forecast": _try(
        "+forecast", profiles=(), local=False, range_rule=False, stuck_rule=False, refractory=0
    ),
    "+profiles": _try("+profiles", local=False, range_rule=False, stuck_rule=False, refractory=0),
    "+range": _try("+range", local=False, stuck_rule=False, refractory=0),
    "+stuck": _try("+stuck", local=False, refractory=0),
    "+local": _try("+local", refractory=0),
    "default": DEFAULT,
    # The default as stop 18 shipped it: each mechanism of issue 13 added since is turned off
    # here, so bench/protocol.py prints the new default beside it (--config stop18=detector=stop18).
    "stop18": _try("stop18", local=False, lasting_limit=0.0, count_transform="none", escalate=0.0),
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
    "default-local": _try("default-local", local=False),
    "default-refractory": _try("default-refractory", refractory=0),
    "default-period": _try("default-period", score_period=0.0),
    "default-hst-avg": _try("default-hst-avg", hst_likelihood_avg=0),
    "default-range-delay": _try("default-range-delay", range_delay=0),
    "default-escalate": _try("default-escalate", escalate=0.0),
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
    "try:count-log": _try("try:count-log", count_transform="log"),
    "try:count-nb": _try("try:count-nb", count_transform="nb"),
    "try:bonferroni": _try("try:bonferroni", combine="bonferroni"),
    "try:seconds-10": _try(
        "try:seconds-10", score_period=0.0, hst_likelihood_avg=0, likelihood_seconds=10.0
    ),
    "try:period-5": _try("try:period-5", score_period=5.0),
    "try:period-30": _try("try:period-30", score_period=30.0),
    "try:range-delay-50": _try("try:range-delay-50", range_delay=50),
    "try:refractory-50": _try("try:refractory-50", refractory=50),
    "try:refractory-200": _try("try:refractory-200", refractory=200),
    "try:refractory-announced": _try("try:refractory-announced", refractory_announced=True),
    "try:refractory-spares-rules": _try(
        "try:refractory-spares-rules", refractory_spares_rules=True
    ),
    "try:threshold-0.5": _try("try:threshold-0.5", threshold=0.5),
    "try:threshold-0.65": _try("try:threshold-0.65", threshold=0.65),
    # The local view on, as sensorscope.detect.local describes it; then calibrated otherwise:
    # a generalised Pareto tail; averaged over 10 samples with the Gaussian tail, as the other
    # views are; speaking after 100 means; an exponential tail over the top 1% only.
    "try:local-gpd": _try(
        "try:local-gpd", local=True, local_likelihood_tail="gpd", local_squash=6.0
    ),  # fmt: skip
    "try:local-avg-10": _try(
        "try:local-avg-10",
        local=True,
        local_likelihood_avg=10,
        local_likelihood_tail="gauss",
        local_squash=6.0,
    ),
    "try:local-early": _try("try:local-early", local=True, local_min_history=100),
    "try:local-q99": _try("try:local-q99", local=True, local_tail_quantile=0.99),
    "try:daily-12-slots": _try("try:daily-12-slots", profiles=((86400.0, 12), DEFAULT.profiles[1])),
}


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
    if cfg.hst:
        check_features(cfg.hst_features)  # a bad feature name fails here, before any data
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
