"""The lasting reference: what a channel is like outside alerts, which a lasting fault cannot
overwrite.

The scorer's views learn all the time (the forecaster follows the level, the likelihoods
the noise of the scores; HST, the profiles and the range rule pause for only
``Settings.hold`` samples), so a fault that lasts minutes becomes normal to them within
seconds and its alert closes while the fault goes on. :class:`LastingReference` keeps what
the channel was like *outside* alerts: the distribution of the mean and of the log spread of
the last :data:`WINDOW` values (as exponentially weighted sums over about
:data:`MEMORY` samples), learned only while no episode is open, and with no cap on how long
an episode holds it back. The mean is taken relative to the :data:`LOCATION` values before the
window (so a channel's slow trend is not a shift), and inside an episode relative to the
:data:`LOCATION` values before it opened, frozen. The engine (:mod:`sensorscope.engine`)
keeps an open episode open once the current window's mean or spread is more than :data:`AWAY`
of those deviations away from it, and while it stays :data:`AWAY_LOW` away
(:meth:`LastingReference.away`): it never opens an alert itself.

A lasting change that is the new normal ends two ways: a false-positive label on the open
episode (a person says so), or the episode lasting ``ScorerConfig.lasting_limit`` seconds of
the channel's time, far longer than any fault. Either way :meth:`LastingReference.adopt`
makes what the episode saw the reference, so the alert closes once the views agree.

Comparing windows with windows (not single values with a band) is what makes a shift that
stays inside the usual range visible: the mean of 30 values moves far less than one value
does. The learned deviation of window means includes the channel's own slow wander and its
autocorrelation, so a channel that wanders widely is held open only by a shift beyond that.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["AWAY", "AWAY_LOW", "LOCATION", "MEMORY", "READY", "WINDOW", "LastingReference"]

#: Values in the window whose mean and spread are compared.
WINDOW = 30
#: A window this many learned deviations from the reference's mean (of means or of log
#: spreads) is away: a shift of about 4 sigma / sqrt(30) = 0.7 sigma of the noise on a flat
#: channel, or a spread 1.7 times the usual.
AWAY = 4.0
#: Once away, the channel stays away while its window is this many deviations off (a
#: Schmitt trigger: a lasting fault whose window hovers about AWAY does not close and open).
AWAY_LOW = 3.0
#: Values before a window that its mean is compared with (outside episodes).
LOCATION = 300
#: Samples the reference's sums remember (exponential weights, 1 - 1 / MEMORY per sample).
MEMORY = 20000
#: Learned windows before the reference says anything.
READY = 300
#: The deviation of window means is at least this share of one window's own standard error
#: (a channel that never wanders would otherwise be away at the least shift); of log spreads
#: at least this much (a spread 5 % off is never away on its own).
MEAN_FLOOR = 0.5
LOGSD_FLOOR = 0.05


class WeightedSums:
    """Exponentially weighted count, sum and sum of squares of one statistic (public: a
    state file holds it)."""

    def __init__(self) -> None:
        self.w = 0.0  # weighted count
        self.n = 0  # values learned (unweighted)
        self.s = 0.0
        self.q = 0.0

    def add(self, x: np.ndarray) -> None:
        """Learn ``x`` in order, the newest weighted most."""
        x = x[np.isfinite(x)]
        m = len(x)
        if not m:
            return
        d = 1.0 - 1.0 / MEMORY
        # Weight of value k after all m: d ** (m - 1 - k); the old sums decay by d ** m.
        wts = d ** np.arange(m - 1, -1, -1, dtype=np.float64)
        dm = d**m
        self.w = self.w * dm + float(wts.sum())
        self.s = self.s * dm + float(wts @ x)
        self.q = self.q * dm + float(wts @ (x * x))
        self.n += m

    def mean_sd(self) -> tuple[float, float]:
        mu = self.s / self.w
        return mu, math.sqrt(max(self.q / self.w - mu * mu, 0.0))


class LastingReference:
    """One channel's reference outside alerts; see the module's docstring. With ``limit``
    0 it is off: it learns nothing and is never away."""

    def __init__(self, limit: float) -> None:
        #: Seconds of the channel's time after which a lasting episode is the new normal.
        self.limit = float(limit)
        self.on = self.limit > 0
        self._tail = np.zeros(0)  # the last LOCATION + WINDOW - 1 finite values
        self._clean = 0  # finite values since the last episode (or the start)
        self._shift = WeightedSums()  # window mean minus the location, outside episodes
        self._spread = WeightedSums()  # window log spread, outside episodes
        self._inside = WeightedSums()  # the open episode's log spreads, if it is adopted
        self._loc = math.nan  # the location an open episode is compared with (frozen)
        self.adopted = 0  # how many times a lasting change was made the new normal
        self._since = 0.0  # when the open episode opened or was last adopted
        self._held = False  # the open episode's window has been AWAY off

    def _stats(self, values: np.ndarray, inside: bool) -> tuple[np.ndarray, np.ndarray, int]:
        """Per value: the window ending there, its mean minus the location and its log
        spread (NaN where not known: too few values, or, outside, a location that reaches
        into the last episode); the tail to keep and the clean count after them."""
        fin = np.isfinite(values)
        v = values[fin]
        both = np.concatenate((self._tail, v))
        keep = LOCATION + WINDOW - 1
        out = np.full((len(values), 2), np.nan)
        clean = self._clean + len(v) if not inside else 0
        if len(both) >= WINDOW:
            base = both[0]  # sums about the first value keep the cancellation small
            dev = both - base
            c1 = np.concatenate(([0.0], np.cumsum(dev)))
            c2 = np.concatenate(([0.0], np.cumsum(dev**2)))
            k = len(both) - len(v)
            end = np.arange(len(v)) + k  # index in `both` of each new value
            j = end - (WINDOW - 1)
            ok = j >= 0
            # Only the windows that end at a new value: the tail's own were known before
            # (window lo + i ends at both[lo + i + WINDOW - 1]).
            lo = max(k - (WINDOW - 1), 0)
            m1 = (c1[lo + WINDOW :] - c1[lo : len(c1) - WINDOW]) / WINDOW
            var = np.maximum(
                (c2[lo + WINDOW :] - c2[lo : len(c2) - WINDOW]) / WINDOW - m1 * m1, 0.0
            )
            logsd = np.log(np.sqrt(var) + 1e-9 * (np.abs(m1 + base) + 1.0))
            j = j - lo
            if inside:
                shift = m1[np.maximum(j, 0)] + base - self._loc
            else:
                # The LOCATION values before the window: (c1[a + L] - c1[a]) / L, a = j - L.
                a = np.maximum(j + lo - LOCATION, 0)
                good = (j + lo >= LOCATION) & (self._clean + np.arange(1, len(v) + 1) >= keep + 1)
                loc = (c1[np.minimum(a + LOCATION, len(c1) - 1)] - c1[a]) / LOCATION
                shift = np.where(good, m1[np.maximum(j, 0)] - loc, np.nan)
                ok &= self._clean + np.arange(1, len(v) + 1) >= WINDOW
            if len(v) == len(values) and ok.all():  # the usual slice: every row known
                out[:, 0] = shift
                out[:, 1] = logsd[j]
            else:
                at = np.flatnonzero(fin)
                out[at[ok], 0] = shift[ok]
                out[at[ok], 1] = logsd[j[ok]]
        return out, both[-keep:], clean

    def _inside_seen(self, values: np.ndarray) -> tuple[np.ndarray, np.ndarray, int]:
        """:meth:`_stats` inside an episode, kept for the same values while the tail is the
        same: the engine asks whether a slice is away and then takes the same slice."""
        seen = self.__dict__.get("_seen")
        if (
            seen is not None and seen[0] is self._tail and seen[1] == self._clean
            and seen[2] is self._loc and np.array_equal(seen[3], values, equal_nan=True)
        ):  # fmt: skip
            return seen[4]
        got = self._stats(values, inside=True)
        self._seen = (self._tail, self._clean, self._loc, values.copy(), got)
        return got

    def __getstate__(self) -> dict:
        state = dict(self.__dict__)
        state.pop("_seen", None)  # a cache, not state
        return state

    def take(self, values: np.ndarray, observed: np.ndarray, inside: bool) -> None:
        """Observed values in order, outside an episode (learned) or inside one (kept)."""
        if not self.on or not len(values):
            return
        v = np.where(observed, values, np.nan)
        rows, tail, clean = self._inside_seen(v) if inside else self._stats(v, False)
        if inside and self.ready:
            # The rows just computed are the ones away() reads (same tail, same values).
            self._held = bool(self._z(v, rows)[1].any() or self._held)
        self._tail, self._clean = tail, clean
        if inside:
            self._inside.add(rows[:, 1])
        else:
            self._shift.add(rows[:, 0])
            self._spread.add(rows[:, 1])

    @property
    def ready(self) -> bool:
        return self._shift.n >= READY and math.isfinite(self._loc)

    def away(self, values: np.ndarray) -> np.ndarray:
        """Per value (after those seen so far, inside an open episode): whether the window
        ending there is away from the reference. Nothing is learned."""
        if not self.on or not self.ready or not len(values):
            return np.zeros(len(values), dtype=bool)
        low, high = self._z(values)
        # Away from the first window AWAY off (or earlier in the episode), while AWAY_LOW off.
        since = np.maximum.accumulate(high) | self._held
        return low & since

    def _z(
        self, values: np.ndarray, rows: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Per value: whether its window is AWAY_LOW, and AWAY, deviations off (``rows``:
        their statistics inside the episode, if known)."""
        if rows is None:
            rows, _, _ = self._inside_seen(values)
        mu_s, sd_s = self._shift.mean_sd()
        mu_l, sd_l = self._spread.mean_sd()
        floor = MEAN_FLOOR * math.exp(mu_l) / math.sqrt(WINDOW) + 1e-9 * (abs(self._loc) + 1.0)
        with np.errstate(invalid="ignore"):
            z = np.maximum(
                np.abs(rows[:, 0] - mu_s) / max(sd_s, floor),
                np.abs(rows[:, 1] - mu_l) / max(sd_l, LOGSD_FLOOR),
            )
        z = np.nan_to_num(z)
        return z > AWAY_LOW, z > AWAY

    def _location(self, last: int = LOCATION) -> float:
        """The mean of the last ``last`` values (NaN: fewer known)."""
        v = self._tail[-last:]
        return float(v.mean()) if len(v) >= last else math.nan

    def opened(self, t: float) -> None:
        """An episode opened at time ``t``: the location before it is frozen, and what it
        sees is kept apart."""
        self._inside = WeightedSums()
        self._loc = self._location() if self._clean >= LOCATION else math.nan
        self._since = t
        self._held = False

    def due(self, t: np.ndarray) -> int | None:
        """The first of these times (inside the open episode) at which it has lasted the
        limit since it opened or was last adopted, if any."""
        if not self.on or not len(t):
            return None
        hit = np.flatnonzero(t - self._since >= self.limit)
        return int(hit[0]) if len(hit) else None

    def sooner(self, k: int | None, t: np.ndarray) -> int | None:
        """The earlier of an episode's change ``k`` and the limit within times ``t``."""
        due = self.due(t)
        return k if due is None or (k is not None and k < due) else due

    def adopt(self, t: float) -> None:
        """The open episode's level is the new normal from time ``t`` (a false-positive
        label on it, or the long limit): its recent values are the location, its spread
        the usual spread (if it saw enough); how far windows stray stays as learned."""
        if not self.on:
            return
        # The episode's own values only: a label may come before LOCATION of them.
        self._loc = self._location(min(LOCATION, max(WINDOW, self._inside.n)))
        if self._inside.n >= READY:
            self._spread = self._inside
        self._inside = WeightedSums()
        self._since = t
        self._held = False
        self.adopted += 1
