"""The default scorer's Half-Space Trees view: river's HST on warm-up-scaled features.

Why HST is part of the default, and what it catches that the other views miss:
``sensorscope.detect.default``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from sensorscope.detect.base import CalibratedView
from sensorscope.detect.hst import HalfSpaceTrees
from sensorscope.detect.likelihood import Likelihood
from sensorscope.detect.numeric import count_before, ewma_states
from sensorscope.model import Reason

if TYPE_CHECKING:
    from sensorscope.detect.config import ScorerConfig

__all__ = ["FEATURES", "HstView", "check_features", "hst_views"]

FEATURES = ("value", "diff", "dev", "lag1", "lag2", "lag3", "lag4", "lag5", "diff2", "range8")


def check_features(features: Sequence[str]) -> None:
    """Refuse an unknown HST feature name (or none at all) with the names there are."""
    bad = [f for f in features if f not in FEATURES]
    if bad or not features:
        raise ValueError(
            f"unknown HST feature {bad[0] if bad else ''!r} (choose from: {', '.join(FEATURES)})"
        )


def hst_views(cfg: ScorerConfig) -> list[CalibratedView]:
    """HST, calibrated through its own likelihood unless ``hst_likelihood`` is off."""
    if not cfg.hst:
        return []
    lik = Likelihood.for_config(cfg, cfg.hst_likelihood_avg) if cfg.hst_likelihood else None
    return [CalibratedView(HstView(cfg), lik)]


class HstView:
    """river's Half-Space Trees on warm-up-scaled features (``sensorscope.detect.hst``,
    bit-identical).

    Features (the default uses ``value`` and ``diff``; the others were measured and did not
    help, see ``sensorscope.detect.config.VARIANTS``): ``value``; ``diff``, the change since
    the previous learned sample; ``dev``, the distance from a slow EWMA of the value (weight
    ``dev_alpha``); ``lag1``..``lag5``, the previous values (a shingle with ``value``);
    ``diff2``, the change over two samples; ``range8``, the spread of the last 8 values and this
    one. The scaling range is each feature's warm-up range widened by ``margin`` spans on both
    sides, so that the trees' random splits have room to isolate values beyond it; values
    beyond are clipped onto the edge.
    The warm-up is learned at once when it ends, so with a window no longer than the warm-up
    HST scores from the first sample after it.
    """

    FEATURES = FEATURES
    _KEEP = 8  # learned values kept as context for the features
    reason = Reason.HST
    part = "hst"

    def __init__(self, cfg: ScorerConfig) -> None:
        check_features(cfg.hst_features)
        self.cfg = cfg
        self.power = cfg.hst_power
        self.features = tuple(cfg.hst_features)
        self.warmup = max(1, cfg.warmup)
        self.margin = cfg.scale_margin
        self.window = cfg.hst_window
        self.dev_alpha = cfg.hst_dev_alpha
        self.model = self._new_model()
        self.recent = np.zeros(0)  # the last <= 8 learned values
        self.mean: float | None = None
        self.pending: list[np.ndarray] = []  # raw feature rows of the warm-up
        self.n_pending = 0
        self.lo: np.ndarray | None = None
        self.span: np.ndarray | None = None

    def _new_model(self) -> HalfSpaceTrees:
        c = self.cfg
        return HalfSpaceTrees(
            n_trees=c.hst_trees, height=c.hst_height, window_size=c.hst_window, seed=c.seed
        )

    @property
    def warming_up(self) -> bool:
        return self.lo is None

    def _features(self, v: np.ndarray, learn: np.ndarray) -> np.ndarray:
        """Raw feature rows; the context (previous values) moves on only with learned ones."""
        if self.features == ("value",):
            # The value alone (hst-raw): no context to compute, only the one to keep.
            xl = v[learn]
            if len(xl):
                self.recent = np.concatenate((self.recent, xl))[-self._KEEP :]
            return v[:, None].copy()
        m = len(self.recent)
        E = np.concatenate((self.recent, v[learn]))
        N = m + count_before(learn)  # context length before each sample
        cols = []
        need_mean = "dev" in self.features
        if need_mean:
            y0 = self.mean
            xl = v[learn]
            if y0 is None and len(xl):
                states = np.concatenate(([np.nan], ewma_states(xl[1:], self.dev_alpha, xl[0])))
            elif y0 is None:
                states = np.array([np.nan])
            else:
                states = ewma_states(xl, self.dev_alpha, y0)
            mean_before = states[count_before(learn)]
        for name in self.features:
            if name == "value":
                cols.append(v)
            elif name == "diff":
                cols.append(np.where(N >= 1, v - E[np.maximum(N - 1, 0)], 0.0) if len(E) else
                            np.zeros(len(v)))  # fmt: skip
            elif name == "dev":
                cols.append(np.where(np.isnan(mean_before), 0.0, v - mean_before))
            elif name.startswith("lag"):
                k = int(name[3:])
                if len(E) == 0:
                    cols.append(v.copy())
                    continue
                oldest = E[np.maximum(N - self._KEEP, 0)]
                lag = np.where(N >= k, E[np.maximum(N - k, 0)], oldest)
                cols.append(np.where(N >= 1, lag, v))
            elif name == "diff2":
                cols.append(np.where(N >= 2, v - E[np.maximum(N - 2, 0)], 0.0) if len(E) else
                            np.zeros(len(v)))  # fmt: skip
            else:  # range8: the last 8 learned values and this one
                pad = np.concatenate((np.full(self._KEEP, np.nan), E))
                win = np.lib.stride_tricks.sliding_window_view(pad, self._KEEP)
                # win[i] holds E[i-8 .. i-1]: the 8 values before position i of E.
                ctx = win[N] if len(win) else np.full((len(v), self._KEEP), np.nan)
                hi = np.fmax(np.nanmax(np.where(np.isnan(ctx), -np.inf, ctx), axis=1), v)
                lo = np.fmin(np.nanmin(np.where(np.isnan(ctx), np.inf, ctx), axis=1), v)
                cols.append(hi - lo)
        xl = v[learn]
        if len(xl):
            self.recent = E[-self._KEEP :].copy()
            if need_mean:
                self.mean = float(states[-1])
        return np.column_stack(cols)

    def _fit(self) -> None:
        rows = np.concatenate(self.pending)
        lo, hi = rows.min(axis=0), rows.max(axis=0)
        span = np.maximum(np.maximum(hi - lo, np.abs(hi) * 1e-3), 1e-6)
        self.lo = lo - self.margin * span
        self.span = span * (1.0 + 2.0 * self.margin)
        self.model.score_learn_many(self._scaled(rows), features=self.features)
        self.pending = []
        self.n_pending = 0

    def _scaled(self, raw: np.ndarray) -> np.ndarray:
        return np.clip((raw - self.lo) / self.span, 0.0, 1.0)

    def run(self, values: np.ndarray, t: np.ndarray | None, learn: np.ndarray) -> np.ndarray:
        """HST's score of each sample before it is learned; NaN while not ready (``t`` is not
        used: HST sees values only)."""
        n = len(values)
        out = np.full(n, np.nan)
        if n == 0:
            return out
        raw = self._features(values, learn)
        start = 0
        if self.lo is None:
            # Learned samples join the warm-up until it is complete; the one completing it is
            # still not scored (as river's first window scores 0).
            need = self.warmup - self.n_pending
            lidx = np.flatnonzero(learn)
            if len(lidx) < need:
                if len(lidx):
                    self.pending.append(raw[lidx])
                    self.n_pending += len(lidx)
                return out
            end = int(lidx[need - 1])
            self.pending.append(raw[lidx[:need]])
            self.n_pending += need
            self._fit()
            start = end + 1
        if start >= n:
            return out
        X = self._scaled(raw[start:])
        lrn = learn[start:]
        ready = (self.model.n_learned + count_before(lrn)) >= self.window
        got = self.model.score_learn_many(X, features=self.features, learn=lrn)
        out[start:] = np.where(ready, got, np.nan)
        return out

    def expected(self, t: float, back: int = 0) -> tuple[float, float] | None:
        """None: it has no band of its own (the scorer gives the learned range)."""
        return None

    def likelihood_input(self, raw: np.ndarray) -> np.ndarray:
        """``1 - (1 - raw) ** hst_power`` (1: the raw score itself)."""
        return raw if self.power == 1.0 else 1.0 - (1.0 - raw) ** self.power

    def learn_late(self, values: np.ndarray) -> None:
        """Learn ``values`` now without moving the context the features are computed from."""
        context = (self.recent, self.mean)
        self.run(values, None, np.ones(len(values), dtype=bool))
        self.recent, self.mean = context

    def checkpoint(self) -> tuple[Any, ...]:
        hst = self.model.checkpoint() if self.model.features is not None else None
        return (hst, self.recent, self.mean, list(self.pending), self.n_pending, self.lo,
                self.span)  # fmt: skip

    def restore(self, state: tuple[Any, ...]) -> None:
        hst, self.recent, self.mean, pending, self.n_pending, self.lo, self.span = state
        self.pending = list(pending)
        if hst is None:
            self.model = self._new_model()
        else:
            self.model.restore(hst)
