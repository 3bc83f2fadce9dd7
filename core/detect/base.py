"""The seams of the detection room: what the engine needs of a model, and what the default
scorer needs of a view.

- :class:`ChannelModel`: one channel's detector as :class:`sensorscope.engine.ChannelEngine`
  drives it. The default scorer (:class:`sensorscope.detect.default.ChannelScorer`, its
  variants ``hst-raw`` among them) and any river detector
  (:class:`sensorscope.detect.river.RiverModel`) satisfy it; ``sensorscope.detect.factory``
  builds one by name.
- :class:`View`: one statistical view of the default scorer (HST, the forecaster, a seasonal
  profile): a raw score per sample, which the scorer calibrates through a
  :class:`sensorscope.detect.likelihood.Likelihood` and combines with the others. A view is one
  file with the view and a builder (``ScorerConfig -> list[CalibratedView]``) and one line in
  ``sensorscope.detect.default.VIEWS``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, NamedTuple, Protocol, runtime_checkable

import numpy as np

from sensorscope.model import Reason

if TYPE_CHECKING:
    from sensorscope.detect.likelihood import Likelihood

__all__ = ["CalibratedView", "ChannelModel", "Scored", "View"]


class Scored(NamedTuple):
    """What :meth:`ChannelModel.score_many` returns, one entry per sample."""

    score: np.ndarray  # float64 in [0, 1], after the refractory step
    why: np.ndarray  # int8 reason code (sensorscope.model.Reason) of the part that decided it
    #: float64: the score before the refractory step. An alert episode that a high score
    #: opened stays open while this stays high: the anomaly goes on even though it is not
    #: announced again.
    evidence: np.ndarray


@runtime_checkable
class ChannelModel(Protocol):
    """One channel's model, as the engine drives it: scores ahead in arrays, checkpoints
    before a batch whose episodes may change what is learned, goes back, and learns late what
    a false-positive label gives back."""

    #: The threshold alerts open at (the engine sets it; the model's refractory step guards it).
    threshold: float

    @property
    def warming_up(self) -> bool:
        """Still learning what is usual: nothing it says yet is an alert."""
        ...

    def score_many(
        self,
        values: np.ndarray,
        t: np.ndarray,
        learn: np.ndarray,
        observed: np.ndarray,
        held: np.ndarray | None = None,
    ) -> Scored:
        """Score every sample in order, each before it is learned (``learn``: it enters the
        statistics; ``observed``: a real reading, not imputed; ``held``: inside an episode)."""
        ...

    def checkpoint(self) -> object:
        """The model's state, to :meth:`restore` later; opaque to the caller."""
        ...

    def restore(self, state: object) -> None: ...

    def learn_late(self, values: np.ndarray) -> None:
        """Learn samples held back earlier (an alert later labelled a false positive)."""
        ...

    def expected(self, why: int, t: float, back: int = 0) -> tuple[float, float] | None:
        """The band (low, high) the part behind reason ``why`` expected the latest sample
        scored (at time ``t``) in, or the one ``back`` samples before it in the latest batch,
        from what it had learned before it; None: no band."""
        ...


@runtime_checkable
class View(Protocol):
    """One view of a channel in the default scorer: a raw score per sample, before it is
    learned, from what this view has learned of the channel so far."""

    @property
    def reason(self) -> Reason:
        """What an alert this view decided says (``sensorscope.model.REASONS``)."""
        ...

    @property
    def part(self) -> str:
        """Its name in ``ScorerConfig.hold_parts``: whether it learns inside an episode."""
        ...

    @property
    def warming_up(self) -> bool:
        """Not scoring yet (its raw scores are NaN); nothing is learned late meanwhile."""
        ...

    def run(self, values: np.ndarray, t: np.ndarray, learn: np.ndarray) -> np.ndarray:
        """Raw scores of the samples (NaN: not ready), learning those where ``learn``."""
        ...

    def likelihood_input(self, raw: np.ndarray) -> np.ndarray:
        """What its likelihood sees of ``raw``: a score in [0, 1] (NaN kept)."""
        ...

    def learn_late(self, values: np.ndarray) -> None:
        """Learn ``values`` out of order, where this view's order does not matter."""
        ...

    def expected(self, t: float, back: int = 0) -> tuple[float, float] | None:
        """The band it considers usual for the latest sample scored (time ``t``), or for the
        one ``back`` samples before it in the latest batch, from what it had learned before
        it; None when it has no band of its own. A view whose band moves only as it learns
        (nothing is learned inside an episode) may give its band at ``t`` for any ``back``."""
        ...

    def checkpoint(self) -> object: ...

    def restore(self, state: object) -> None: ...


@dataclass
class CalibratedView:
    """A view and the likelihood that calibrates its raw scores (None: the raw score is the
    score, as in ``hst-raw``)."""

    view: View
    likelihood: Likelihood | None
