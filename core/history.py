"""A channel's whole history in bounded memory: the full-resolution ring, then tiers.

The ring (:class:`sensorscope.state.Ring`) holds the newest samples as they came. Behind it,
tier 1 merges every ``factor`` samples into a bucket, tier 2 every ``factor`` tier-1 buckets,
and so on (:class:`sensorscope.model.HistoryConfig`). A bucket keeps its samples' range
(min and max), last value, highest score and the range of its alerted samples, so a spike
or an alert is never averaged away however far out a chart zooms. The tiers overlap: each
holds the newest ``buckets`` to ``2 * buckets`` of its own, forgetting the oldest half when
full, except the last, which merges its buckets in pairs instead and so keeps everything
since the start, ever coarser. Memory is bounded by the config, whatever the history's
length; appending costs O(batch) amortised.

:meth:`HistoryStore.window` answers "at most N points over [a, b]" from the finest tier
that still reaches back to ``a`` and has at most ``factor * N`` buckets in it (found by
binary search), topped up at the new end from the finer tiers (each lags the one below by
less than ``factor`` items): O(N + log) whatever was seen.

Times are taken to come in order (the search relies on it); a device clock that jumps back
puts its samples out of order, shown where the search finds them.
"""

from __future__ import annotations

import math

import numpy as np

from sensorscope.model import History, HistoryConfig, HistoryHeld, HistoryWindow, ViewRequest

#: Bit flags of a sample (as Ring keeps them) and of a bucket (any sample's, OR-ed).
IMPUTED = 1
ALERT = 2
FLUSH = 256  # samples the tiers take from the ring at a time
_COLS = ("t0", "t1", "lo", "hi", "last", "score", "alo", "ahi", "flags", "n")
_DTYPES = (float, float, float, float, float, float, float, float, np.uint8, np.int64)


class Items:
    """Columns of buckets (or of samples, as one-sample buckets), oldest first."""

    __slots__ = _COLS

    def __init__(self, *cols: np.ndarray) -> None:
        for name, col in zip(_COLS, cols, strict=True):
            setattr(self, name, col)

    @classmethod
    def empty(cls, size: int = 0) -> Items:
        return cls(*(np.zeros(size, dtype=d) for d in _DTYPES))

    @classmethod
    def of_samples(
        cls, t: np.ndarray, value: np.ndarray, score: np.ndarray, flags: np.ndarray
    ) -> Items:
        t = np.asarray(t, dtype=float)
        value = np.asarray(value, dtype=float)
        hot = (flags & ALERT) > 0
        alerted = np.where(hot, value, np.nan)
        return cls(
            t,
            t,
            value,
            value,
            value,
            np.asarray(score, dtype=float),
            alerted,
            alerted,
            np.asarray(flags, dtype=np.uint8),
            np.ones(len(t), dtype=np.int64),
        )

    def cols(self) -> tuple[np.ndarray, ...]:
        return tuple(getattr(self, c) for c in _COLS)

    def __len__(self) -> int:
        return len(self.t1)

    def part(self, i: int, j: int) -> Items:
        return Items(*(c[i:j] for c in self.cols()))

    def nbytes(self) -> int:
        return sum(c.nbytes for c in self.cols())

    @staticmethod
    def concat(parts: list[Items]) -> Items:
        parts = [p for p in parts if len(p)]
        if len(parts) == 1:
            return parts[0]
        if not parts:
            return Items.empty()
        return Items(*(np.concatenate(cs) for cs in zip(*(p.cols() for p in parts), strict=True)))

    def merge(self, starts: np.ndarray) -> Items:
        """One bucket per group ``starts[i]:starts[i + 1]`` (NaN-blind min and max)."""
        ends = np.r_[starts[1:], len(self)] - 1
        return Items(
            self.t0[starts],
            self.t1[ends],
            np.fmin.reduceat(self.lo, starts),
            np.fmax.reduceat(self.hi, starts),
            self.last[ends],
            np.fmax.reduceat(self.score, starts),
            np.fmin.reduceat(self.alo, starts),
            np.fmax.reduceat(self.ahi, starts),
            np.bitwise_or.reduceat(self.flags, starts),
            np.add.reduceat(self.n, starts),
        )


class Tier:
    """One tier: up to ``2 * buckets`` buckets in arrays grown on demand, oldest first."""

    __slots__ = ("buckets", "last_tier", "group", "data", "n", "pending")

    def __init__(self, buckets: int, last_tier: bool, group: int) -> None:
        self.buckets = buckets
        self.last_tier = last_tier
        # Items of the tier below per bucket; the last tier doubles it each time it merges
        # its buckets in pairs, so its buckets stay of one size (not the oldest ever coarser).
        self.group = group
        self.data = Items.empty(min(64, 2 * buckets))
        self.n = 0
        # The newest items of the tier below, fewer than ``factor``: the next bucket's.
        self.pending = Items.empty()

    def kept(self) -> Items:
        return self.data.part(0, self.n)

    def push(self, items: Items) -> None:
        limit = 2 * self.buckets
        if self.n + len(items) > limit:
            both = Items.concat([self.kept(), items])
            if self.last_tier:
                while len(both) > limit:  # everything stays, twice as coarse
                    both = both.merge(np.arange(0, len(both), 2))
                    self.group *= 2
            else:
                both = both.part(len(both) - self.buckets, len(both))
            self.n = 0
            items = both
        need = self.n + len(items)
        if need > len(self.data):
            grown = Items.empty(min(limit, max(need, 2 * len(self.data))))
            for dst, src in zip(grown.cols(), self.kept().cols(), strict=True):
                dst[: self.n] = src
            self.data = grown
        for dst, src in zip(self.data.cols(), items.cols(), strict=True):
            dst[self.n : need] = src
        self.n = need

    def nbytes(self) -> int:
        return self.data.nbytes() + self.pending.nbytes()


class HistoryStore:
    """Everything a channel has seen since the start: its ring, then coarser tiers.

    Appended to by the scoring worker (:meth:`extend` writes the ring too) and read by
    snapshots, both under ``State.lock``.
    """

    def __init__(self, ring, config: HistoryConfig | None = None) -> None:
        self.ring = ring
        self.config = config or HistoryConfig()
        if self.config.factor < 2 or self.config.buckets < 1 or self.config.tiers < 1:
            raise ValueError(f"history config {self.config} keeps nothing")
        self.tiers = [
            Tier(self.config.buckets, k == self.config.tiers - 1, self.config.factor)
            for k in range(self.config.tiers)
        ]
        self.samples = 0
        self.first_t = 0.0
        self.last_t = 0.0
        self.unmerged = 0  # the ring's newest samples, not yet in tier 1
        self.flush = max(1, min(FLUSH, ring.capacity // 2))

    # -- appending (the scoring worker) --------------------------------------------------

    def extend(
        self, t: np.ndarray, value: np.ndarray, score: np.ndarray, flags: np.ndarray
    ) -> None:
        """Append samples to the ring, and in time to the tiers (``flags``: Ring's bits).

        The tiers take the ring's samples a few hundred at a time: a batch of one sample
        then costs the ring's write alone, and the samples not in the tiers yet are the
        newest of the ring, which a window tops up from anyway."""
        m = len(t)
        if not m:
            return
        if not self.samples:
            self.first_t = float(t[0])
        self.samples += m
        self.last_t = float(t[-1])
        if self.unmerged + m >= self.flush:
            # The unmerged ones are still in the ring (fewer than ``flush``, at most half
            # of it), read before this batch may overwrite them.
            items = Items.concat(
                [self._ring_tail(self.unmerged), Items.of_samples(t, value, score, flags)]
            )
            self.unmerged = 0
        else:
            items = None
            self.unmerged += m
        self.ring.extend(t, value, score, flags)
        if items is not None:
            self._merge(items)

    def _ring_tail(self, n: int) -> Items:
        count = min(self.ring.total, self.ring.capacity)
        return self._take(0, count - n, count)

    def _merge(self, items: Items) -> None:
        for tier in self.tiers:
            f = tier.group
            both = Items.concat([tier.pending, items])
            full = len(both) // f * f
            tier.pending = both.part(full, len(both))
            if not full:
                return
            items = both.part(0, full).merge(np.arange(0, full, f))
            tier.push(items)

    # -- reading (snapshots) -------------------------------------------------------------

    def held(self) -> HistoryHeld:
        r = self.ring
        nbytes = r.t.nbytes + r.value.nbytes + r.score.nbytes + r.flags.nbytes
        nbytes += sum(tier.nbytes() for tier in self.tiers)
        return HistoryHeld(self.first_t, self.last_t, self.samples, nbytes)

    def window(self, req: ViewRequest) -> HistoryWindow | None:
        """At most ``req.points`` points over the stretch asked for (None: nothing yet)."""
        if not self.samples:
            return None
        end = self.last_t if req.end is None else float(req.end)
        span = self._ring_oldest()
        span = self.last_t - span if req.span is None else float(req.span)
        start = end - max(span, 0.0)
        points = max(1, req.points)
        if not math.isfinite(start):  # "all": from the first sample seen
            start = min(self.first_t, end)
        return _window(self._items(start, end, points), start, end, points, self.held())

    def _items(self, start: float, end: float, points: int) -> Items:
        """The items over [start, end] from the tier fit for ``points``, topped up."""
        reach = max(start, self.first_t)  # nothing older was ever seen
        limit = self.config.factor * points
        chosen = 0
        for k in range(len(self.tiers) + 1):
            if self._count(k) == 0:
                continue
            if self._oldest(k) <= reach:
                chosen = k
                i, j = self._between(k, start, end)
                if j - i <= limit:
                    break
        i, j = self._between(chosen, start, end)
        parts = [self._take(chosen, i, j)]
        covered = self._newest(chosen)
        for k in range(chosen - 1, -1, -1):
            # What the coarser tier has not merged yet: fewer than ``factor`` items here.
            if covered < end:
                i, j = self._between(k, max(start, covered), end, after=True)
                parts.append(self._take(k, i, j))
            covered = max(covered, self._newest(k))
        return Items.concat(parts)

    # Source 0 is the ring (samples), 1.. the tiers.

    def _count(self, k: int) -> int:
        return min(self.ring.total, self.ring.capacity) if k == 0 else self.tiers[k - 1].n

    def _oldest(self, k: int) -> float:
        if k == 0:
            return self._ring_oldest()
        return float(self.tiers[k - 1].data.t0[0])

    def _newest(self, k: int) -> float:
        if k == 0:
            return self.last_t
        tier = self.tiers[k - 1]
        return float(tier.data.t1[tier.n - 1]) if tier.n else -np.inf

    def _ring_oldest(self) -> float:
        r = self.ring
        n = min(r.total, r.capacity)
        return float(r.t[(r.total - n) % r.capacity]) if n else self.last_t

    def _between(self, k: int, a: float, b: float, after: bool = False) -> tuple[int, int]:
        """Index range of source ``k``'s items that reach into [a, b]: ending at or after
        ``a`` (after it, with ``after``), starting at or before ``b``."""
        side = "right" if after else "left"
        if k:
            tier = self.tiers[k - 1]
            t0, t1 = tier.data.t0[: tier.n], tier.data.t1[: tier.n]
            return int(np.searchsorted(t1, a, side)), int(np.searchsorted(t0, b, "right"))
        return self._ring_search(a, side), self._ring_search(b, "right")

    def _ring_search(self, x: float, side: str) -> int:
        """The ring's first kept sample (counted from its oldest) at or after ``x``."""
        r = self.ring
        n = min(r.total, r.capacity)
        s0 = (r.total - n) % r.capacity
        first = r.t[s0 : s0 + n]  # from the oldest to the array's end
        k = int(np.searchsorted(first, x, side))
        if k < len(first):
            return k
        return len(first) + int(np.searchsorted(r.t[: n - len(first)], x, side))

    def _take(self, k: int, i: int, j: int) -> Items:
        if j <= i:
            return Items.empty()
        if k:
            data = self.tiers[k - 1].data
            return Items(*(c[i:j].copy() for c in data.cols()))
        r = self.ring
        n = min(r.total, r.capacity)
        idx = (r.total - n + np.arange(i, j)) % r.capacity
        return Items.of_samples(r.t[idx], r.value[idx], r.score[idx], r.flags[idx])


def _window(
    items: Items, start: float, end: float, points: int, held: HistoryHeld
) -> HistoryWindow:
    """``items`` as at most ``points`` points: one per equal stretch of [start, end]."""
    if len(items) > points and end > start:
        b = np.clip(((items.t1 - start) / (end - start) * points).astype(int), 0, points - 1)
        items = items.merge(np.flatnonzero(np.r_[True, b[1:] != b[:-1]]))
    flags = items.flags
    return HistoryWindow(
        start=start,
        end=end,
        t=items.t1,
        lo=items.lo,
        hi=items.hi,
        last=items.last,
        score=items.score,
        alo=items.alo,
        ahi=items.ahi,
        imputed=(flags & IMPUTED) > 0,
        alert=(flags & ALERT) > 0,
        per_point=float(items.n.sum()) / len(items) if len(items) else 1.0,
        held=held,
    )


def window_of(history: History, points: int) -> HistoryWindow | None:
    """The samples a snapshot holds as a window of at most ``points`` (a chart given no
    window of the store: all they cover, held being just them)."""
    if not len(history):
        return None
    t = history.t.astype(float)
    flags = history.imputed.astype(np.uint8) * IMPUTED | history.alert.astype(np.uint8) * ALERT
    items = Items.of_samples(t, history.value, history.score, flags)
    nbytes = sum(a.nbytes for a in (t, history.value, history.score, history.imputed))
    held = HistoryHeld(float(t[0]), float(t[-1]), len(t), nbytes + history.alert.nbytes)
    return _window(items, float(t[0]), float(t[-1]), max(1, points), held)
