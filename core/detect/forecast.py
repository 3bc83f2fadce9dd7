"""The default scorer's streaming forecaster: the error of an EWMA prediction, in units of its
running mean absolute error (why it is there: ``sensorscope.detect.default``)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from sensorscope.detect.base import CalibratedView
from sensorscope.detect.likelihood import Likelihood
from sensorscope.detect.numeric import count_before, ewma_states, squashed_errors
from sensorscope.model import Reason

if TYPE_CHECKING:
    from sensorscope.detect.config import ScorerConfig

__all__ = ["BAND", "ForecastView", "forecast_views"]

#: An expected band is the view's usual value +- this many of its typical deviations.
BAND = 3.0


def forecast_views(cfg: ScorerConfig) -> list[CalibratedView]:
    """The forecaster with its likelihood, unless ``forecast`` is off."""
    if not cfg.forecast:
        return []
    view = ForecastView(
        cfg.forecast_alpha, cfg.forecast_error_rate, cfg.forecast_ready,
        squash=(cfg.squash, cfg.error_power, cfg.error_squash),
    )  # fmt: skip
    return [CalibratedView(view, Likelihood.for_config(cfg))]


class ForecastView:
    """Error of a one-step EWMA forecast in units of its running mean absolute error.

    The prediction is an EWMA of the level with weight ``alpha`` on the newest sample; the
    error's typical size is an EWMA (``rate``) of absolute errors. A sudden jump, spike or
    drop is many typical errors; a noise burst is a run of large ones. NaN for the first
    ``ready`` learned samples while the typical error settles. ``squash`` is ``(scale, power,
    power_scale)`` of :func:`sensorscope.detect.numeric.squashed_errors`: what its likelihood
    sees of an error.
    """

    reason = Reason.FORECAST
    part = "forecast"

    def __init__(
        self, alpha: float = 0.5, rate: float = 0.01, ready: int = 50,
        squash: tuple[float, float, float] = (6.0, 1.0, 3.0),
    ) -> None:  # fmt: skip
        self.squash = squash
        self.alpha = alpha
        self.rate = rate
        self.ready = ready
        self.level: float | None = None
        self.size: float | None = None
        self.n = 0
        # The prediction for the latest sample scored and its typical error, as it was
        # before that sample was learned: what an alert it opened says was expected.
        self.last: tuple[float, float] | None = None
        # ... and for each sample of the latest batch (an alert's peak may come before its
        # last sample): predictions and typical errors. Not state: the next batch replaces it.
        self._batch: tuple[np.ndarray, np.ndarray] | None = None

    @property
    def warming_up(self) -> bool:
        return self.n <= self.ready

    def run(self, values: np.ndarray, t: np.ndarray | None, learn: np.ndarray) -> np.ndarray:
        """Errors in typical errors (NaN: not ready); ``t`` is not used."""
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
        if len(values) and np.isfinite(level[-1]) and np.isfinite(size[-1]):
            self.last = (float(level[-1]), float(size[-1]))
        self._batch = (level, size)
        if K:
            self.level = float(levels[-1])
            self.n += K
        if len(e):
            self.size = float(sizes[-1])
        return z

    def likelihood_input(self, raw: np.ndarray) -> np.ndarray:
        return squashed_errors(raw, *self.squash)

    def expected(self, t: float, back: int = 0) -> tuple[float, float] | None:
        """The prediction +- 3 typical errors for the latest sample scored, or for the one
        ``back`` samples before it in the latest batch."""
        got = self.last
        if back and self._batch is not None and back < len(self._batch[0]):
            level, size = (float(a[-1 - back]) for a in self._batch)
            got = (level, size) if np.isfinite(level) and np.isfinite(size) else None
        if got is None:
            return None
        level, size = got
        return (level - BAND * size, level + BAND * size)

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state["_batch"] = None  # the latest batch's bands: not worth a state file's bytes
        return state

    def learn_late(self, values: np.ndarray) -> None:
        """Nothing: the level follows the samples in order, so none is learned out of it."""

    def checkpoint(self) -> tuple[Any, ...]:
        return (self.level, self.size, self.n)

    def restore(self, state: tuple[Any, ...]) -> None:
        self.level, self.size, self.n = state
