"""Half-Space Trees in numpy, giving exactly river's scores, window by window in batches.

:class:`HalfSpaceTrees` takes river's constructor arguments and, for the same seed, builds the
same trees as ``river.anomaly.HalfSpaceTrees`` (the same random draws in the same order), so
its ``score_one``/``learn_one`` agree with river's to the last bit. The point is
:meth:`HalfSpaceTrees.score_learn_many`: the scores river would give by calling ``score_one``
and then ``learn_one`` on every row of an array, in order, window boundaries included, computed
with a few numpy passes per batch instead of Python work per sample and per tree.

How the batches stay exact
--------------------------
Within a window every score reads only the reference masses (``r_mass``), which are the path
counts of the previous complete window. So the state kept is not the masses themselves but the
leaf each sample of the previous and current windows reached in each tree: every node's mass is
the number of those leaves below it. A batch is then counted with one ``bincount`` over
(window, tree, node) for all its windows at once, and scored by looking up, for each row and
tree, what river's walk accumulates down to the row's node: river's walk stops below the first
node whose ``r_mass`` is under ``0.1 * window_size`` and masses only shrink going down, so that
accumulated score is a property of the node and is tabulated once per window. The tables stop at
a moderate depth so that they stay small next to a window; a walk that is still going there
(masses concentrated on few nodes) continues by counting the previous window's leaves in the
deeper nodes with binary searches.

>>> hst = HalfSpaceTrees(n_trees=5, height=3, window_size=3, seed=42)
>>> X = [0.5, 0.45, 0.43, 0.44, 0.445, 0.45, 0.0]
>>> for x in X[:3]:
...     hst.learn_one({"x": x})
>>> scores = []
>>> for x in X:
...     hst.learn_one({"x": x})
...     scores.append(f"{hst.score_one({'x': x}):.3f}")
>>> print(*scores)
0.107 0.071 0.107 0.107 0.107 0.071 0.853
>>> hst.features
('x',)

Size: over 600 lines, as one class: see :class:`HalfSpaceTrees`.
"""

from __future__ import annotations

import math
import random
from collections.abc import Hashable, Mapping, Sequence
from typing import Any

import numpy as np

__all__ = ["HalfSpaceTrees"]

# river's make_padded_tree keeps split points this fraction of a node's range away from its
# edges; the trees must be drawn the same way to be the same trees.
_PADDING = 0.15
_DEFAULT_LIMITS = (0.0, 1.0)
# Rows per internal chunk of a batch, and a cap on the chunk's per-window tables (entries):
# beyond these the arrays of a chunk stop fitting in cache and throughput drops.
_CHUNK_ROWS = 1 << 13
_CHUNK_TABLE = 1 << 20
# Largest number of entries in the one-feature position -> leaves table.
_LEAF_TABLE_MAX = 1 << 22
# Up to this many walks going below the score tables, _deep searches all levels at once.
_DEEP_AT_ONCE = 256


def _draw_tree(rng: random.Random, lims: list[Any], height: int) -> tuple[list[int], list[float]]:
    """One tree's split features and thresholds in heap order, drawn from `rng` exactly as
    river's make_padded_tree draws them: preorder, left before right, so that every draw
    lands on the same node as in river. `lims` (feature ranges in feature order) is used as
    scratch and restored."""
    n_int = (1 << height) - 1
    feat = [0] * n_int
    thr = [0.0] * n_int
    population = list(range(len(lims)))

    def grow(node: int, depth: int) -> None:
        if depth == height:
            return
        weights = [lim[1] - lim[0] for lim in lims]
        if len(lims) == 1 and 0.0 < weights[0] < math.inf:
            # choices() over one item still consumes one random(); skipping its bookkeeping
            # makes tall one-feature forests several times faster to build.
            rng.random()
            on = 0
        else:
            on = rng.choices(population, weights=weights)[0]
        saved = lims[on]
        a, b = saved[0], saved[1]
        at = rng.uniform(a + _PADDING * (b - a), b - _PADDING * (b - a))
        feat[node] = on
        thr[node] = at
        lims[on] = (saved[0], at)
        grow(2 * node + 1, depth + 1)
        lims[on] = (at, saved[1])
        grow(2 * node + 2, depth + 1)
        lims[on] = saved

    grow(0, 0)
    return feat, thr


class HalfSpaceTrees:
    """Half-Space Trees with river's parameters, draws and scores, vectorised over trees and rows.

    Parameters are river's: ``n_trees`` trees of height ``height`` (``2 ** (height + 1) - 1``
    nodes each), masses counted over windows of ``window_size`` samples, ``limits`` mapping a
    feature to its ``(low, high)`` range (``(0.0, 1.0)`` for features not in it) and ``seed``
    for ``random.Random``. The trees are built at the first ``learn_one`` (or
    ``score_learn_many``) from that sample's features, sorted. Scores are 0 until the first
    window is complete and then ``1 - mass score / max score``, high for anomalies.

    Size: one class of some 570 lines, in a module over the usual 600, on purpose: every path
    (one sample, batches in chunks, checkpoints, pickling) reads and writes the same window
    state (the leaves of two windows, their counts at the table depth, the lookup tables and the
    caches over them), and each step of the batch path is tuned to it (buffers reused across
    chunks, integer widths, the order of the tables' nodes); split into parts that pass that
    state between them, the parts would be the same code with its invariants spread apart."""

    def __init__(
        self,
        n_trees: int = 10,
        height: int = 8,
        window_size: int = 250,
        limits: Mapping[Hashable, tuple[float, float]] | None = None,
        seed: int | None = None,
    ) -> None:
        if n_trees < 1 or height < 0 or window_size < 1:
            raise ValueError("need n_trees >= 1, height >= 0 and window_size >= 1")
        self.n_trees = n_trees
        self.height = height
        self.window_size = window_size
        self.limits = None if limits is None else dict(limits)
        self.seed = seed

        self.counter = 0
        self._first_window = True
        self._n_learned = 0
        self._names: tuple[Hashable, ...] | None = None
        # Internal nodes in heap order (children of i at 2i+1, 2i+2), one row per tree.
        self._feat: np.ndarray | None = None
        self._thr: np.ndarray | None = None
        # One feature only: each tree's thresholds in order, and tables giving every tree's
        # leaf (or node at the table depth) from a value's position among all thresholds
        # (those above the table depth); None where not applicable.
        self._sorted_thr: np.ndarray | None = None
        self._all_thr: np.ndarray | None = None
        self._leaf_table: np.ndarray | None = None
        self._top_thr: np.ndarray | None = None
        self._top_table: np.ndarray | None = None
        # Leaf reached in each tree by each sample of the previous complete window and of the
        # current one (first `counter` rows).
        self._prev: np.ndarray | None = None
        self._cur: np.ndarray | None = None
        # Depth of the score tables; below it walks are followed by counting.
        self._depth = min(height, max(0, math.ceil(math.log2(window_size))))
        # The same two windows counted per node at that depth, (T, 2**depth), so that a batch
        # does not count them again. Nodes at that depth are in bit-reversed order (see _slot).
        self._prev_counts: np.ndarray | None = None
        self._cur_counts: np.ndarray | None = None
        self._trees: np.ndarray | None = None
        self._slots: np.ndarray | None = None
        self._sub_range: np.ndarray | None = None
        self._reset_caches()

    # -- river's derived quantities -------------------------------------------------------

    @property
    def size_limit(self) -> float:
        """Mass under which a scoring walk stops (river's 0.1 * window_size)."""
        return 0.1 * self.window_size

    @property
    def _max_score(self) -> int:
        return self.n_trees * self.window_size * (2 ** (self.height + 1) - 1)

    @property
    def n_learned(self) -> int:
        """Rows learned so far."""
        return self._n_learned

    @property
    def features(self) -> tuple[Hashable, ...] | None:
        """The trees' features in column order for :meth:`score_learn_many` (None until built)."""
        return self._names

    # -- the river API ----------------------------------------------------------------------

    def score_one(self, x: Mapping[Hashable, Any]) -> float:
        """river's score for ``x`` given what has been learned; changes nothing."""
        if self._first_window:
            return 0.0
        leaves = self._leaves_one(x)
        tables, cont, sorted_keys = self._current_tables()
        keys = (self._trees << self._depth) + self._slot(leaves)
        total = int(tables.ravel()[keys].sum())
        if cont is not None:
            deeper = cont.ravel()[keys]
            if deeper.any():
                zero = np.zeros(1, dtype=np.int64)
                total += int(self._deep(leaves[None, :], zero, deeper[None, :], sorted_keys)[0])
        return 1.0 - total / self._max_score

    def learn_one(self, x: Mapping[Hashable, Any]) -> None:
        """Learn ``x`` as river does (trees built on the first call, masses swapped per window)."""
        if self._names is None:
            self._build(list(x))
        leaves = self._leaves_one(x)
        self._cur[self.counter] = leaves
        self._cur_counts[self._trees, self._slot(leaves)] += 1
        self.counter += 1
        self._n_learned += 1
        if self.counter == self.window_size:
            self._prev, self._cur = self._cur, self._prev
            if self._cur is None:
                self._cur = np.empty_like(self._prev)
            self._prev_counts = self._cur_counts
            self._cur_counts = np.zeros_like(self._prev_counts)
            self.counter = 0
            self._first_window = False
            self._reset_caches()

    # -- batches ------------------------------------------------------------------------------

    def score_learn_many(
        self,
        X: np.ndarray | Sequence[Sequence[float]],
        features: Sequence[Hashable] | None = None,
        learn: np.ndarray | None = None,
    ) -> np.ndarray:
        """For each row in order: river's ``score_one(row)`` and then ``learn_one(row)``
        (only ``score_one`` for a row where the boolean mask ``learn`` is False).

        ``X`` is ``(n_samples, n_features)`` (or 1-D for one feature). Its columns are named by
        ``features``; without it they are :attr:`features` once the trees exist, and before
        that the sorted keys of ``limits`` if it names as many features, else ``0..n-1``.
        Every row has every feature: NaN is a value (river sends it right at every split),
        not a missing key; use ``score_one``/``learn_one`` for samples with missing keys.
        Returns the scores as float64.
        """
        X = np.asarray(X, dtype=np.float64)
        if X.ndim == 1:
            X = X[:, None]
        if X.ndim != 2:
            raise ValueError(f"X must be 2-D, got shape {X.shape}")
        if features is not None:
            features = list(features)
            if len(features) != X.shape[1]:
                raise ValueError(f"{len(features)} feature names for {X.shape[1]} columns")
        if self._names is None:
            if features is None:
                if self.limits is not None and len(self.limits) == X.shape[1]:
                    features = sorted(self.limits)
                else:
                    features = list(range(X.shape[1]))
            self._build(features)
        if features is not None and list(features) != list(self._names):
            where = {name: i for i, name in enumerate(features)}
            missing = [name for name in self._names if name not in where]
            if missing:
                raise ValueError(f"X has no column for features {missing}")
            X = X[:, [where[name] for name in self._names]]
        elif X.shape[1] != len(self._names):
            raise ValueError(f"X has {X.shape[1]} columns for features {list(self._names)}")

        if learn is not None:
            learn = np.asarray(learn, dtype=bool)
            if learn.shape != (len(X),):
                raise ValueError(f"learn has shape {learn.shape} for {len(X)} rows")
            if learn.all():
                learn = None
        out = np.empty(len(X), dtype=np.float64)
        step = self._chunk_rows()
        for start in range(0, len(X), step):
            stop = min(len(X), start + step)
            mask = None if learn is None else learn[start:stop]
            out[start:stop] = self._run_chunk(self._leaves_many(X[start:stop]), mask)
        return out

    # -- building ------------------------------------------------------------------------------

    def _build(self, names: list[Hashable]) -> None:
        names = sorted(names)
        h, n_trees = self.height, self.n_trees
        lims0 = [self._limits_of(name) for name in names]
        feat = np.zeros((n_trees, (1 << h) - 1), dtype=np.intp)
        thr = np.zeros((n_trees, (1 << h) - 1), dtype=np.float64)
        rng = random.Random(self.seed)
        for t in range(n_trees):
            feat[t], thr[t] = _draw_tree(rng, list(lims0), h)

        self._names = tuple(names)
        self._feat, self._thr = feat, thr
        self._cur = np.empty((self.window_size, n_trees), dtype=np.int64)
        self._cur_counts = np.zeros((n_trees, 1 << self._depth), dtype=np.int64)
        self._trees = np.arange(n_trees)
        c = self._depth
        slots = np.zeros(1 << c, dtype=np.int64)
        for bit in range(c):
            slots |= ((np.arange(1 << c) >> bit) & 1) << (c - 1 - bit)
        self._slots = slots
        self._sub_range = np.arange((1 << (self.height - c)) - 1)
        self._prepare_one_feature()

    def _limits_of(self, name: Hashable) -> Any:
        if self.limits is not None and name in self.limits:
            return self.limits[name]
        return _DEFAULT_LIMITS

    def _prepare_one_feature(self) -> None:
        """With one feature a tree is a search tree over the thresholds, so a value's leaf is
        its rank among them: one binary search replaces a walk."""
        self._sorted_thr = self._all_thr = self._leaf_table = None
        self._top_thr = self._top_table = None
        h, c = self.height, self._depth
        if len(self._names) != 1 or h == 0:
            return
        depth = np.repeat(np.arange(h), 1 << np.arange(h))
        local = np.arange((1 << h) - 1) - ((1 << depth) - 1)
        rank = (2 * local + 1) * (1 << (h - 1 - depth)) - 1
        ordered = np.empty_like(self._thr)
        ordered[:, rank] = self._thr
        if not np.all(np.diff(ordered, axis=1) >= 0):
            return  # degenerate limits (NaN, zero width): walk instead
        self._sorted_thr = ordered
        # A value's position among all trees' thresholds gives its leaf in every tree, and its
        # position among the thresholds above depth c gives its depth-c node (table rows).
        self._all_thr, self._leaf_table = self._rank_table(ordered)
        if self._leaf_table is None and 0 < c < h:
            top = ordered[:, ((np.arange((1 << c) - 1) + 1) << (h - c)) - 1]
            self._top_thr, self._top_table = self._rank_table(top)

    def _rank_table(self, ordered: np.ndarray) -> tuple[np.ndarray | None, np.ndarray | None]:
        all_thr = np.sort(ordered, axis=None)
        if (all_thr.size + 1) * self.n_trees > _LEAF_TABLE_MAX:
            return None, None
        dtype = np.uint16 if self.height <= 16 else np.int64
        table = np.zeros((all_thr.size + 1, self.n_trees), dtype=dtype)
        for t in range(self.n_trees):
            table[1:, t] = np.searchsorted(ordered[t], all_thr, side="right")
        return all_thr, table

    # -- leaves --------------------------------------------------------------------------------

    def _leaves_many(self, X: np.ndarray) -> np.ndarray:
        """Leaf index (0..2**height-1, left to right) of every row in every tree: (n, T)."""
        n, n_trees, h = len(X), self.n_trees, self.height
        if self._leaf_table is not None:
            return self._leaf_table[np.searchsorted(self._all_thr, X[:, 0], side="right")]
        if self._sorted_thr is not None:
            # Searching sorted values is several times faster: numpy narrows each search
            # from the previous one, and the thresholds it touches stay in cache.
            order = np.argsort(X[:, 0], kind="stable")
            x = X[order, 0]
            found = np.empty((n_trees, n), dtype=np.int64)
            for t in range(n_trees):
                found[t] = np.searchsorted(self._sorted_thr[t], x, side="right")
            leaves = np.empty((n, n_trees), dtype=np.int64)
            leaves[order] = found.T
            return leaves
        n_int = (1 << h) - 1
        tree_base = np.arange(n_trees) * n_int
        row_base = np.arange(n)[:, None] * X.shape[1]
        feat, thr, flat = self._feat.ravel(), self._thr.ravel(), X.ravel()
        node = np.zeros((n, n_trees), dtype=np.int64)
        for d in range(h):
            idx = node + (tree_base + ((1 << d) - 1))
            value = flat[row_base + feat[idx]]
            # `not value < threshold`, not `value >= threshold`: river sends NaN right.
            node = 2 * node + ~(value < thr[idx])
        return node

    def _leaves_one(self, x: Mapping[Hashable, Any]) -> np.ndarray:
        values: list[float] = []
        missing: list[bool] = []
        for name in self._names:
            try:
                v = x[name]
            except KeyError:
                values.append(0.0)
                missing.append(True)
            else:
                values.append(float(v))
                missing.append(False)
        # score_one and learn_one of one sample walk the same paths (the missing-key rule reads
        # l_mass, which only learning changes), so the second call reuses the first's walk.
        key = (self._n_learned, tuple(values), tuple(missing))
        if key == self._leaf_key:
            return self._leaf_val
        if not any(missing):
            leaves = self._leaves_value(values)
        else:
            leaves = self._walk_missing(np.array(values), np.array(missing))
        self._leaf_key, self._leaf_val = key, leaves
        return leaves

    def _leaves_value(self, values: list[float]) -> np.ndarray:
        """One sample's leaves in all trees, every feature present."""
        if self._leaf_table is not None:
            return self._leaf_table[np.searchsorted(self._all_thr, values[0], side="right")].astype(
                np.int64
            )
        if self._top_table is not None:
            # The depth-c node from the small table, then the rank among the thresholds of
            # that node's subtree, which are contiguous in each tree's sorted thresholds.
            x = values[0]
            below = self.height - self._depth
            first = (
                self._top_table[np.searchsorted(self._top_thr, x, side="right")].astype(np.int64)
                << below
            )
            block = self._sorted_thr[self._trees[:, None], first[:, None] + self._sub_range]
            return first + (~(x < block)).sum(axis=1)
        return self._leaves_many(np.array([values]))[0].astype(np.int64)

    def _walk_missing(self, values: np.ndarray, missing: np.ndarray) -> np.ndarray:
        """All trees' walks for one sample with missing features: at a split on a missing
        feature river goes to the child with the larger l_mass (left on a tie)."""
        n_trees, h, trees = self.n_trees, self.height, self._trees
        cur = self._cur[: self.counter]
        node = np.zeros(n_trees, dtype=np.int64)
        for d in range(h):
            heap = node + ((1 << d) - 1)
            f = self._feat[trees, heap]
            go = ~(values[f] < self._thr[trees, heap])
            absent = missing[f]
            if absent.any():
                below = cur >> (h - d - 1)
                left = (below == 2 * node).sum(axis=0)
                right = (below == 2 * node + 1).sum(axis=0)
                go = np.where(absent, left < right, go)
            node = 2 * node + go
        return node

    # -- scoring -----------------------------------------------------------------------------

    def _reset_caches(self) -> None:
        self._tables_cache: tuple[np.ndarray, np.ndarray | None, np.ndarray] | None = None
        self._leaf_key: tuple | None = None
        self._leaf_val: np.ndarray | None = None

    def _buffer(self, name: str, shape: tuple[int, ...], dtype: type) -> np.ndarray:
        """A work array kept between chunks: fresh multi-megabyte temporaries per chunk make
        malloc hand memory back to the OS and fault it in again, which halves throughput."""
        size = math.prod(shape)
        buffers = self.__dict__.setdefault("_buffers", {})
        buf = buffers.get(name)
        if buf is None or buf.size < size or buf.dtype != dtype:
            buf = buffers[name] = np.empty(max(size, 1), dtype=dtype)
        return buf[:size].reshape(shape)

    def _slot(self, leaves: np.ndarray) -> np.ndarray:
        """Position in the score tables of the depth-c node above each leaf. The tables list a
        level's nodes in bit-reversed order, so that the children of node q at depth d are q
        and q + 2**d: parents then broadcast to children, and children sum to parents, over
        contiguous halves, which numpy does an order of magnitude faster than over pairs."""
        return self._slots[leaves >> (self.height - self._depth)]

    def _current_tables(self) -> tuple[np.ndarray, np.ndarray | None, np.ndarray]:
        """Score tables of the previous window, for one-at-a-time scoring (kept until a swap)."""
        if self._tables_cache is None:
            tables, cont = self._tables(self._prev_counts[None])
            sorted_keys = np.sort(((self._trees << self.height)[None, :] + self._prev).ravel())
            self._tables_cache = (tables, cont, sorted_keys)
        return self._tables_cache

    def _tables(self, counts: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        """From the masses of J windows at the table depth c, (J, T, 2**c): what river's walk
        accumulates down to each depth-c node (sum of r_mass * 2**depth over the nodes it
        visits, stopping after the first under the size limit), and whether it goes on below
        depth c (None when no walk does)."""
        c, h = self._depth, self.height
        # Masses are integers: r >= size_limit exactly when r >= its ceiling, and an integer
        # comparison spares converting every count to float.
        limit = math.ceil(self.size_limit)
        n_win, n_trees = counts.shape[:2]
        if self.window_size * (2 ** (c + 1)) < 2**31:
            counts = counts.astype(np.int32)  # half the memory traffic, and exact
        levels = [counts]
        for _ in range(c):
            m = levels[-1]
            half = m.shape[2] // 2
            levels.append(m[..., :half] + m[..., half:])
        levels.reverse()
        acc = levels[0].copy()
        going = levels[0] >= limit if h > 0 else np.zeros(levels[0].shape, dtype=bool)
        for d in range(1, c + 1):
            if not going.any():
                # Every walk has stopped above depth d: the nodes below add nothing.
                return np.tile(acc, (1, 1, 1 << (c - d + 1))), None
            r = levels[d].reshape(n_win, n_trees, 2, 1 << (d - 1))
            parent_going = going[:, :, None, :]
            term = r << d
            term *= parent_going
            term += acc[:, :, None, :]
            acc = term.reshape(n_win, n_trees, 1 << d)
            going = r >= limit
            going &= parent_going
            going = going.reshape(n_win, n_trees, 1 << d)
        return acc, (going if c < h and going.any() else None)

    def _chunk_tables(self, counts: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        """:meth:`_tables` of a chunk's windows, the first of which (the last complete window)
        is taken from the chunk before while its masses are the same: a chunk of a few
        samples (a batch cut at an episode's change, scored again after a restore) would
        otherwise rebuild it every time. Tables are integers, each window's its own: the
        same values however they are grouped."""
        prev = self._prev_counts
        kept = self.__dict__.get("_window_table")
        if prev is None or kept is None or not (kept[0] is prev or np.array_equal(kept[0], prev)):
            tables, cont = self._tables(counts)
            if prev is not None:
                first_cont = None if cont is None else cont[:1].copy()
                self._window_table = (prev, tables[:1].copy(), first_cont)
            return tables, cont
        _, first, first_cont = kept
        if len(counts) == 1:
            return first, first_cont
        rest, rest_cont = self._tables(counts[1:])
        tables = np.concatenate((first, rest))
        if first_cont is None and rest_cont is None:
            return tables, None
        conts = [c if c is not None else np.zeros(t.shape, dtype=bool)
                 for c, t in ((first_cont, first), (rest_cont, rest))]  # fmt: skip
        cont = np.concatenate(conts)
        return tables, (cont if cont.any() else None)

    def _scores(
        self,
        leaves: np.ndarray,
        keys: np.ndarray,
        table_of: np.ndarray,
        tables: np.ndarray,
        cont: np.ndarray | None,
        sorted_keys: np.ndarray | None,
    ) -> np.ndarray:
        """Scores of rows given their depth-c nodes' `keys` into `tables`, where row i's
        previous window is table_of[i]."""
        picked = self._buffer("picked", keys.shape, tables.dtype)
        total = np.take(tables.ravel(), keys, out=picked).sum(axis=1, dtype=np.int64)
        if cont is not None:
            deeper = cont.ravel()[keys]
            if deeper.any():
                total += self._deep(leaves, table_of, deeper, sorted_keys)
        return 1.0 - total / self._max_score

    def _deep(
        self, leaves: np.ndarray, table_of: np.ndarray, deeper: np.ndarray, sorted_keys: np.ndarray
    ) -> np.ndarray:
        """The rest of the walks still going below the table depth: a node's r_mass is the
        number of the previous window's leaves under it, a range of the sorted (window, tree,
        leaf) keys."""
        n_trees, h, limit = self.n_trees, self.height, math.ceil(self.size_limit)
        rows, trees = np.nonzero(deeper)
        leaf = leaves[rows, trees].astype(np.int64)
        base = (table_of[rows] * n_trees + trees) << h
        extra = np.zeros(len(leaves), dtype=np.int64)
        if len(rows) <= _DEEP_AT_ONCE:
            # Few walks (one sample): all levels in one search, which costs fewer numpy calls
            # than it wastes on levels below where a walk stops.
            depths = np.arange(self._depth + 1, h + 1)
            shifts = h - depths
            lo = base[:, None] + ((leaf[:, None] >> shifts) << shifts)
            r = np.searchsorted(sorted_keys, lo + (1 << shifts)) - np.searchsorted(sorted_keys, lo)
            reached = np.ones(r.shape, dtype=bool)
            np.cumprod(r[:, :-1] >= limit, axis=1, out=reached[:, 1:])
            np.add.at(extra, rows, ((r << depths) * reached).sum(axis=1))
            return extra
        for d in range(self._depth + 1, h + 1):
            s = h - d
            lo = base + ((leaf >> s) << s)
            r = np.searchsorted(sorted_keys, lo + (1 << s)) - np.searchsorted(sorted_keys, lo)
            np.add.at(extra, rows, r << d)
            if d < h:
                keep = r >= limit
                if not keep.all():
                    rows, leaf, base = rows[keep], leaf[keep], base[keep]
                    if not len(rows):
                        break
        return extra

    # -- batch chunks ----------------------------------------------------------------------------

    def _chunk_rows(self) -> int:
        per_window = self.n_trees << self._depth
        windows = max(1, _CHUNK_TABLE // per_window - 1)
        return max(1, min(_CHUNK_ROWS, windows * self.window_size))

    def _run_chunk(self, leaves: np.ndarray, learn: np.ndarray | None = None) -> np.ndarray:
        """Score and learn a chunk of rows given their leaves (learn only where ``learn``);
        updates the window state."""
        n = len(leaves)
        if n == 0:
            return np.empty(0, dtype=np.float64)
        w, n_trees, h, c = self.window_size, self.n_trees, self.height, self._depth
        start = self.counter
        # A row's place in the window stream is how many rows were learned before it.
        if learn is None:
            place = np.arange(start, start + n)
        else:
            place = start + np.cumsum(learn) - learn
        win = place // w  # 0: the window in progress at the chunk start
        n_win = int(win[-1]) + 1
        per_window = n_trees << c

        # Windows numbered from the previous complete one (0); row i is in window win[i] + 1
        # and is scored against window win[i], whose masses are its leaves counted.
        keys = self._buffer("keys", (n, n_trees), np.int64)
        shifted = self._buffer("shifted", (n, n_trees), np.int64)
        np.right_shift(leaves, h - c, out=shifted)
        np.take(self._slots, shifted, out=keys)
        keys += ((win + 1) * per_window)[:, None]
        keys += self._trees << c
        learned_keys = keys if learn is None else keys[learn]
        counts = np.bincount(learned_keys.ravel(), minlength=(n_win + 1) * per_window)
        counts = counts.reshape(n_win + 1, n_trees, 1 << c)
        if self._prev_counts is not None:
            counts[0] += self._prev_counts
        counts[1] += self._cur_counts
        tables, cont = self._chunk_tables(counts[:n_win])

        sorted_keys = None
        if learn is not None:
            # From here on only what is learned counts: those rows' leaves and windows.
            scored_leaves, scored_win = leaves, win
            leaves, win = leaves[learn], win[learn]
        else:
            scored_leaves, scored_win = leaves, win
        if cont is not None:
            full = [(((win[:, None] + 1) * n_trees + self._trees) << h) + leaves]
            if self._prev is not None:
                full.append((self._trees << h) + self._prev)
            if start:
                full.append(((n_trees + self._trees) << h) + self._cur[:start])
            sorted_keys = np.sort(np.concatenate(full).ravel())
        keys -= per_window
        scores = self._scores(scored_leaves, keys, scored_win, tables, cont, sorted_keys)
        if self._first_window:
            scores[scored_win == 0] = 0.0

        # The new state: the last complete window's leaves and counts, and those of the one in
        # progress.
        n = len(leaves)
        total = start + n
        done, self.counter = divmod(total, w)
        self._n_learned += n
        if done:
            last = (done - 1) * w - start  # chunk row where the last complete window starts
            prev = np.empty((w, n_trees), dtype=np.int64)
            if last < 0:
                prev[:start] = self._cur[:start]
                prev[start:] = leaves[: w - start]
            else:
                prev[:] = leaves[last : last + w]
            self._prev = prev
            self._cur[: self.counter] = leaves[n - self.counter :]
            self._prev_counts = counts[done].copy()
            self._cur_counts = (
                counts[done + 1].copy() if self.counter else np.zeros_like(self._prev_counts)
            )
            self._first_window = False
            self._reset_caches()
        else:
            self._cur[start:total] = leaves
            self._cur_counts = counts[1].copy()
            self._leaf_key = None
        return scores

    # -- checkpoints -------------------------------------------------------------------------------

    _MUTABLE = ("counter", "_first_window", "_n_learned", "_prev", "_cur", "_prev_counts",
                "_cur_counts")  # fmt: skip

    def checkpoint(self) -> tuple[Any, ...]:
        """What learning changes, copied; the trees themselves never change once built, so a
        checkpoint costs a few kilobytes however large the trees' lookup tables are."""
        out = []
        for name in self._MUTABLE:
            v = getattr(self, name)
            out.append(v.copy() if isinstance(v, np.ndarray) else v)
        return (self._names is not None, tuple(out))

    def restore(self, checkpoint: tuple[Any, ...]) -> None:
        """Go back to a :meth:`checkpoint` taken after the trees were built."""
        built, values = checkpoint
        if not built or self._names is None:
            raise ValueError("restore needs a checkpoint taken after the trees were built")
        for name, v in zip(self._MUTABLE, values, strict=True):
            setattr(self, name, v.copy() if isinstance(v, np.ndarray) else v)
        self._reset_caches()

    # -- pickling ----------------------------------------------------------------------------------

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state["_tables_cache"] = state["_leaf_key"] = state["_leaf_val"] = None
        state.pop("_buffers", None)
        state.pop("_window_table", None)
        return state

    def __repr__(self) -> str:
        return (
            f"HalfSpaceTrees(n_trees={self.n_trees}, height={self.height}, "
            f"window_size={self.window_size}, limits={self.limits!r}, seed={self.seed!r})"
        )
