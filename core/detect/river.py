"""Any river anomaly detector as a channel model, scored one sample at a time.

:class:`ChannelDetector` wraps a river detector (by class name, ``hst`` being river's own
``HalfSpaceTrees``). It learns the channel's range over a warm-up, scales every feature into
[0, 1] with that range (clipping beyond it, as Half-Space Trees assume bounded inputs), then
follows river's contract: ``score_one`` and then ``learn_one`` on the same features. Detectors
whose scores are not probabilities are mapped into [0, 1] by their rank among the channel's
recent scores, so one threshold means the same thing for every detector. A flatline rule sits
beside it. :class:`RiverModel` makes it a :class:`sensorscope.detect.base.ChannelModel`.
"""

from __future__ import annotations

import bisect
import copy
import inspect
import math
from collections import deque
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from sensorscope.detect.base import Scored
from sensorscope.errors import UserError
from sensorscope.model import DEFAULT_WARMUP, Reason

# Scores of river's detectors at or above this open an alert. HST's scores are compressed
# towards 1 (most of its mass sums sit deep in the trees), so the tails of normal noise reach
# 0.95; values beyond the learned range reach 0.99. Chosen on simulated boards.
RIVER_THRESHOLD = 0.98
RIVER_HYSTERESIS = 10
FEATURES = ("value", "diff", "std")
DEFAULT_FEATURES = ("value", "std")  # of river's detectors
SCALE_MARGIN = 2.0
# A stuck sensor: at least this many identical readings in a row (and 3x the usual run).
FLATLINE_MIN_RUN = 10
# Samples in the rolling window behind the "std" feature.
STD_WINDOW = 8
# Detectors whose scores are already probabilities in [0, 1]; others are rank-calibrated.
BOUNDED = {"HalfSpaceTrees", "GaussianScorer"}
# river's filters wrap another detector; they are not detectors to be named on their own.
NOT_DETECTORS = {"QuantileFilter", "ThresholdFilter"}
ALIASES = {"hst": "HalfSpaceTrees", "svm": "OneClassSVM", "lof": "LocalOutlierFactor"}


def _norm(name: str) -> str:
    return name.replace("-", "").replace("_", "").replace(".", "").lower()


def river_detectors() -> dict[str, type]:
    """Every river anomaly detector that can score a single channel, by class name."""
    from river import anomaly

    AnomalyDetector, SupervisedAnomalyDetector = _river_bases()

    out = {}
    for name, obj in vars(anomaly).items():
        if (
            inspect.isclass(obj)
            and issubclass(obj, (AnomalyDetector, SupervisedAnomalyDetector))
            and name not in NOT_DETECTORS
            and not inspect.isabstract(obj)
        ):
            out[name] = obj
    return out


def resolve_detector(name: str) -> tuple[str, type]:
    """Find a river anomaly detector by name, case and punctuation ignored."""
    detectors = river_detectors()
    wanted = ALIASES.get(name.lower(), name)
    by_norm = {_norm(k): k for k in detectors}
    key = by_norm.get(_norm(wanted))
    if key is None:
        choices = ", ".join(["default", "hst-raw", "hst", *sorted(detectors)])
        raise UserError(f"unknown detector {name!r} (choose from: {choices})")
    return key, detectors[key]


def detector_factory(
    name: str = "hst",
    params: dict[str, Any] | None = None,
    seed: int | None = 42,
) -> Callable[[int], Any]:
    """Return ``make(channel_index)`` building a fresh detector per channel.

    The detector is built once here so that a bad name or parameter fails before any data
    flows, with one clear line.
    """
    key, cls = resolve_detector(name)
    params = dict(params or {})
    accepts = inspect.signature(cls.__init__).parameters
    unknown = [p for p in params if p not in accepts]
    if unknown:
        names = ", ".join(p for p in accepts if p != "self")
        raise UserError(f"{key} has no parameter {unknown[0]!r} (it takes: {names})")
    for name, value in params.items():
        default = accepts[name].default
        # A number where river expects one: its own error would be Python's, not ours.
        if isinstance(default, (int, float)) and not isinstance(default, bool):
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise UserError(f"bad --param {name}={value}: {key} expects a number")
    uses_seed = "seed" in accepts and "seed" not in params

    def make(index: int) -> Any:
        kwargs = dict(params)
        if uses_seed and seed is not None:
            # Each channel gets its own seed so channels do not share tree layouts, yet a
            # rerun with the same seed scores identically.
            kwargs["seed"] = seed + index
        return cls(**kwargs)

    try:
        make(0)
    except ValueError as exc:  # river checks its arguments and says what it wants
        raise UserError(f"cannot build {key}: {exc}") from None
    except TypeError:
        given = ", ".join(f"{k}={v}" for k, v in params.items())
        raise UserError(
            f"cannot build {key} with {given}: a parameter has the wrong type"
        ) from None
    make.detector_name = key  # type: ignore[attr-defined]
    return make


class RankCalibrator:
    """Maps a raw score to the share of the last ``size`` raw scores below it."""

    __slots__ = ("size", "_window", "_sorted")

    def __init__(self, size: int = 1000) -> None:
        self.size = size
        self._window: deque[float] = deque()
        self._sorted: list[float] = []

    def __call__(self, raw: float) -> float:
        if not math.isfinite(raw):
            raw = math.inf if raw > 0 or math.isnan(raw) else -math.inf
        n = len(self._sorted)
        rank = bisect.bisect_left(self._sorted, raw) / n if n else 0.0
        self._window.append(raw)
        bisect.insort(self._sorted, raw)
        if len(self._window) > self.size:
            old = self._window.popleft()
            del self._sorted[bisect.bisect_left(self._sorted, old)]
        return rank


class ChannelDetector:
    """Scores one channel's samples: features -> warm-up scaling -> detector -> [0, 1].

    >>> det = ChannelDetector(detector_factory("hst", seed=1), warmup=50)
    >>> scores = [det.score(20.0 + (i % 7) * 0.1, learn=True) for i in range(400)]
    >>> det.warming_up, max(scores[:50])
    (False, 0.0)
    >>> det.score(95.0, learn=False) > 0.9  # far outside everything learned
    True
    """

    def __init__(
        self,
        make: Callable[[int], Any],
        index: int = 0,
        warmup: int = DEFAULT_WARMUP,
        features: Sequence[str] = DEFAULT_FEATURES,
    ) -> None:
        bad = [f for f in features if f not in FEATURES]
        if bad or not features:
            raise UserError(
                f"unknown feature {bad[0] if bad else ''!r} (choose from: {', '.join(FEATURES)})"
            )
        self.features = tuple(features)
        self.model = make(index)
        name = getattr(make, "detector_name", type(self.model).__name__)
        self.supervised = _is_supervised(self.model)
        self.calibrate = None if name in BOUNDED else RankCalibrator()
        self.warmup = max(1, warmup)
        self.flatline = FlatlineRule()
        self.reason = ""
        self._recent: deque[float] = deque(maxlen=STD_WINDOW)
        self._prev: float | None = None
        self._pending: list[list[float]] = []
        self._lo: list[float] = []
        self._span: list[float] = []
        self.learned = 0

    @property
    def warming_up(self) -> bool:
        return not self._span

    def _raw_features(self, value: float, learn: bool) -> list[float]:
        out = []
        for name in self.features:
            if name == "value":
                out.append(value)
            elif name == "diff":
                out.append(0.0 if self._prev is None else value - self._prev)
            else:
                window = [*self._recent, value]
                mean = sum(window) / len(window)
                out.append(math.sqrt(sum((v - mean) ** 2 for v in window) / len(window)))
        if learn:
            # Imputed samples stay out of the context so they cannot fake a flat or a jump.
            self._prev = value
            self._recent.append(value)
        return out

    def _fit_scale(self) -> None:
        for col in zip(*self._pending, strict=True):
            lo, hi = min(col), max(col)
            # A flat warm-up still needs a span; any later change is then far outside it.
            span = max(hi - lo, abs(hi) * 1e-3, 1e-6)
            # The warm-up range fills the middle fifth of HST's [0, 1] domain: the random
            # splits then have room to isolate values beyond it, which a narrow margin
            # would clip onto the edge of the normal data. Measured on simulated boards.
            margin = SCALE_MARGIN * span
            self._lo.append(lo - margin)
            self._span.append(span + 2 * margin)

    def _scaled(self, raw: list[float]) -> dict[str, float]:
        x = {}
        for name, v, lo, span in zip(self.features, raw, self._lo, self._span, strict=True):
            s = (v - lo) / span
            x[name] = 0.0 if s < 0.0 else 1.0 if s > 1.0 else s
        return x

    def score(self, value: float, learn: bool = True, observe: bool | None = None) -> float:
        """Score ``value``, then learn from it unless ``learn`` is False (imputed samples, or
        samples inside an alert episode).

        ``observe`` (default ``learn``): the value is a real reading, so it counts towards a
        flatline. ``reason`` afterwards says why a score is high when a rule rather than the
        detector made it so.
        """
        raw = self._raw_features(value, learn)
        flat = self.flatline.update(value) if (learn if observe is None else observe) else 0
        self.reason = f"stuck at {value:g}" if flat else ""
        if not self._span:
            if learn:
                self._pending.append(raw)
                if len(self._pending) >= self.warmup:
                    self._fit_scale()
                    for r in self._pending:
                        self._learn(self._scaled(r))
                    self._pending = []
            return 0.0
        x = self._scaled(raw)
        if self.supervised:
            s = float(self.model.score_one(None, x[self.features[0]]))
        else:
            s = float(self.model.score_one(x))
        if learn:
            self._learn(x)
        if self.calibrate is not None:
            s = self.calibrate(s)
        if flat:
            return 1.0
        return 0.0 if not s > 0.0 else 1.0 if s > 1.0 else s

    def _learn(self, x: dict[str, float]) -> None:
        if self.supervised:
            self.model.learn_one(None, x[self.features[0]])
        else:
            self.model.learn_one(x)
        self.learned += 1


class FlatlineRule:
    """Flags a sensor stuck at one value: a run of identical readings far longer than usual.

    HST cannot see this (every value of a stuck sensor is a normal value). The usual run
    length is learned from the channel itself, so a coarse sensor that often repeats a
    reading is not flagged for doing so.

    >>> rule = FlatlineRule(min_run=5)
    >>> [rule.update(v) for v in [1, 2, 1, 2, 3, 3, 3, 3, 3, 3, 3]]
    [0, 0, 0, 0, 0, 0, 0, 0, 5, 6, 7]
    """

    __slots__ = ("min_run", "factor", "run", "value", "longest")

    def __init__(self, min_run: int = FLATLINE_MIN_RUN, factor: float = 3.0) -> None:
        self.min_run = min_run
        self.factor = factor
        self.run = 0
        self.value: float | None = None
        self.longest = 1  # longest run seen that was not flagged

    def limit(self) -> int:
        return max(self.min_run, int(self.factor * self.longest))

    def update(self, value: float) -> int:
        """Return the run length when it counts as stuck, else 0."""
        if value == self.value:
            self.run += 1
        else:
            if self.run < self.limit():
                self.longest = max(self.longest, self.run)
            self.value = value
            self.run = 1
        return self.run if self.run >= self.limit() else 0


def _river_bases() -> tuple[type, type]:
    # river moved its anomaly base classes from river.anomaly.base to river.base (0.22).
    try:
        from river.base import AnomalyDetector, SupervisedAnomalyDetector
    except ImportError:
        from river.anomaly.base import AnomalyDetector, SupervisedAnomalyDetector
    return AnomalyDetector, SupervisedAnomalyDetector


def _is_supervised(model: Any) -> bool:
    return isinstance(model, _river_bases()[1])


class RiverModel:
    """Any river anomaly detector (:class:`ChannelDetector`) as an engine model.

    Scored one sample at a time (river's detectors are per-sample code anyway); a checkpoint
    is a deep copy of the detector.
    """

    def __init__(self, detector: ChannelDetector, threshold: float) -> None:
        self.det = detector
        self.threshold = threshold

    @property
    def warming_up(self) -> bool:
        return bool(self.det.warming_up)

    def score_many(
        self, values: np.ndarray, t: np.ndarray, learn: np.ndarray, observed: np.ndarray,
        held: np.ndarray | None = None,
    ) -> Scored:  # fmt: skip
        n = len(values)
        if held is not None:
            learn = learn & ~held
        score = np.zeros(n)
        why = np.zeros(n, dtype=np.int8)
        for i, (v, k, o) in enumerate(
            zip(values.tolist(), learn.tolist(), observed.tolist(), strict=True)
        ):
            if not math.isfinite(v):
                continue
            score[i] = self.det.score(v, learn=k, observe=o)
            if self.det.reason:
                why[i] = Reason.STUCK
            elif score[i] >= self.threshold:
                why[i] = Reason.HST
        return Scored(score, why, score)

    def checkpoint(self) -> ChannelDetector:
        return copy.deepcopy(self.det)

    def restore(self, state: object) -> None:
        self.det = copy.deepcopy(state)

    def learn_late(self, values: np.ndarray) -> None:
        for v in values.tolist():
            self.det.score(v, learn=True, observe=False)

    def expected(self, why: int, t: float, back: int = 0) -> tuple[float, float] | None:
        """None: a river detector says how unusual a sample is, not what it expected."""
        return None
