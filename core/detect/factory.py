"""Detectors by name: the default scorer and its variants, or any river anomaly detector.

:class:`ModelFactory` turns ``--detector``, ``--param``, ``--features``, ``--warmup`` and
``--seed`` into a factory of per-channel :class:`sensorscope.detect.base.ChannelModel` for
:class:`sensorscope.engine.ChannelEngine` (:func:`factory_for` reads them from a run's
settings):

- ``default`` (and the measured variants of :data:`sensorscope.detect.config.VARIANTS`,
  ``hst-raw`` among them: HST on the warm-up-scaled raw value, river's plain behaviour): the
  vectorised :class:`sensorscope.detect.default.ChannelScorer`; ``--param`` sets fields of its
  :class:`sensorscope.detect.config.ScorerConfig` (``--param hst_trees=25``), ``--features``
  its HST features.
- any river anomaly detector by class name (``hst`` is river's own ``HalfSpaceTrees``):
  :class:`sensorscope.detect.river.ChannelDetector`, scored one sample at a time through
  :class:`sensorscope.detect.river.RiverModel`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sensorscope.detect.base import ChannelModel
from sensorscope.detect.config import VARIANTS, ScorerConfig, config_from_params
from sensorscope.detect.default import ChannelScorer
from sensorscope.detect.hst_view import check_features
from sensorscope.detect.river import (
    DEFAULT_FEATURES,
    RIVER_HYSTERESIS,
    RIVER_THRESHOLD,
    ChannelDetector,
    RiverModel,
    detector_factory,
)
from sensorscope.errors import UserError
from sensorscope.model import DEFAULT_DETECTOR, DEFAULT_WARMUP, Settings

__all__ = ["ModelFactory", "factory_for", "make_scorer", "parse_param"]


def parse_param(text: str) -> tuple[str, Any]:
    """``"n_trees=25"`` -> ``("n_trees", 25)``; numbers, booleans and None are understood.

    >>> parse_param("n_trees=25"), parse_param("nu=0.2"), parse_param("seed=none")
    (('n_trees', 25), ('nu', 0.2), ('seed', None))
    """
    if "=" not in text:
        raise UserError(f"bad --param {text!r}: expected NAME=VALUE")
    key, _, raw = text.partition("=")
    key, raw = key.strip(), raw.strip()
    if not key.isidentifier():
        raise UserError(f"bad --param {text!r}: {key!r} is not a parameter name")
    low = raw.lower()
    value: Any
    if low in ("true", "false"):
        value = low == "true"
    elif low in ("none", "null"):
        value = None
    else:
        try:
            value = int(raw)
        except ValueError:
            try:
                value = float(raw)
            except ValueError:
                value = raw
    return key, value


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


class ModelFactory:
    """Builds one model per channel for a detector name and its options.

    ``threshold`` and ``hysteresis`` are the detector's shipped ones (what ``--threshold`` and
    ``--hysteresis`` default to).
    """

    def __init__(
        self,
        detector: str = DEFAULT_DETECTOR,
        params: dict[str, Any] | None = None,
        features: Sequence[str] | None = None,
        warmup: int = DEFAULT_WARMUP,
        seed: int | None = 42,
    ) -> None:
        self.detector = detector
        self.warmup = max(1, warmup)
        self.seed = seed
        variant = VARIANTS.get(detector.lower())
        if variant is not None:
            self.kind = "scorer"
            self.name = variant.name
            try:
                cfg = config_from_params(variant, dict(params or {}))
                changes: dict[str, Any] = {"warmup": self.warmup}
                if features:
                    changes["hst_features"] = tuple(features)
                cfg = cfg.with_(**changes)
                if cfg.hst:
                    check_features(cfg.hst_features)
            except ValueError as exc:
                raise UserError(str(exc)) from None
            self.config = cfg
            self.threshold = cfg.threshold
            self.hysteresis = cfg.hysteresis
        else:
            self.kind = "river"
            self.make = detector_factory(detector, params, seed)
            self.name = self.make.detector_name  # type: ignore[attr-defined]
            self.features = tuple(features) if features else DEFAULT_FEATURES
            ChannelDetector(self.make, 0, self.warmup, self.features)
            self.threshold = RIVER_THRESHOLD
            self.hysteresis = RIVER_HYSTERESIS

    def __call__(self, index: int, threshold: float | None = None) -> ChannelModel:
        """A fresh model for the channel seen ``index``-th (each channel its own seed)."""
        thr = self.threshold if threshold is None else threshold
        if self.kind == "scorer":
            seed = None if self.seed is None else self.seed + index
            sc = ChannelScorer(self.config.with_(seed=seed))
            sc.threshold = thr
            return sc
        return RiverModel(ChannelDetector(self.make, index, self.warmup, self.features), thr)


def factory_for(settings: Settings) -> ModelFactory:
    """The model factory a run's settings name."""
    return ModelFactory(
        settings.detector, settings.params, settings.features, settings.warmup, settings.seed
    )
