"""The default scorer's seasonal profiles: distance from what this hour of the day (or block of
the week) usually looks like (why they are there: ``sensorscope.detect.default``)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from sensorscope.detect.base import CalibratedView
from sensorscope.detect.forecast import BAND
from sensorscope.detect.likelihood import Likelihood
from sensorscope.detect.numeric import squashed_errors
from sensorscope.model import Reason

if TYPE_CHECKING:
    from sensorscope.detect.config import ScorerConfig

__all__ = ["ProfileView", "profile_views"]


def profile_views(cfg: ScorerConfig) -> list[CalibratedView]:
    """One profile per ``(period, slots)`` of ``cfg.profiles``, each with its likelihood."""
    squash = (cfg.squash, cfg.error_power, cfg.error_squash)
    return [
        CalibratedView(
            ProfileView(p, s, cfg.profile_rate, cfg.profile_spread_rate, squash=squash),
            Likelihood.for_config(cfg),
        )
        for p, s in cfg.profiles
    ]


class ProfileView:
    """Distance from what this time slot of the day (or week) usually looks like.

    The period (a day, a week) is cut into ``slots``. Each visit to a slot (its learned samples
    from entering it to leaving it) is summarised by its mean level and by its mean absolute
    distance from the slot's profile level. When a visit ends, the slot's level moves towards
    the visit's mean by ``rate`` and its spread towards the visit's distance by ``spread_rate``
    (the first visits are plain averages). A sample is scored by ``|value - level| / spread`` of
    its slot, which needs two finished visits (the first gives a level, the second a spread):
    the profile compares with earlier days (weeks), learns once per day (week) whatever the
    sample rate, and says nothing on a short recording.

    >>> p = ProfileView(period=86400.0, slots=24)
    >>> h = np.arange(72)
    >>> z = p.run(10.0 + h % 24 + 0.1 * (h // 24 % 2), 3600.0 * h, np.ones(72, bool))
    >>> bool(np.isnan(z[:48]).all()), bool(np.isfinite(z[49:]).all())
    (True, True)
    """

    part = "profiles"

    def __init__(
        self, period: float = 86400.0, slots: int = 24, rate: float = 0.2,
        spread_rate: float = 0.2, squash: tuple[float, float, float] = (6.0, 1.0, 3.0),
    ) -> None:  # fmt: skip
        self.squash = squash  # what its likelihood sees: see ForecastView
        self.period = period
        self.slots = slots
        self.rate = rate
        self.spread_rate = spread_rate
        self.level = np.full(slots, np.nan)
        self.spread = np.full(slots, np.nan)
        self.visits = np.zeros(slots, dtype=np.int64)
        self.key: int | None = None  # the visit in progress: period number * slots + slot
        self.acc = (0, 0.0, 0.0)  # its learned samples: count, sum, distance from the level

    @property
    def reason(self) -> Reason:
        return Reason.DAILY if self.period <= 86400.0 else Reason.WEEKLY

    @property
    def warming_up(self) -> bool:
        """No slot has its two finished visits yet."""
        return not bool((self.visits >= 2).any())

    def run(self, values: np.ndarray, t: np.ndarray, learn: np.ndarray) -> np.ndarray:
        n = len(values)
        finite = np.isfinite(t)
        tt = np.where(finite, t, 0.0)
        period_no = np.floor_divide(tt, self.period)
        into = tt - period_no * self.period
        slot = np.minimum(self.slots - 1, np.floor_divide(into, self.period / self.slots))
        slot = slot.astype(np.int64)
        key = period_no.astype(np.int64) * self.slots + slot
        lidx = np.flatnonzero(learn & finite)
        lkey = key[lidx]
        # A learned sample in another slot (or period) than the visit in progress starts a
        # new visit; the batch is cut there into segments that each see one profile state.
        chg = np.empty(len(lidx), dtype=bool)
        if len(lidx):
            chg[1:] = lkey[1:] != lkey[:-1]
            chg[0] = self.key is None or int(lkey[0]) != self.key
        change = lidx[chg]
        lpos = np.searchsorted(lidx, np.concatenate(([0], change, [n])))
        levels = [self.level.copy()]
        spreads = [self.spread.copy()]
        vl = values[lidx]
        for s in range(len(change) + 1):
            if s > 0:
                self._close_visit()
                self.key = int(key[change[s - 1]])
                levels.append(self.level.copy())
                spreads.append(self.spread.copy())
            a, b = int(lpos[s]), int(lpos[s + 1])
            if b > a:
                seg = vl[a:b]
                lev = self.level[self.key % self.slots]
                cnt, tot, dev = self.acc
                dev_add = 0.0 if np.isnan(lev) else float(np.abs(seg - lev).sum())
                self.acc = (cnt + b - a, tot + float(seg.sum()), dev + dev_add)
        seg_of = np.searchsorted(change, np.arange(n), side="right")
        lev = np.array(levels)[seg_of, slot]
        spr = np.array(spreads)[seg_of, slot]
        err = np.abs(values - lev)
        err = np.where(err <= 1e-12 * np.abs(values), 0.0, err)
        with np.errstate(divide="ignore", invalid="ignore"):
            z = np.where(spr > 0.0, err / spr, np.where(err == 0.0, 0.0, 10.0))
        return np.where(finite & ~np.isnan(spr), z, np.nan)

    def _close_visit(self) -> None:
        cnt, tot, dev = self.acc
        self.acc = (0, 0.0, 0.0)
        if self.key is None or cnt == 0:
            return
        slot = self.key % self.slots
        mean = tot / cnt
        visits = int(self.visits[slot])
        if visits == 0:
            self.level[slot] = mean
        else:
            d = dev / cnt
            spread = self.spread[slot]
            if np.isnan(spread):
                self.spread[slot] = d
            else:
                self.spread[slot] = spread + max(self.spread_rate, 1.0 / visits) * (d - spread)
            self.level[slot] += max(self.rate, 1.0 / (visits + 1)) * (mean - self.level[slot])
        self.visits[slot] = visits + 1

    def expected(self, t: float, back: int = 0) -> tuple[float, float] | None:
        """The level of ``t``'s slot +- 3 of its spreads, once it has them."""
        if not np.isfinite(t):
            return None
        into = t - (t // self.period) * self.period
        slot = min(self.slots - 1, int(into // (self.period / self.slots)))
        level, spread = float(self.level[slot]), float(self.spread[slot])
        if not (np.isfinite(level) and np.isfinite(spread)):
            return None
        return (level - BAND * spread, level + BAND * spread)

    def likelihood_input(self, raw: np.ndarray) -> np.ndarray:
        return squashed_errors(raw, *self.squash)

    def learn_late(self, values: np.ndarray) -> None:
        """Nothing: a visit is a stretch of time, and late samples have none."""

    def checkpoint(self) -> tuple[Any, ...]:
        return (self.level.copy(), self.spread.copy(), self.visits.copy(), self.key, self.acc)

    def restore(self, state: tuple[Any, ...]) -> None:
        level, spread, visits, self.key, self.acc = state
        self.level, self.spread, self.visits = level.copy(), spread.copy(), visits.copy()
