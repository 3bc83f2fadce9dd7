"""The quick paths the scorer takes in its usual case give, to the bit, what the general
path gives: scores files are compared byte for byte between versions, so "the same to
rounding" is not enough here (issue 15)."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from sensorscope.detect.hst import HalfSpaceTrees
from sensorscope.detect.reference import LastingReference
from sensorscope.feedback import _median
from sensorscope.joint import AVERAGE, _means, _steady_means

finite = st.floats(-1e6, 1e6, allow_nan=False, allow_infinity=False)


@settings(max_examples=200, deadline=None)
@given(st.integers(1, 40), st.integers(2, 5), st.integers(0, 2**32 - 1))
def test_the_joint_views_steady_means_are_the_general_ones(n, k, seed):
    rng = np.random.default_rng(seed)
    scale = 10.0 ** rng.integers(-3, 4)
    past = np.abs(rng.standard_normal((AVERAGE - 1, 1 + k))) * scale
    t2 = np.abs(rng.standard_normal(n)) * scale
    own = np.abs(rng.standard_normal((n, k))) * scale / k
    avg, relational, recent = _means(past, t2, own)
    mean, recent2 = _steady_means(past, t2, own)
    quick = mean[:, 0].copy()
    assert quick.tobytes() == avg.tobytes()
    assert recent2.tobytes() == recent.tobytes()
    quick_rel = quick - mean[:, 1:].max(axis=1, initial=0.0) > 0.5 * quick
    assert np.array_equal(quick_rel, relational)


@settings(max_examples=300, deadline=None)
@given(st.lists(finite, min_size=1, max_size=300))
def test_the_episodes_level_is_numpys_median(values):
    a = np.array(values)
    assert _median(a) == float(np.median(a))
    if len(a) > 2:
        d = np.abs(np.diff(a))
        assert _median(d) == float(np.median(d))


def _hst_scores(xs, cuts, restores, keep_table):
    """Score ``xs`` in the pieces ``cuts`` makes; before the pieces in ``restores`` take a
    checkpoint, score ahead, and go back (what the engine does at an episode's change)."""
    m = HalfSpaceTrees(n_trees=5, height=6, window_size=40, seed=3)
    out, bounds = [], [0, *cuts, len(xs)]
    for n, (a, b) in enumerate(zip(bounds, bounds[1:], strict=False)):
        if not keep_table:
            m.__dict__.pop("_window_table", None)
        if n in restores and m.features is not None:
            ck = m.checkpoint()
            m.score_learn_many(xs[a:b])
            m.restore(ck)
            if not keep_table:
                m.__dict__.pop("_window_table", None)
        learn = (np.arange(a, b) % 7) != 3  # some samples scored, not learned
        out.append(m.score_learn_many(xs[a:b], learn=learn))
    return np.concatenate(out)


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 2**32 - 1), st.integers(1, 25))
def test_hst_scores_with_the_kept_window_table_are_those_without_it(seed, pieces):
    rng = np.random.default_rng(seed)
    xs = rng.random((600, 1)) ** rng.uniform(0.3, 3.0)
    cuts = sorted(rng.choice(np.arange(1, 600), pieces, replace=False).tolist())
    restores = set(rng.choice(np.arange(pieces + 1), pieces // 2 + 1).tolist())
    kept = _hst_scores(xs, cuts, restores, keep_table=True)
    rebuilt = _hst_scores(xs, cuts, restores, keep_table=False)
    assert kept.tobytes() == rebuilt.tobytes()


def test_the_lasting_references_kept_inside_rows_are_the_computed_ones():
    rng = np.random.default_rng(5)
    values = 20.0 + rng.standard_normal(3000)
    quick, plain = LastingReference(60.0), LastingReference(60.0)
    seen = np.ones(3000, dtype=bool)
    for ref in (quick, plain):
        ref.take(values[:1500], seen[:1500], inside=False)
        ref.opened(1500.0)
    for a in range(1500, 3000, 37):
        part = values[a : a + 37] + (a > 2200) * 3.0  # a lasting shift inside the episode
        got = quick.away(part)  # asked, then taken: the second reuses the first's rows
        quick.take(part, seen[: len(part)], inside=True)
        plain.__dict__.pop("_seen", None)
        want = plain.away(part)
        plain.__dict__.pop("_seen", None)
        plain.take(part, seen[: len(part)], inside=True)
        assert np.array_equal(got, want)
        assert quick._tail.tobytes() == plain._tail.tobytes()
        assert quick._inside.__dict__ == plain._inside.__dict__
    assert quick._held == plain._held
