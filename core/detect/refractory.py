"""The refractory step: one alert per event.

High scores within ``refractory`` samples of the last high one are lowered below the
threshold, so an event's noisy tail does not open alert after alert. Lowered highs restart
the gate too (a long noisy event stays one alert); a labelled false positive's repeat does
not (:meth:`RefractoryGate.quiet`), so a real fault just after it is announced.
"""

from __future__ import annotations

import numpy as np

from sensorscope.detect.config import ScorerConfig
from sensorscope.model import Reason

_RULES = (Reason.RANGE, Reason.STUCK)


class RefractoryGate:
    """The gate's state: the position of the last high (in samples scored), the one before
    the latest high, and whether highs now belong to a labelled false positive's repeat."""

    def __init__(self, cfg: ScorerConfig) -> None:
        self.cfg = cfg
        self.last = -(10**18)
        self.prev = self.last
        self.quiet_now = False

    def quiet(self, on: bool, latest: int) -> None:
        """``on``: the high at position ``latest`` (the last scored) opened a repeat of a
        labelled false positive; it and the highs while that lasts are no event, so the gate
        goes back to where it was before it. Off: the repeat is over or announced."""
        if on and not self.quiet_now and self.last == latest:
            self.last = self.prev
        self.quiet_now = on

    def apply(self, best: np.ndarray, why: np.ndarray, pos: np.ndarray, threshold: float) -> None:
        """Lower (in place) the high scores of ``best`` (at positions ``pos``) inside the gate.

        With ``refractory_announced`` the gate runs from the last high that was *announced*
        (left high), not from every high: lowered highs do not keep it shut, so a second
        event after the gate is announced however noisy the first one's tail was; and a
        rule's hit (beyond the range, stuck) is never lowered: it is a fact, not a score."""
        cfg = self.cfg
        high = np.flatnonzero(best >= threshold)
        if not len(high) or cfg.refractory <= 0:
            return
        keep = cfg.refractory_level * threshold
        if cfg.refractory_announced:
            ruled = np.isin(why[high], _RULES)
            last = self.last
            # Highs are rare, so a loop over them (not over the samples) costs nothing.
            for k, p, rule in zip(high.tolist(), pos[high].tolist(), ruled.tolist(), strict=True):
                if rule or p - last > cfg.refractory:
                    last = p
                else:
                    best[k] = min(best[k], keep)
            self.last = last
        elif self.quiet_now:
            # Inside a labelled false positive's repeat: lowered against the gate as it is,
            # but they are not an event, so they do not hold the gate shut after it.
            lowered = high[pos[high] - self.last <= cfg.refractory]
            best[lowered] = np.minimum(best[lowered], keep)
        else:
            hp = pos[high]
            since = np.diff(np.concatenate(([self.last], hp)))
            self.prev = int(hp[-2]) if len(hp) > 1 else self.last
            lowered = high[since <= cfg.refractory]
            if cfg.refractory_spares_rules:
                lowered = lowered[~np.isin(why[lowered], _RULES)]
            best[lowered] = np.minimum(best[lowered], keep)
            self.last = int(hp[-1])

    def checkpoint(self) -> tuple[int, int, bool]:
        return (self.last, self.prev, self.quiet_now)

    def restore(self, state: tuple[int, int, bool]) -> None:
        self.last, self.prev, self.quiet_now = state
