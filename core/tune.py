"""``sensorscope tune``: search detector settings that do best on labeled data.

Scoring is the slow part. Threshold and hysteresis mostly change only which samples are in
alert, so each detector setting is scored once and every threshold/hysteresis pair is tried
on those scores with a vectorised episode builder. Mostly: the pipeline does not learn from
samples inside an alert episode, so where the episodes are changes what is learned. The best
few candidates of that fast search are therefore scored again exactly, with their threshold
and hysteresis, and the best of those exact runs wins.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from sensorscope.detect.factory import factory_for
from sensorscope.episodes import episodes
from sensorscope.errors import UserError
from sensorscope.model import Settings
from sensorscope.series import ChannelSeries, Windows, evaluate_series, load_series

METRICS = ("f1", "nab")
# Thresholds tried for the default scorer (a log scale of p-values: 0.5 is p = 1e-5) and for
# river's detectors (whose scores crowd towards 1).
SCORER_THRESHOLDS = (0.4, 0.45, 0.5, 0.55, 0.6, 0.65, 0.7, 0.8, 0.9)
RIVER_THRESHOLDS = (0.9, 0.95, 0.97, 0.98, 0.985, 0.99, 0.993, 0.995, 0.997, 0.999)
HYSTERESES = (1, 3, 10, 30, 100)
# Candidates of the fast search that are scored again exactly.
EXACT = 3
# Parameters tried for the default scorer (fields of sensorscope.detect.config.ScorerConfig).
SCORER_SPACE: dict[str, Sequence[Any]] = {
    "hst_window": (100, 250, 500),
    "likelihood_avg": (5, 10, 20),
    "squash": (3.0, 6.0, 9.0),
    "refractory": (50, 100, 200),
    "forecast_alpha": (0.3, 0.5, 0.7),
}
SCORER_FEATURE_SETS = (("value",), ("value", "diff"), ("value", "lag1", "lag2"))
# Detector parameters tried for river's HalfSpaceTrees.
HST_SPACE: dict[str, Sequence[Any]] = {
    "n_trees": (10, 25, 50),
    "height": (6, 8, 10, 12),
    "window_size": (100, 250, 500, 1000),
}
FEATURE_SETS = (("value",), ("value", "std"), ("value", "diff"), ("value", "std", "diff"))


def apply_alerts(series: Sequence[ChannelSeries], threshold: float, hysteresis: int) -> None:
    for s in series:
        s.alert, s.alerts = episodes(s.channel, s.t, s.value, s.score, threshold, hysteresis)
        s.threshold = threshold


def objective(result: dict[str, Any], metric: str) -> float:
    """What tune maximises.

    ``nab``: NAB standard of the alerts as shipped. ``f1``: the mean of event F1 and
    point-wise F1, because event F1 alone is won by one endless alert that overlaps every
    window, and point-wise F1 alone by long alerts on long windows.
    """
    if metric == "nab":
        shipped = result["nab"].get("shipped")
        return shipped["standard"]["score"] if shipped else float("-inf")
    total = result["total"]
    return ((total["events"]["f1"] or 0.0) + (total["points"]["f1"] or 0.0)) / 2


@dataclass
class Trial:
    settings: Settings
    value: float
    result: dict[str, Any] = field(repr=False)


def resolved(base: Settings) -> Settings:
    """``base`` with the detector's own threshold, hysteresis and features filled in."""
    f = factory_for(base)
    return replace(
        base,
        threshold=f.threshold if base.threshold is None else base.threshold,
        hysteresis=f.hysteresis if base.hysteresis is None else base.hysteresis,
        features=base.features
        if base.features is not None
        else (f.config.hst_features if f.kind == "scorer" else f.features),
    )


def candidates(base: Settings, trials: int, seed: int) -> list[Settings]:
    """The defaults first, then random detector settings (features and parameters)."""
    rng = random.Random(seed)
    out = [base]
    scorer = factory_for(base).kind == "scorer"
    seen = {(base.features, tuple(sorted(base.params.items())))}
    tries = 0
    while len(out) < trials and tries < trials * 20:
        tries += 1
        params = dict(base.params)
        if scorer:
            params.update({k: rng.choice(v) for k, v in SCORER_SPACE.items()})
            features = rng.choice(SCORER_FEATURE_SETS)
        else:
            if base.detector.lower() in ("hst", "halfspacetrees"):
                params.update({k: rng.choice(v) for k, v in HST_SPACE.items()})
            features = rng.choice(FEATURE_SETS)
        key = (features, tuple(sorted(params.items())))
        if key in seen:
            continue
        seen.add(key)
        out.append(replace(base, params=params, features=features))
    return out


def tune(
    sources: Sequence[str],
    windows_for: Callable[[list[ChannelSeries]], Windows],
    base: Settings,
    metric: str = "f1",
    trials: int = 20,
    seed: int = 0,
    progress: Callable[[int, int], None] | None = None,
) -> tuple[Trial, Trial]:
    """Search; return ``(best, defaults)``, each with its metrics as exactly scored."""
    if metric not in METRICS:
        raise UserError(f"unknown metric {metric!r} (choose from: {', '.join(METRICS)})")
    base = resolved(base)
    cands = candidates(base, max(1, trials), seed)
    thresholds = SCORER_THRESHOLDS if factory_for(base).kind == "scorer" else RIVER_THRESHOLDS
    grid = [(th, h) for th in thresholds for h in HYSTERESES]
    total = len(cands) * (len(grid) + 1) + EXACT
    done = 0
    default: Trial | None = None
    fast: list[Trial] = []
    for k, cand in enumerate(cands):
        series = load_series(sources, cand)
        windows = windows_for(series)
        if k == 0:
            # The defaults as the pipeline ran them: exact, alerts and all.
            result = evaluate_series(series, windows)
            default = Trial(cand, objective(result, metric), result)
            done += 1
        for th, h in grid:
            apply_alerts(series, th, h)
            result = evaluate_series(series, windows)
            fast.append(Trial(replace(cand, threshold=th, hysteresis=h),
                              objective(result, metric), result))  # fmt: skip
            done += 1
            if progress is not None:
                progress(done, total)
    assert default is not None
    fast.sort(key=lambda tr: tr.value, reverse=True)
    best = default
    for tr in fast[:EXACT]:
        series = load_series(sources, tr.settings)
        result = evaluate_series(series, windows_for(series))
        exact = Trial(tr.settings, objective(result, metric), result)
        if exact.value > best.value:
            best = exact
        done += 1
        if progress is not None:
            progress(done, total)
    return best, default
