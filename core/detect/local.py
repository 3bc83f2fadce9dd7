"""The default scorer's local view: how far a sample is from the channel's recent past.

Why it is there (issue 13, item 1): the other views compare a sample with everything the
channel has done (the learned range, the likelihoods' 8640 means, the profiles' earlier
days), so a spike far above the last few hundred samples but below a maximum seen long ago
is hidden by that long history, and the forecaster's error is averaged over 10 samples, so
one spike in a noisy band is diluted. This view keeps only the last ``local_window`` (256)
learned values and scores each sample by its distance from their median in robust spreads
(the interquartile range), one sample at a time (its likelihood's average is 1). Its
likelihood fits an exponential upper tail above the 95% quantile of its history
(``likelihood_tail="expo"`` for this view only): the distances of real series are heavier
tailed than a Gaussian, and with the Gaussian tail the view cost 9 points of the protocol's
LOCO mean (``bench/protocol.py --quick``: 73.6 against 82.7).

It ships off (``ScorerConfig.local``; ``"try:local"`` turns it on): measured with ``python
bench/protocol.py --config stop18=detector=stop18 --config new=detector=try:local``, every NAB
row is the same as stop 18's (LOCO mean 82.7, realKnownCause 66 false alerts, 18 files 79.4;
on the 18 files it decides 1 of the 85 samples at the threshold), healthy boards 0.00 false
alerts per channel-hour, the demo 10/10 with no false alert; subtle spikes 106 + 84 of 110 +
110 (severities 0.5, 0.25) against 108 + 83. The two lost, and a real fault 10 s after a
labelled benign blip (``tests/core/test_engine.py``), are the refractory step's: it counts
every high score, so an early local alert on a drift lowers the range rule's hit that would
have kept the drift out of the learned range, and the local view's high score on a blip it
has not seen within its window (one a minute, labelled a false positive and not announced)
lowers the fault after it. The variants tried (the full protocol;
``sensorscope.detect.config.VARIANTS``): a generalised Pareto tail (``"try:local-gpd"``) also
says a spike beyond a noisy band by a third of its range, which ``"try:local"`` scores 0.53,
but LOCO reads 80.6; an exponential tail over the top 1% (``"try:local-q99"``, ``--quick``) 70.2;
the average of 10 with the Gaussian tail (``"try:local-avg-10"``), as the other views are
calibrated, catches 94 of 110 subtle drifts at severity 0.25 instead of 7 (110 at 0.5
instead of 72) but LOCO reads 79.0 (realKnownCause 17/19 at the threshold it then picks);
speaking after 100 means (``"try:local-early"``) scores from the 164th sample instead of the
351st, LOCO 82.5 with 70 false alerts on realKnownCause, and a 5-sd spike at the 300th
sample still scores only 0.39-0.54.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from sensorscope.detect.base import CalibratedView
from sensorscope.detect.likelihood import Likelihood
from sensorscope.detect.numeric import count_before, squashed_errors
from sensorscope.model import Reason

if TYPE_CHECKING:
    from sensorscope.detect.config import ScorerConfig

__all__ = ["LocalView", "local_views"]

# Scale factors that make an interquartile range and a mean absolute deviation estimate a
# Gaussian's sd.
_IQR_SD = 1.0 / 1.349
_MEAN_AD_SD = 1.2533


def local_views(cfg: ScorerConfig) -> list[CalibratedView]:
    """The local view with its likelihood (its own short-term average and, when set, its own
    shorter history before it speaks), unless ``local`` is off."""
    if not cfg.local:
        return []
    view = LocalView(
        cfg.local_window, cfg.local_step, cfg.local_ready,
        squash=(cfg.local_squash, cfg.error_power, cfg.error_squash),
    )  # fmt: skip
    if cfg.local_likelihood_tail:
        cfg = cfg.with_(likelihood_tail=cfg.local_likelihood_tail)
    if cfg.local_tail_quantile > 0.0:
        cfg = cfg.with_(likelihood_tail_quantile=cfg.local_tail_quantile)
    lik = Likelihood.for_config(cfg, cfg.local_likelihood_avg)
    if cfg.local_min_history > 0:
        # The same likelihood, allowed to speak after fewer means: the view is ready long
        # before the warm-up ends, so it can be the first to score on a fresh channel.
        lik.min_history = max(2, min(cfg.local_min_history, lik.history))
    return [CalibratedView(view, lik)]


class LocalView:
    """Distance of a sample from the recent past: ``|value - median| / spread`` of the last
    ``window`` learned values.

    The spread is the interquartile range (scaled to a Gaussian's sd), or where the quartiles
    meet (a quantised or mostly flat channel) the mean absolute deviation from the median. The
    reference is recomputed every ``step`` learned samples (when the learned count reaches a
    multiple of ``step``), from the ``window`` values learned before that point, so it costs
    one partition of ``window`` values per ``step`` samples, not one per sample, and depends
    only on the learned stream, not on how it is cut into batches. A view that keeps no more
    than the last ``window`` values, whatever the channel's history, sees what a long history
    hides: a spike far above the last few hundred samples but below a maximum seen long ago,
    a value beyond a noisy band by less than the range rule's tolerance.
    NaN until ``ready`` values have been learned (the reference then uses what there is).
    """

    reason = Reason.LOCAL
    part = "local"

    def __init__(
        self, window: int = 256, step: int = 32, ready: int = 64,
        squash: tuple[float, float, float] = (6.0, 1.0, 3.0),
    ) -> None:  # fmt: skip
        self.window = max(2, window)
        self.step = max(1, step)
        self.ready = max(2, min(ready, self.window))
        self.squash = squash
        self.recent = np.zeros(0)  # the last <= window learned values, oldest first
        self.n = 0  # values learned ever
        # The reference in force: (median, spread) at the last multiple of `step` <= n.
        self.ref = (np.nan, np.nan)

    @property
    def warming_up(self) -> bool:
        return bool(np.isnan(self.ref[0]))

    def run(self, values: np.ndarray, t: np.ndarray | None, learn: np.ndarray) -> np.ndarray:
        """Robust distances (NaN: not ready); ``t`` is not used."""
        xl = values[learn]
        K = len(xl)
        E = np.concatenate((self.recent, xl))
        first = self.n - len(self.recent)  # learned count of E[0]
        step = self.step
        # References at each multiple of `step` reached in this batch, after the one in force.
        b0 = (self.n // step) * step
        bounds = np.arange(b0 + step, self.n + K + 1, step, dtype=np.int64)
        med = np.full(len(bounds) + 1, self.ref[0])
        spr = np.full(len(bounds) + 1, self.ref[1])
        if len(bounds):
            m, s = self._references(E, bounds - first)
            med[1:], spr[1:] = m, s
        which = (self.n + count_before(learn)) // step - b0 // step
        lev, sp = med[which], spr[which]
        err = np.abs(values - lev)
        err = np.where(err <= 1e-12 * np.abs(values), 0.0, err)
        with np.errstate(divide="ignore", invalid="ignore"):
            z = np.where(sp > 0.0, err / sp, np.where(err == 0.0, 0.0, 10.0))
        z = np.where(np.isnan(lev), np.nan, z)
        if K:
            self.n += K
            self.recent = E[-self.window :].copy()
            self.ref = (float(med[-1]), float(spr[-1]))
        return z

    def _references(self, E: np.ndarray, ends: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(median, spread) of the ``window`` values of ``E`` before each index in ``ends``
        (fewer near the start; NaN with fewer than ``ready``)."""
        W = self.window
        med = np.full(len(ends), np.nan)
        spr = np.full(len(ends), np.nan)
        full = ends >= W
        if full.any():
            wins = E[ends[full, None] - np.arange(W, 0, -1)]
            med[full], spr[full] = _robust(wins)
        # The few references of a channel's first `window` values, one by one.
        for i in np.flatnonzero(~full & (ends >= self.ready)).tolist():
            w = E[: int(ends[i])][None, :]
            m, s = _robust(w)
            med[i], spr[i] = m[0], s[0]
        return med, spr

    def expected(self, t: float, back: int = 0) -> tuple[float, float] | None:
        """None: it has no band of its own (the scorer gives the learned range)."""
        return None

    def likelihood_input(self, raw: np.ndarray) -> np.ndarray:
        return squashed_errors(raw, *self.squash)

    def learn_late(self, values: np.ndarray) -> None:
        """Nothing: the recent past is the samples in their order."""

    def checkpoint(self) -> tuple[Any, ...]:
        # `recent` is replaced, never changed in place, so sharing it is a copy.
        return (self.recent, self.n, self.ref)

    def restore(self, state: tuple[Any, ...]) -> None:
        self.recent, self.n, self.ref = state


def _robust(wins: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Median and robust spread of each row: the interquartile range scaled to a Gaussian's
    sd (one partition gives both), or the scaled mean absolute deviation from the median
    where the quartiles meet (more than half the row on one value)."""
    w = wins.shape[1]
    lo, mid, hi = (w - 1) // 4, (w - 1) // 2, (3 * (w - 1)) // 4
    part = np.partition(wins, (lo, mid, w // 2, hi), axis=1)
    med = 0.5 * (part[:, mid] + part[:, w // 2])
    spread = (part[:, hi] - part[:, lo]) * _IQR_SD
    flat = np.flatnonzero(spread <= 0.0)
    if len(flat):
        spread[flat] = np.abs(wins[flat] - med[flat, None]).mean(axis=1) * _MEAN_AD_SD
    return med, spread
