"""The anomaly likelihood: how unusual a view's recent raw scores are against their own history.

It is what makes one threshold fit every channel and every view of the default scorer
(``sensorscope.detect.default`` says why, with the figures).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np

from sensorscope.detect.numeric import LN10, count_before, log_scores

if TYPE_CHECKING:
    from sensorscope.detect.config import ScorerConfig

__all__ = ["Likelihood"]


class Likelihood:
    """How unusual the recent average of a raw score is against its own long-run history.

    NAB's "anomaly likelihood": the mean of the last ``avg`` raw scores is compared with the
    mean and standard deviation of the last ``history`` such means, and the Gaussian upper
    tail probability ``p`` of the current one is returned as ``-log10(p) / 10``. Averaging makes
    a burst of moderately high raw scores (several spikes close together, a noisy stretch)
    count as much as one very high score; the long-run history makes the score relative to
    how noisy this view of this channel usually is. Nothing is scored until ``min_history``
    means have been seen, and raw scores of a view that is not ready yet (NaN) are skipped
    entirely, so a warm-up never enters the history. ``std`` is floored at ``min_std`` so that
    a view that has always been exactly 0 does not turn a rounding error into an alert.

    A sample that is not learned is scored with the mean it would make, and changes nothing.

    ``tail="expo"`` or ``"gpd"`` (measured, not the default): above the ``tail_quantile`` of the
    history the tail is an exponential or a generalised Pareto (probability-weighted moments)
    fitted to the excesses, wherever that is heavier than the Gaussian. It is refitted when the
    learned means reach ``min_history + k * tail_refit``, so the fit does not depend on how the
    stream is cut.

    >>> lik = Likelihood(avg=2, history=100, min_history=20)
    >>> quiet = lik.run(0.1 + 0.01 * (np.arange(50) % 3), np.ones(50, bool))
    >>> float(quiet.max()) < 0.2, float(lik.run(np.array([0.9]), np.array([True]))[0]) > 0.5
    (True, True)
    """

    def __init__(
        self, avg: int = 10, history: int = 8640, min_history: int = 300, min_std: float = 1e-3,
        power: float = 1.0, tail: str = "gauss", tail_quantile: float = 0.95,
        tail_refit: int = 1000,
    ) -> None:  # fmt: skip
        self.power = power
        self.avg = max(1, avg)
        self.history = max(2, history)
        self.min_history = max(2, min(min_history, self.history))
        self.min_std = min_std
        if tail not in ("gauss", "expo", "gpd"):
            raise ValueError(f"unknown likelihood tail {tail!r} (gauss, expo or gpd)")
        self.tail = tail
        self.tail_quantile = tail_quantile
        self.tail_refit = max(1, tail_refit)
        self.count = 0  # means learned ever: the refit schedule counts these
        self.started = False  # set by the scorer once its window is fixed (first raw score)
        self.active = np.zeros(0, dtype=bool)  # which samples of the last run were scored
        # The tail fitted last: (fit number, z of its threshold, ln of the fraction above it,
        # scale and shape of the excesses over it), in standard units of the history it was
        # fitted on.
        self.fit: tuple[int, float, float, float, float] | None = None
        self.short = np.zeros(0)  # the last <= avg learned raw scores, oldest first
        self.means = np.zeros(0)  # the last <= history short-term means, oldest first
        # Prefix sums of `means` and of their squares (len(means) + 1 each, from 0), so that a
        # batch sums its windows without summing the whole history again.
        self._cs = np.zeros(1)
        self._cs2 = np.zeros(1)

    @classmethod
    def for_config(cls, cfg: ScorerConfig, avg: int = 0) -> Likelihood:
        """The likelihood a view of the default scorer gets: ``cfg``'s ``likelihood_*``
        settings, with its own short-term average ``avg`` (0: ``likelihood_avg``)."""
        return cls(
            avg=avg or cfg.likelihood_avg, history=cfg.likelihood_history,
            min_history=cfg.likelihood_min_history, min_std=cfg.likelihood_min_std,
            power=cfg.likelihood_power, tail=cfg.likelihood_tail,
            tail_quantile=cfg.likelihood_tail_quantile, tail_refit=cfg.likelihood_tail_refit,
        )  # fmt: skip

    def run(self, raw: np.ndarray, learn: np.ndarray) -> np.ndarray:
        """Scores for ``raw`` (NaN: the view is not ready: 0.0 and nothing learned)."""
        n = len(raw)
        out = np.zeros(n)
        ready = ~np.isnan(raw)
        self.active = np.zeros(n, dtype=bool)
        if not ready.any():
            return out
        idx = np.flatnonzero(ready)
        r = raw[idx]
        lr = learn[idx]
        A = self.avg
        m = len(self.short)
        E = np.concatenate((self.short, r[lr]))
        C = np.concatenate(([0.0], np.cumsum(E)))
        before = count_before(lr)
        N = m + before  # learned raws before each sample, carried ones included
        # A learned sample's window is the last A of E up to and including itself; one that is
        # not learned is averaged with the last A - 1 learned ones, as if it were appended.
        lo = np.maximum(0, N + 1 - A)
        hi = np.where(lr, N + 1, N)
        mean = (C[hi] - C[lo] + np.where(lr, 0.0, r)) / (hi - lo + np.where(lr, 0, 1))
        if self.power != 1.0:
            mean = np.where(mean > 0.0, np.abs(mean) ** self.power, 0.0)
        h = len(self.means)
        new = mean[lr]
        D = np.concatenate((self._cs, self._cs[-1] + np.cumsum(new)))
        D2 = np.concatenate((self._cs2, self._cs2[-1] + np.cumsum(new * new)))
        q = h + before  # means in the history before each sample
        qlo = np.maximum(0, q - self.history)
        k = q - qlo
        active = k >= self.min_history
        fitted = self.tail != "gauss"
        if fitted:
            # Every mean this batch can reach, oldest first; allm[0] is mean number `base`.
            allm = np.concatenate((self.means, new))
            base = self.count - h
            g = self.count + before  # means learned ever before each sample
        if active.any():
            kk = np.maximum(k, 1)
            mu = (D[q] - D[qlo]) / kk
            var = (D2[q] - D2[qlo]) / kk - mu * mu
            sd = np.maximum(np.sqrt(np.maximum(var, 0.0)), self.min_std)
            z = (mean - mu) / sd
            if fitted:
                got = self._tail_scores(z, g, allm, base)
            else:
                got = log_scores(z)
            out[idx] = np.where(active, got, 0.0)
            self.active[idx] = active
        self.short = E[-A:].copy()
        if fitted and len(new) and self._fit_number(self.count + len(new)) >= 0:
            # Fit now what the next sample needs, while its history is still at hand.
            self._fit_for(self.count + len(new), allm, base)
        self.count += len(new)
        if len(new):
            self.means = np.concatenate((self.means, new))[-self.history :]
            # Keep the prefix sums of what is kept, starting from 0 again so they stay small.
            keep = len(self.means) + 1
            self._cs = D[-keep:] - D[-keep]
            self._cs2 = D2[-keep:] - D2[-keep]
        return out

    def _fit_number(self, g: int) -> int:
        """The fit in force for a sample with ``g`` means before it (-1: none yet)."""
        return -1 if g < self.min_history else (g - self.min_history) // self.tail_refit

    def _fit_for(
        self, g: int, allm: np.ndarray, base: int
    ) -> tuple[int, float, float, float, float]:
        """The tail for a sample with ``g`` means learned before it: fitted on the ``history``
        means before the last refit point, which is ``min_history + k * tail_refit`` means. The
        schedule counts means, so the fit is the same however the stream is cut."""
        k = self._fit_number(g)
        if self.fit is not None and self.fit[0] == k:
            return self.fit
        end = self.min_history + k * self.tail_refit - base
        w = allm[max(0, end - self.history) : end]
        mu = float(w.mean())
        sd = max(float(w.std()), self.min_std)
        top = max(1, int(math.ceil((1.0 - self.tail_quantile) * len(w))))
        part = np.partition(w, len(w) - top - 1)
        zu = (float(part[len(w) - top - 1]) - mu) / sd
        y = np.sort((part[len(w) - top :] - mu) / sd - zu)
        a0 = float(y.mean())
        if self.tail == "gpd" and top >= 3 and a0 > 0.0:
            # Probability-weighted moments (Hosking and Wallis 1987) of the excesses.
            a1 = float((y * (top - 1 - np.arange(top))).sum()) / (top * (top - 1))
            den = a0 - 2.0 * a1
            if den > 0.0:
                shape = 2.0 - a0 / den  # GPD xi: > 0 heavier than exponential, < 0 bounded
                scale = 2.0 * a0 * a1 / den
            else:
                shape, scale = 0.0, a0
        else:
            shape, scale = 0.0, a0
        self.fit = (k, zu, math.log(top / len(w)), scale, shape)
        return self.fit

    def _tail_scores(self, z: np.ndarray, g: np.ndarray, allm: np.ndarray, base: int) -> np.ndarray:
        """Scores with a fitted tail (exponential, or generalised Pareto) above the fitted
        quantile, where it is heavier than the Gaussian's. Short-term means of skewed raw
        scores have heavier tails than a Gaussian; measured, and not kept: see VARIANTS."""
        ln_gauss = -log_scores(z) * (10.0 * LN10)
        ln_p = ln_gauss.copy()
        knum = np.where(g >= self.min_history, (g - self.min_history) // self.tail_refit, -1)
        for kf in np.unique(knum[knum >= 0]).tolist():
            _, zu, ln_pu, scale, shape = self._fit_for(
                self.min_history + kf * self.tail_refit, allm, base
            )
            if scale <= 0.0:
                continue  # no spread above the quantile (ties): the Gaussian stands
            sel = (knum == kf) & (z > zu)
            y = (z[sel] - zu) / scale
            if abs(shape) < 1e-9:
                ln_t = -y
            else:
                with np.errstate(invalid="ignore", divide="ignore"):
                    ln_t = -np.log1p(shape * y) / shape
                ln_t = np.where(1.0 + shape * y > 0.0, ln_t, -np.inf)  # beyond a bounded tail
            ln_p[sel] = np.maximum(ln_gauss[sel], ln_pu + ln_t)
        return np.clip(-ln_p / (10.0 * LN10), 0.0, 1.0)

    def checkpoint(self) -> tuple[Any, ...]:
        # The arrays are replaced, never changed in place, so sharing them is a copy.
        return (self.short, self.means, self._cs, self._cs2, self.count, self.fit, self.avg,
                self.started)  # fmt: skip

    def restore(self, state: tuple[Any, ...]) -> None:
        (self.short, self.means, self._cs, self._cs2, self.count, self.fit, self.avg,
         self.started) = state  # fmt: skip
