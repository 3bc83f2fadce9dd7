"""The default scorer's two rules, for what statistics see late or not at all: a value beyond
everything learned (:class:`RangeRule`) and a stuck sensor (:class:`StuckRule`)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from sensorscope.detect.numeric import count_before, ewma_states

__all__ = ["RangeRule", "StuckRule"]

# The range is trusted once the range of the first 1/HELD of the learned values covers,
# within the tolerance, everything learned since: a rhythm slower than the warm-up has then
# been seen through its cycle, whatever its period.
HELD = 3
# Past this many learned samples a range that still grows is trusted anyway (a drifting
# channel), so what is kept until then stays bounded.
HELD_MAX = 100_000


class RangeRule:
    """A value beyond everything learned, by more than a tolerance.

    The tolerance is the larger of ``tolerance`` times the learned range (NAB's Numenta
    detector uses 5%) and ``steps`` typical sample-to-sample changes, so that a noisy channel
    whose baseline wanders does not fire on every new noise extreme. Silent until the range
    is known: past the warm-up, and once the range of the first third of the learned values
    covers, within the tolerance, all learned since (a slow rhythm seen through its cycle);
    from then on it stays armed.
    With a ``delay``, the learned range is that of the values learned at least ``delay`` learned
    samples before: a drift that moves by less than the tolerance per sample would otherwise
    widen the range step by step and never leave it.
    """

    def __init__(
        self, warmup: int = 250, tolerance: float = 0.05, steps: float = 3.0, rate: float = 0.01,
        delay: int = 0,
    ) -> None:  # fmt: skip
        self.warmup = warmup
        self.tolerance = tolerance
        self.steps = steps
        self.rate = rate
        self.delay = max(0, delay)
        self.lo = math.inf  # the range of the learned values older than the last `delay`
        self.hi = -math.inf
        self.recent = np.zeros(0)  # the last <= delay learned values, oldest first
        self.step_size: float | None = None
        self.prev: float | None = None
        self.n = 0
        # Until armed: the range after each learned sample (index = samples learned); None after.
        self.early: tuple[np.ndarray, np.ndarray] | None = (
            np.array([math.inf]),
            np.array([-math.inf]),
        )

    def run(
        self, values: np.ndarray, learn: np.ndarray, held: np.ndarray | None = None
    ) -> np.ndarray:
        """Per sample, whether it is beyond the range. ``held``: samples inside an alert.

        The values still waiting out the ``delay`` when an alert opens are dropped: they are
        where the anomaly began, a sample or two before its score reached the threshold,
        and trusting them would widen the range just enough to hide its next repeat."""
        if held is None or not self.delay or not held.any():
            return self._run(values, learn)
        fired = np.zeros(len(values), dtype=bool)
        k = 0
        while k < len(values):
            start = k + int(np.argmax(held[k:])) if held[k:].any() else len(values)
            if start > k:
                fired[k:start] = self._run(values[k:start], learn[k:start])
            if start == len(values):
                break
            self.recent = self.recent[:0]
            free = np.flatnonzero(~held[start:])
            end = start + int(free[0]) if len(free) else len(values)
            fired[start:end] = self._run(values[start:end], learn[start:end])
            k = end
        return fired

    def _run(self, values: np.ndarray, learn: np.ndarray) -> np.ndarray:
        xl = values[learn]
        c = count_before(learn)
        # A sample is compared with the range of the values learned up to `delay` learned
        # samples before it, so a drift that creeps a little beyond the range at each step
        # does not drag the range along with it.
        E = np.concatenate((self.recent, xl)) if self.delay else xl
        los = np.minimum.accumulate(np.concatenate(([self.lo], E)))
        his = np.maximum.accumulate(np.concatenate(([self.hi], E)))
        at = np.maximum(0, len(self.recent) + c - self.delay) if self.delay else c
        lo, hi = los[at], his[at]
        # Steps between consecutive learned values (the first needs a previous one).
        ctx = xl if self.prev is None else np.concatenate(([self.prev], xl))
        d = np.abs(np.diff(ctx))
        if self.step_size is None:
            steps = (
                np.concatenate(([np.nan], ewma_states(d[1:], self.rate, d[0])))
                if len(d)
                else np.array([np.nan])
            )
        else:
            steps = ewma_states(d, self.rate, self.step_size)
        n_steps = c if self.prev is not None else np.maximum(c - 1, 0)
        step = np.nan_to_num(steps[n_steps], nan=0.0)
        tol = np.maximum(self.tolerance * (hi - lo), self.steps * step)
        with np.errstate(invalid="ignore"):
            fired = self._armed(xl, c, tol) & (hi > lo)
            fired &= (values > hi + tol) | (values < lo - tol)
        if len(xl):
            end = max(0, len(E) - self.delay)
            self.lo, self.hi = float(los[end]), float(his[end])
            if self.delay:
                self.recent = E[end:].copy()
            self.prev = float(xl[-1])
            self.n += len(xl)
        if len(d):
            self.step_size = float(steps[-1])
        return fired

    def _armed(self, xl: np.ndarray, c: np.ndarray, tol: np.ndarray) -> np.ndarray:
        """Per sample, whether the range is known well enough to judge by (see the class)."""
        seen = self.n + c  # learned samples before each sample
        if self.early is None:
            return seen >= self.warmup
        los, his = self.early
        los = np.concatenate((los, np.minimum.accumulate(np.concatenate((los[-1:], xl)))[1:]))
        his = np.concatenate((his, np.maximum.accumulate(np.concatenate((his[-1:], xl)))[1:]))
        first = seen // HELD
        with np.errstate(invalid="ignore"):
            armed = (seen >= self.warmup) & (first > 0)
            armed &= (los[first] - tol <= los[seen]) & (his[seen] <= his[first] + tol)
        armed |= seen >= HELD_MAX
        if armed.any():
            self.early = None
            armed[int(np.argmax(armed)) :] = True
        else:
            self.early = (los, his)
        return armed

    @property
    def armed(self) -> bool:
        """Whether the range is known well enough to judge by (see the class)."""
        return self.early is None

    def band(self) -> tuple[float, float] | None:
        """The learned range widened by its tolerance: beyond it the rule fires (None: no
        range learned yet)."""
        if not (math.isfinite(self.lo) and math.isfinite(self.hi)):
            return None
        tol = max(self.tolerance * (self.hi - self.lo), self.steps * (self.step_size or 0.0))
        return (self.lo - tol, self.hi + tol)

    def widen(self, values: np.ndarray) -> None:
        """Take ``values`` into the range at once (samples learned late)."""
        self.lo = min(self.lo, float(values.min()))
        self.hi = max(self.hi, float(values.max()))

    def checkpoint(self) -> tuple[Any, ...]:
        return (self.lo, self.hi, self.recent, self.step_size, self.prev, self.n, self.early)

    def restore(self, state: tuple[Any, ...]) -> None:
        self.lo, self.hi, self.recent, self.step_size, self.prev, self.n, self.early = state


class StuckRule:
    """A run of identical readings far longer than this channel's usual runs.

    The usual run length is learned over the warm-up before anything is flagged (a channel that
    idles at 0, or a square wave, has long runs from the start); a channel that has never
    changed is constant, not stuck; and a flagged run that ends on its own raises the bar to its
    own length divided by ``factor`` for ``raise_lasts`` times that length, so a channel that
    holds values for long stretches by nature alerts once, not at every stretch, while the
    same fault coming back much later alerts again. Runs count observed readings (imputed ones
    neither extend nor break a run).

    >>> rule = StuckRule(warmup=20, min_run=5)
    >>> bool(rule.run(np.ones(100), np.ones(100, bool)).any())  # never changed: a constant
    False
    """

    def __init__(
        self, warmup: int = 250, min_run: int = 10, factor: float = 3.0, raise_lasts: int = 4
    ) -> None:
        self.warmup = warmup
        self.min_run = min_run
        self.factor = factor
        self.raise_lasts = raise_lasts
        self.raised = 0  # the bar a flagged run raised, in force until sample raised_until
        self.raised_until = 0
        self.run_len = 0
        self.value: float | None = None
        self.longest = 1
        self.changed = False
        self.n = 0

    def _limit(self, longest: int) -> int:
        return max(self.min_run, int(self.factor * longest))

    def run(self, values: np.ndarray, observed: np.ndarray) -> np.ndarray:
        """The run length where the channel counts as stuck, else 0."""
        out = np.zeros(len(values), dtype=np.int64)
        oidx = np.flatnonzero(observed)
        x = values[oidx]
        K = len(x)
        if K == 0:
            return out
        prev = np.concatenate(([np.nan if self.value is None else self.value], x[:-1]))
        starts = x != prev  # a new run starts here (NaN never equals: the first one does)
        if self.value is None:
            starts[0] = True
        k = np.arange(K)
        start_at = np.maximum.accumulate(np.where(starts, k, -1))
        carried = start_at < 0  # still the run that was going on before this batch
        run = np.where(carried, self.run_len + k + 1, k - start_at + 1)
        n = self.n + k + 1
        changed = np.logical_or.accumulate(starts & ~np.isnan(prev)) | self.changed
        # The run that ends where each new run starts, and how long it was.
        ended = np.flatnonzero(starts)
        ended_len = np.where(ended > 0, run[np.maximum(ended - 1, 0)], self.run_len)
        if self.value is None:
            ended_len = np.where(ended == 0, 0, ended_len)
        # longest after each step: the warm-up keeps the longest run seen; afterwards a run
        # that ends updates it (by its length if it was not flagged, else by length / factor).
        warm = n <= self.warmup
        cand = np.zeros(K, dtype=np.int64)
        cand[warm] = run[warm]
        longest = self.longest
        ends_after = ended[~warm[ended]] if len(ended) else ended
        lens_after = ended_len[~warm[ended]] if len(ended) else ended_len
        short = lens_after < self.min_run
        cand[ends_after[short]] = np.maximum(cand[ends_after[short]], lens_after[short])
        longest_at = np.maximum.accumulate(np.maximum(cand, longest))
        # A bar raised by a flagged run: in force until sample number raised_until.
        raise_at = np.where(n < self.raised_until, self.raised, 0)
        long_pos = ends_after[~short]
        long_len = lens_after[~short]
        if len(long_pos):
            # Long runs decide against the limit in force when they end: one at a time.
            natural = np.zeros(K, dtype=np.int64)
            for p, r in zip(long_pos.tolist(), long_len.tolist(), strict=True):
                usual = int(max(longest_at[p - 1] if p > 0 else longest,
                                natural[:p].max(initial=0)))  # fmt: skip
                before = max(usual, int(raise_at[max(p - 1, 0)]))
                if r < self._limit(usual):
                    natural[p] = r  # a long run this channel has by nature: kept
                elif r < self._limit(before):
                    pass  # a repeat the raised bar let pass: not learned as usual
                else:
                    # Flagged and over: the bar goes up for a while, so a channel holding
                    # values now and then alerts once, while the same fault days later
                    # alerts again.
                    bar = math.ceil(r / self.factor)
                    until = int(n[p]) + self.raise_lasts * r
                    raise_at[p : p + self.raise_lasts * r] = np.maximum(
                        raise_at[p : p + self.raise_lasts * r], bar
                    )
                    if until > self.raised_until or bar > self.raised:
                        self.raised, self.raised_until = bar, until
            longest_at = np.maximum.accumulate(np.maximum(np.maximum(cand, natural), longest))
        limit = np.maximum(
            self.min_run, (self.factor * np.maximum(longest_at, raise_at)).astype(np.int64)
        )
        stuck = ~warm & changed & (run >= limit)
        out[oidx] = np.where(stuck, run, 0)
        self.value = float(x[-1])
        self.run_len = int(run[-1])
        self.longest = int(longest_at[-1])
        self.changed = bool(changed[-1])
        self.n = int(n[-1])
        return out

    def checkpoint(self) -> tuple[Any, ...]:
        return (self.run_len, self.value, self.longest, self.changed, self.n, self.raised,
                self.raised_until)  # fmt: skip

    def restore(self, state: tuple[Any, ...]) -> None:
        (self.run_len, self.value, self.longest, self.changed, self.n, self.raised,
         self.raised_until) = state  # fmt: skip
