"""sensorscope.detect.hst.HalfSpaceTrees gives river's HalfSpaceTrees scores, one by one and in
batches."""

from __future__ import annotations

import copy
import pickle
import random

import numpy as np
import pytest
from river import anomaly

from sensorscope.detect.hst import HalfSpaceTrees

TOL = 1e-9
BATCHES = (1, 7, 250, 1000, 3333)


def mixed(n: int, n_features: int = 1, seed: int = 0, scale: float = 1.0) -> np.ndarray:
    """Uniform stretches, clipped gaussians (wide and very narrow, which keep masses on few
    nodes and send walks below the score tables), a constant stretch, and outliers."""
    rng = np.random.default_rng(seed)
    parts, left, kind = [], n, 0
    while left > 0:
        m = min(left, int(rng.integers(150, 900)))
        if kind % 4 == 0:
            part = rng.random((m, n_features))
        elif kind % 4 == 1:
            part = np.clip(rng.normal(0.5, 0.15, (m, n_features)), 0.0, 1.0)
        elif kind % 4 == 2:
            part = np.clip(rng.normal(rng.random(), 0.002, (m, n_features)), 0.0, 1.0)
        else:
            part = np.full((m, n_features), rng.random())
        parts.append(part)
        left -= m
        kind += 1
    X = np.concatenate(parts)[:n]
    outliers = rng.random(n) < 0.01
    X[outliers] = rng.uniform(-0.5, 1.5, (int(outliers.sum()), n_features))
    return X * scale


def river_scores(model: anomaly.HalfSpaceTrees, X: np.ndarray, names) -> np.ndarray:
    out = np.empty(len(X))
    for i, row in enumerate(X.tolist()):
        x = dict(zip(names, row, strict=True))
        out[i] = model.score_one(x)
        model.learn_one(x)
    return out


def one_at_a_time(model: HalfSpaceTrees, X: np.ndarray, names) -> np.ndarray:
    out = np.empty(len(X))
    for i, row in enumerate(X.tolist()):
        x = dict(zip(names, row, strict=True))
        out[i] = model.score_one(x)
        model.learn_one(x)
    return out


def batched(model: HalfSpaceTrees, X: np.ndarray, size: int, names=None) -> np.ndarray:
    return np.concatenate(
        [model.score_learn_many(X[i : i + size], features=names) for i in range(0, len(X), size)]
    )


LIMITS = {"a": (0.0, 10.0), "b": (-1, 1), "c": (0.0, 100.0)}
# (n_trees, height, window_size, limits, seed, n_samples, n_features)
CASES = {
    "10-8-250": (10, 8, 250, None, 42, 12_000, 1),
    "10-8-250-seed0": (10, 8, 250, None, 0, 10_000, 1),
    "10-8-333-seed-big": (10, 8, 333, None, 2**40 + 3, 10_000, 1),
    "5-10-50-deep": (5, 10, 50, None, 5, 10_000, 1),
    "3-features-limits": (8, 9, 200, LIMITS, 3, 10_000, 3),
    "2-features-default-limits": (6, 6, 64, None, 11, 10_000, 2),
    # river takes about 8 s to build these trees and about 1 ms per sample after that
    "25-15-250": (25, 15, 250, None, 7, 1_500, 1),
}


def case_data(case: str) -> tuple[np.ndarray, list[str]]:
    *_, limits, seed, n, n_features = CASES[case]
    names = ["x"] if n_features == 1 else ["a", "b", "c"][:n_features]
    X = mixed(n, n_features, seed=seed % 1000)
    if limits:
        X = X * np.array([limits[k][1] - limits[k][0] for k in names]) + np.array(
            [limits[k][0] for k in names]
        )
    return X, names


@pytest.fixture(scope="module")
def reference():
    """river's scores per case, computed once per test module."""
    cache: dict[str, np.ndarray] = {}

    def get(case: str) -> np.ndarray:
        if case not in cache:
            n_trees, height, window, limits, seed, *_ = CASES[case]
            X, names = case_data(case)
            model = anomaly.HalfSpaceTrees(n_trees, height, window, limits=limits, seed=seed)
            cache[case] = river_scores(model, X, names)
        return cache[case]

    return get


def make(case: str) -> HalfSpaceTrees:
    n_trees, height, window, limits, seed, *_ = CASES[case]
    return HalfSpaceTrees(n_trees, height, window, limits=limits, seed=seed)


@pytest.mark.parametrize("case", list(CASES))
def test_batches_of_any_size_give_rivers_scores(case, reference):
    X, names = case_data(case)
    expected = reference(case)
    assert len(np.unique(expected[CASES[case][2] :])) > 100  # the stream exercises the scores
    sizes = BATCHES if case != "25-15-250" else (7, 250, 1000)
    for size in sizes:
        got = batched(make(case), X, size, names)
        assert np.abs(got - expected).max() <= TOL, size


@pytest.mark.parametrize("case", list(CASES))
def test_score_one_learn_one_give_rivers_scores(case, reference):
    X, names = case_data(case)
    got = one_at_a_time(make(case), X, names)
    assert np.abs(got - reference(case)).max() <= TOL


def test_mixing_one_at_a_time_and_batches_gives_rivers_scores(reference):
    X, names = case_data("10-8-333-seed-big")
    model = make("10-8-333-seed-big")
    got, i = [], 0
    for size in (5, 400, 1, 1, 333, 2000, 17, 3000, 4000):
        part = X[i : i + size]
        if size < 20:
            got.extend(one_at_a_time(model, part, names))
        else:
            got.extend(model.score_learn_many(part))
        i += size
    got = np.array(got)
    assert np.abs(got - reference("10-8-333-seed-big")[: len(got)]).max() <= TOL


def test_walks_below_the_score_tables_are_exercised(reference, monkeypatch):
    """The deep case keeps masses on few nodes, so walks go on below the tables' depth,
    in batches (many walks) and one sample at a time (few)."""
    import sensorscope.detect.hst as hst

    seen = []
    deep = hst.HalfSpaceTrees._deep

    def spy(self, leaves, table_of, deeper, sorted_keys):
        seen.append(int(deeper.sum()))
        return deep(self, leaves, table_of, deeper, sorted_keys)

    monkeypatch.setattr(hst.HalfSpaceTrees, "_deep", spy)
    X, names = case_data("5-10-50-deep")
    model = make("5-10-50-deep")
    assert model._depth < model.height
    got = np.concatenate(
        [batched(model, X[:6000], 3000, names), one_at_a_time(model, X[6000:], names)]
    )
    assert np.abs(got - reference("5-10-50-deep")).max() <= TOL
    assert max(seen) > hst._DEEP_AT_ONCE and min(seen) <= hst._DEEP_AT_ONCE


def river_tree_arrays(tree, height: int, names) -> tuple[np.ndarray, np.ndarray]:
    feat = np.zeros((1 << height) - 1, dtype=int)
    thr = np.zeros((1 << height) - 1)

    def visit(node, i):
        if i >= len(feat):
            return
        feat[i] = names.index(node.feature)
        thr[i] = node.threshold
        visit(node.children[0], 2 * i + 1)
        visit(node.children[1], 2 * i + 2)

    visit(tree, 0)
    return feat, thr


@pytest.mark.parametrize(
    "limits, names",
    [(None, ["x"]), ({"a": (2, 3), "c": (-50.0, 50.0)}, ["c", "a", "b"])],
)
def test_trees_are_rivers_trees(limits, names):
    ours = HalfSpaceTrees(n_trees=4, height=6, window_size=10, limits=limits, seed=9)
    theirs = anomaly.HalfSpaceTrees(n_trees=4, height=6, window_size=10, limits=limits, seed=9)
    x = {name: 0.5 for name in names}
    ours.learn_one(x)
    theirs.learn_one(x)
    assert ours.features == tuple(sorted(names))
    for t, tree in enumerate(theirs.trees):
        feat, thr = river_tree_arrays(tree, 6, sorted(names))
        assert np.array_equal(ours._feat[t], feat)
        assert np.array_equal(ours._thr[t], thr)


def test_missing_and_extra_keys_follow_river():
    """A missing feature goes to the child with the larger l_mass; extra keys are ignored."""
    rng = random.Random(0)
    ours = HalfSpaceTrees(n_trees=6, height=5, window_size=20, seed=4)
    theirs = anomaly.HalfSpaceTrees(n_trees=6, height=5, window_size=20, seed=4)
    n_missing = 0
    for i in range(3000):
        x = {k: rng.random() for k in "abc" if i == 0 or rng.random() > 0.3}
        n_missing += len(x) < 3
        if rng.random() < 0.05:
            x["zz"] = 5.0
        assert abs(ours.score_one(x) - theirs.score_one(x)) <= TOL
        ours.learn_one(x)
        theirs.learn_one(x)
    assert n_missing > 1000


def test_nan_goes_right_as_in_river():
    X = mixed(2000, seed=3)
    X[::13] = np.nan
    river = anomaly.HalfSpaceTrees(n_trees=5, height=7, window_size=100, seed=1)
    theirs = river_scores(river, X, ["x"])
    ours = HalfSpaceTrees(n_trees=5, height=7, window_size=100, seed=1)
    assert np.abs(batched(ours, X, 300) - theirs).max() <= TOL
    ours = HalfSpaceTrees(n_trees=5, height=7, window_size=100, seed=1)
    assert np.abs(one_at_a_time(ours, X, ["x"]) - theirs).max() <= TOL


def test_height_zero_and_window_one():
    X = mixed(300, seed=1)
    for n_trees, height, window in ((3, 0, 5), (3, 4, 1)):
        theirs = river_scores(anomaly.HalfSpaceTrees(n_trees, height, window, seed=2), X, ["x"])
        ours = HalfSpaceTrees(n_trees, height, window, seed=2)
        assert np.abs(batched(ours, X, 64) - theirs).max() <= TOL


# -- contract ----------------------------------------------------------------------------------


def test_constructor_arguments_are_stored_under_their_names():
    limits = {"x": (0.0, 2.0)}
    model = HalfSpaceTrees(n_trees=3, height=4, window_size=20, limits=limits, seed=5)
    assert (model.n_trees, model.height, model.window_size, model.seed) == (3, 4, 20, 5)
    assert model.limits == limits
    default = HalfSpaceTrees()
    assert (default.n_trees, default.height, default.window_size) == (10, 8, 250)
    assert default.limits is None and default.seed is None
    assert default.features is None


def test_scores_are_zero_until_the_first_window_completes():
    X = mixed(120, seed=2)
    scores = batched(HalfSpaceTrees(window_size=50, seed=1), X, 37)
    assert np.all(scores[:50] == 0.0)
    assert np.all(scores[50:] > 0.0)
    model = HalfSpaceTrees(window_size=50, seed=1)
    assert model.score_one({"x": 0.5}) == 0.0  # before any learning, too
    assert np.array_equal(one_at_a_time(model, X, ["x"]), scores)


def test_score_one_changes_neither_x_nor_the_model():
    X = mixed(700, seed=4)
    model = HalfSpaceTrees(n_trees=5, height=6, window_size=100, seed=3)
    twin = HalfSpaceTrees(n_trees=5, height=6, window_size=100, seed=3)
    model.score_learn_many(X[:450])
    twin.score_learn_many(X[:450])
    x = {"x": 0.25, "other": "ignored"}
    before = dict(x)
    first = model.score_one(x)
    for probe in (0.0, 0.9, 0.25, float("nan")):
        model.score_one({"x": probe})
    assert x == before
    assert model.score_one(x) == first
    model.learn_one(x)
    assert x == before
    twin.learn_one({"x": 0.25})
    assert np.array_equal(model.score_learn_many(X[450:]), twin.score_learn_many(X[450:]))


@pytest.mark.parametrize("learned", [0, 1, 130, 300])
def test_pickle_round_trip_gives_identical_scores(learned):
    X = mixed(900, seed=5)
    model = HalfSpaceTrees(n_trees=6, height=7, window_size=100, seed=8)
    if learned:
        model.score_learn_many(X[:learned])
    clone = pickle.loads(pickle.dumps(model))
    deep = copy.deepcopy(model)
    assert (clone.n_trees, clone.height, clone.window_size, clone.seed) == (6, 7, 100, 8)
    expected = model.score_learn_many(X[learned:])
    assert np.array_equal(clone.score_learn_many(X[learned:]), expected)
    assert np.array_equal(one_at_a_time(deep, X[learned:], [0]), expected)


def test_columns_are_named_and_reordered():
    X, names = case_data("3-features-limits")
    X = X[:1200]
    limits = CASES["3-features-limits"][3]
    base = HalfSpaceTrees(n_trees=4, height=5, window_size=100, limits=limits, seed=1)
    expected = base.score_learn_many(X, features=names)
    assert base.features == ("a", "b", "c")
    # columns in another order, named
    shuffled = HalfSpaceTrees(n_trees=4, height=5, window_size=100, limits=limits, seed=1)
    got = shuffled.score_learn_many(X[:, [2, 0, 1]], features=["c", "a", "b"])
    assert np.array_equal(got, expected)
    # unnamed: the sorted keys of limits
    unnamed = HalfSpaceTrees(n_trees=4, height=5, window_size=100, limits=limits, seed=1)
    assert np.array_equal(unnamed.score_learn_many(X), expected)
    assert unnamed.features == ("a", "b", "c")
    with pytest.raises(ValueError, match="columns"):
        unnamed.score_learn_many(X[:, :2])
    with pytest.raises(ValueError, match="no column"):
        unnamed.score_learn_many(X, features=["a", "b", "d"])


def test_one_dimensional_input_and_empty_batches():
    X = mixed(600, seed=6)
    a = HalfSpaceTrees(n_trees=3, height=5, window_size=100, seed=2)
    b = HalfSpaceTrees(n_trees=3, height=5, window_size=100, seed=2)
    assert a.score_learn_many(np.empty((0, 1))).shape == (0,)
    assert np.array_equal(a.score_learn_many(X[:, 0]), b.score_learn_many(X))
    assert a.counter == b.counter == 0
    assert a.features == (0,)


def test_a_checkpoint_takes_the_model_back_to_exactly_where_it_was():
    """The pipeline scores ahead and goes back to a checkpoint when an alert opens."""
    X = mixed(3000, seed=4)
    a, b = HalfSpaceTrees(10, 8, 100, seed=1), HalfSpaceTrees(10, 8, 100, seed=1)
    a.score_learn_many(X[:1050])
    b.score_learn_many(X[:1050])
    ck = a.checkpoint()
    a.score_learn_many(X[1050:1400] * 0.1)  # another stream, across window boundaries
    a.restore(ck)
    assert np.array_equal(a.score_learn_many(X[1050:]), b.score_learn_many(X[1050:]))


def test_a_checkpoint_from_before_the_trees_exist_is_refused():
    model = HalfSpaceTrees(seed=1)
    ck = model.checkpoint()
    model.learn_one({"x": 0.5})
    with pytest.raises(ValueError, match="after the trees were built"):
        model.restore(ck)


@pytest.mark.parametrize(
    "case", ["10-8-250", "5-10-50-deep", "3-features-limits", "2-features-default-limits"]
)
@pytest.mark.parametrize("share", [0.02, 0.3, 0.9])
def test_a_learn_mask_scores_the_unlearned_rows_as_rivers_score_one(case, share):
    """Rows left out of learning (imputed, faulty, inside an alert) are scored as river's
    score_one scores them, in the same batch call as the rest, across window ends."""
    n_trees, height, window, limits, seed, *_ = CASES[case]
    X, names = case_data(case)
    X = X[:3000]
    learn = np.random.default_rng(7).random(len(X)) >= share
    learn[window - 3 : window + 3] = False  # unlearned rows right at the first window's end
    river = anomaly.HalfSpaceTrees(n_trees, height, window, limits=limits, seed=seed)
    expected = []
    for row, lrn in zip(X, learn, strict=True):
        x = dict(zip(names, row.tolist(), strict=True))
        expected.append(river.score_one(x))
        if lrn:
            river.learn_one(x)
    for size in (1, 7, window, 1000, len(X)):
        model = make(case)
        got = np.concatenate(
            [model.score_learn_many(X[i : i + size], names, learn[i : i + size])
             for i in range(0, len(X), size)]
        )  # fmt: skip
        assert np.abs(got - np.array(expected)).max() <= TOL, size
        assert model._n_learned == int(learn.sum())
