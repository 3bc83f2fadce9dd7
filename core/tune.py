"""``sensorscope tune``: search detector settings that do best on labeled data.

Scoring is the slow part, and only detector parameters change scores: threshold and
hysteresis change only which samples are in alert. So each detector setting is scored
once and every threshold/hysteresis pair is then tried on those scores with a vectorised
episode builder.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from core.alerts import Alert
from core.errors import UserError
from core.pipeline import Settings
from core.scored import ChannelSeries, Windows, evaluate_series, load_series

METRICS = ("f1", "nab")
THRESHOLDS = (0.9, 0.95, 0.97, 0.98, 0.985, 0.99, 0.993, 0.995, 0.997, 0.999)
HYSTERESES = (1, 3, 10, 30, 100)
# Detector parameters tried for river's HalfSpaceTrees (the default detector).
HST_SPACE: dict[str, Sequence[Any]] = {
    "n_trees": (10, 25, 50),
    "height": (6, 8, 10, 12),
    "window_size": (100, 250, 500, 1000),
}
FEATURE_SETS = (("value",), ("value", "std"), ("value", "diff"), ("value", "std", "diff"))


def episodes(
    channel: str, t: np.ndarray, value: np.ndarray, score: np.ndarray, threshold: float,
    hysteresis: int,
) -> tuple[np.ndarray, list[Alert]]:  # fmt: skip
    """Alert flags and episodes exactly as :class:`core.alerts.AlertTracker` makes them.

    >>> t = np.arange(7.0)
    >>> flags, eps = episodes("x", t, t, np.array([.1, .9, .5, .95, .1, .1, .1]), .8, 2)
    >>> flags.astype(int).tolist(), [(a.start, a.end, a.peak_score) for a in eps]
    ([0, 1, 1, 1, 1, 1, 0], [(1.0, 3.0, 0.95)])
    """
    n = len(score)
    flags = np.zeros(n, dtype=bool)
    above = np.flatnonzero(score >= threshold)
    if not len(above):
        return flags, []
    # An episode ends when `hysteresis` samples in a row are below the threshold.
    breaks = np.flatnonzero(np.diff(above) - 1 >= hysteresis)
    firsts = np.concatenate(([above[0]], above[breaks + 1]))
    lasts = np.concatenate((above[breaks], [above[-1]]))
    out = []
    for k, (a, b) in enumerate(zip(firsts, lasts, strict=True), 1):
        flags[a : min(n, b + hysteresis + 1)] = True
        seg = score[a : b + 1]
        p = a + int(np.argmax(seg))
        out.append(Alert(k, channel, float(t[a]), float(t[b]), float(score[p]),
                         float(value[p]), float(t[p]), float(t[b])))  # fmt: skip
    return flags, out


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


def candidates(base: Settings, trials: int, seed: int) -> list[Settings]:
    """The defaults first, then random detector settings (features and HST parameters)."""
    rng = random.Random(seed)
    out = [base]
    seen = {(base.features, tuple(sorted(base.params.items())))}
    tries = 0
    while len(out) < trials and tries < trials * 20:
        tries += 1
        params = dict(base.params)
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
    """Search; return ``(best, defaults)``, each with its metrics."""
    if metric not in METRICS:
        raise UserError(f"unknown metric {metric!r} (choose from: {', '.join(METRICS)})")
    cands = candidates(base, max(1, trials), seed)
    grid = [(th, h) for th in THRESHOLDS for h in HYSTERESES]
    total = len(cands) * (len(grid) + 1)
    done = 0
    best: Trial | None = None
    default: Trial | None = None
    for k, cand in enumerate(cands):
        series = load_series(sources, cand)
        windows = windows_for(series)
        pairs = [(cand.threshold, cand.hysteresis)] + grid if k == 0 else grid
        for th, h in pairs:
            apply_alerts(series, th, h)
            result = evaluate_series(series, windows)
            trial = Trial(replace(cand, threshold=th, hysteresis=h), objective(result, metric),
                          result)  # fmt: skip
            if default is None:
                default = trial
            if best is None or trial.value > best.value:
                best = trial
            done += 1
            if progress is not None:
                progress(done, total)
    assert best is not None and default is not None
    return best, default


def to_toml(settings: Settings) -> str:
    """The ``--config`` file for these settings."""

    def val(v: Any) -> str:
        if isinstance(v, bool):
            return "true" if v else "false"
        if isinstance(v, (int, float)):
            return repr(v)
        if isinstance(v, (list, tuple)):
            return "[" + ", ".join(val(x) for x in v) + "]"
        return '"' + str(v).replace("\\", "\\\\").replace('"', '\\"') + '"'

    lines = [
        "# sensorscope settings (sensorscope watch|score|evaluate --config FILE)",
        "[detect]",
        f"detector = {val(settings.detector)}",
        f"threshold = {val(settings.threshold)}",
        f"hysteresis = {val(settings.hysteresis)}",
        f"warmup = {val(settings.warmup)}",
        f"features = {val(list(settings.features))}",
        f"impute = {val(settings.impute)}",
    ]
    if settings.seed is not None:
        lines.append(f"seed = {val(settings.seed)}")
    if settings.params:
        lines.append("")
        lines.append("[detect.params]")
        lines += [f"{k} = {val(v)}" for k, v in sorted(settings.params.items())]
    return "\n".join(lines) + "\n"


CONFIG_KEYS = {"detector", "threshold", "hysteresis", "warmup", "features", "impute", "seed",
               "params", "format"}  # fmt: skip


def read_config(path: str) -> dict[str, Any]:
    """The ``[detect]`` table of a settings file, checked."""
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        import tomli as tomllib  # type: ignore[no-redef]

    try:
        with open(path, "rb") as fh:
            data = tomllib.load(fh)
    except OSError as exc:
        raise UserError(f"cannot read {path}: {exc.strerror or exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise UserError(f"{path}: not TOML ({exc})") from None
    detect = data.get("detect", {})
    if not isinstance(detect, dict):
        raise UserError(f"{path}: [detect] must be a table")
    unknown = sorted(set(detect) - CONFIG_KEYS)
    if unknown:
        raise UserError(f"{path}: unknown setting {unknown[0]!r} in [detect]")
    return detect
