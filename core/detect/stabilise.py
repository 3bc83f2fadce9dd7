"""A variance-stabilising transform chosen per channel from what it learned first.

On a count channel (social volumes, requests, events per interval) the noise grows with the
level: a busy afternoon is far noisier than a quiet night, and heavy-tailed bursts reach far
past any earlier maximum. Views that measure errors in one typical size per channel (the
forecaster, the learned range) then call every busy hour and every burst unusual. A count
channel is recognised from its first :data:`DECIDE_AFTER` learned values (non-negative
integers counted in ones, not all equal, variance at least the mean: Poisson or
overdispersed), and its values reach the views and the range rule through ``count_transform``
(Anscombe's square root by default, which makes Poisson noise unit-variance at every level);
any other channel is left as it is. Why and the figures: ``sensorscope.detect.default``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["DECIDE_AFTER", "TRANSFORMS", "Stabiliser"]

#: Learned values a channel is judged on. Below every view's own warm-up (the forecaster's 50
#: samples, HST's 250, the likelihood's 300), so deciding late changes no score.
DECIDE_AFTER = 33
TRANSFORMS = ("none", "sqrt", "log", "nb")


def is_counts(values: np.ndarray) -> bool:
    """Non-negative integers counted in ones (their greatest common divisor is 1: a train of
    0s and 20s is a two-level signal, not counts), not constant, with variance at least their
    mean."""
    v = np.asarray(values, dtype=np.float64)
    if not len(v) or v.min() < 0.0 or not np.all(v == np.round(v)) or v.max() > 1e12:
        return False
    if int(np.gcd.reduce(v.astype(np.int64))) != 1:
        return False
    mean = float(v.mean())
    return float(v.var()) >= mean > 0.0


class Stabiliser:
    """Decides a channel's transform once and applies it.

    ``kind`` is None until :data:`DECIDE_AFTER` learned values have been seen (the scorer
    holds its views back until then), then ``"none"`` or the configured transform.
    """

    def __init__(self, transform: str = "sqrt") -> None:
        if transform not in TRANSFORMS:
            raise ValueError(f"unknown count_transform {transform!r} ({', '.join(TRANSFORMS)})")
        self.transform = transform
        self.shape = 1e12
        self.kind: str | None = None if transform != "none" else "none"
        self.seen = np.zeros(0)  # learned values so far, before the decision
        # Batches held back before the decision: (values, times, learn mask per part).
        self.pending: tuple[tuple[np.ndarray, np.ndarray, dict[str, np.ndarray]], ...] = ()

    def decide(self, learned: np.ndarray) -> int:
        """Take this batch's learned values; the index among them at which the decision was
        made (-1: not yet)."""
        need = DECIDE_AFTER - len(self.seen)
        self.seen = np.concatenate((self.seen, learned[:need]))
        if len(self.seen) < DECIDE_AFTER:
            return -1
        self.kind = self.transform if is_counts(self.seen) else "none"
        mean, var = float(self.seen.mean()), float(self.seen.var())
        # The negative binomial's shape by moments: variance = mean + mean**2 / shape.
        self.shape = mean * mean / (var - mean) if var > mean else 1e12
        self.seen = np.zeros(0)
        return need - 1

    def apply(self, values: np.ndarray) -> np.ndarray:
        if self.kind == "sqrt":
            # Anscombe: Poisson counts become near unit-variance whatever their mean.
            return 2.0 * np.sqrt(np.maximum(values, 0.0) + 0.375)
        if self.kind == "nb":
            r = self.shape
            return 2.0 * np.sqrt(r) * np.arcsinh(np.sqrt(np.maximum(values, 0.0) / r))
        if self.kind == "log":
            return np.log1p(np.maximum(values, 0.0))
        return values

    def checkpoint(self) -> tuple[Any, ...]:
        return (self.kind, self.seen, self.pending, self.shape)

    def restore(self, state: tuple[Any, ...]) -> None:
        self.kind, self.seen, self.pending, self.shape = state
