"""sensorscope.detect.local: the local view (distance from the median of the recent past in
robust spreads) catches what the views of stop 18 never alerted, on made-up series like the
held-out misses of issue 13, through the real ChannelScorer."""

from __future__ import annotations

import pickle
from itertools import pairwise

import numpy as np

from sensorscope.detect.config import DEFAULT, VARIANTS, ScorerConfig
from sensorscope.detect.default import ChannelScorer
from sensorscope.detect.local import LocalView
from sensorscope.model import Reason

T0 = 1_763_884_800.0
DT = 300.0  # five minutes, like the NAB series the misses were seen on
STOP18 = VARIANTS["stop18"]
# The default: the local view on (sensorscope.detect.config says why).
LOCAL = DEFAULT
# The local view with a generalised Pareto tail: the one that says a spike in a noisy band.
GPD = VARIANTS["try:local-gpd"]


def scored(cfg: ScorerConfig, v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    got = ChannelScorer(cfg).score_many(v, T0 + DT * np.arange(len(v)))
    return got.score, got.why


def alerted(cfg: ScorerConfig, v: np.ndarray, at: int, reason: Reason | None = None) -> bool:
    """Whether the sample ``at`` (or one of the few after it) scores at the threshold."""
    s, why = scored(cfg, v)
    hit = np.flatnonzero(s[at : at + 5] >= cfg.threshold)
    return bool(len(hit)) and (reason is None or int(why[at + hit[0]]) == reason)


def quiet(cfg: ScorerConfig, v: np.ndarray, at: int, since: int = 0) -> bool:
    """No alert from ``since`` on but at ``at`` and the few samples after it."""
    s, _ = scored(cfg, v)
    s[at : at + 5] = 0.0
    return bool(s[since:].max() < cfg.threshold)


def test_a_spike_beyond_a_noisy_band_inside_the_range_tolerance():
    """A new maximum by a third of the band's range: inside the range rule's tolerance (three
    typical steps of a noisy channel), diluted in the forecaster's 10-sample average; six
    robust spreads from the recent median, which the local view with a generalised Pareto
    tail says at once (the default's exponential tail scores it 0.53, under the threshold)."""
    rng = np.random.default_rng(1)
    i = np.arange(4000)
    v = 10.0 + rng.normal(0.0, 1.0, len(i)) + 0.3 * np.sin(2 * np.pi * i / 288)
    hi, lo = v[:3000].max(), v[:3000].min()
    v[3000] = hi + (hi - lo) / 3
    assert not alerted(STOP18, v, 3000)
    assert alerted(GPD, v, 3000, Reason.LOCAL)
    assert quiet(GPD, v, 3000)


def test_a_spike_far_above_its_recent_past_but_below_an_old_maximum():
    """The channel was high and wild long ago; now it is quiet at a lower level and a spike of
    nine of its sds comes, far below the old maximum: no range rule, and the long histories of
    the other views still hold the wild stretch."""
    rng = np.random.default_rng(2)
    v = 10.0 + rng.normal(0.0, 1.0, 4000)
    v[:800] = 30.0 + rng.normal(0.0, 8.0, 800)
    v[3000] = 19.0
    assert v[3000] < v[:800].max()
    assert not alerted(STOP18, v, 3000)
    assert alerted(LOCAL, v, 3000, Reason.LOCAL)
    assert quiet(LOCAL, v, 3000, since=1000)  # the fall at 800 is an event of its own


def test_scores_are_the_same_however_the_stream_is_cut():
    """The reference moves every `step` learned samples, counted over the learned stream, so
    one batch, single samples and ragged pieces give one set of raw scores (not-learned
    samples included)."""
    rng = np.random.default_rng(5)
    v = rng.normal(0.0, 1.0, 1500)
    v[700:760] = 4.0  # more than a quartile on one value: the mean-deviation spread
    learn = rng.random(1500) > 0.1
    want = LocalView(window=128, step=16, ready=40).run(v, None, learn)
    one = LocalView(window=128, step=16, ready=40)
    singles = np.concatenate([one.run(v[k : k + 1], None, learn[k : k + 1]) for k in range(1500)])
    np.testing.assert_array_equal(singles, want)
    pieces = LocalView(window=128, step=16, ready=40)
    cuts = [0, 3, 39, 40, 41, 200, 1001, 1500]
    got = np.concatenate(
        [pieces.run(v[a:b], None, learn[a:b]) for a, b in pairwise(cuts)]
    )  # fmt: skip
    np.testing.assert_array_equal(got, want)
    assert np.isnan(want[:40]).all() and np.isfinite(want[60:]).all()


def test_its_state_stays_small_whatever_the_history():
    """The state file pickles the engines: the view keeps its window, not the channel's past."""
    view = LocalView()
    v = np.random.default_rng(6).normal(0.0, 1.0, 200_000)
    for a in range(0, len(v), 5000):
        view.run(v[a : a + 5000], None, np.ones(5000, dtype=bool))
    assert len(pickle.dumps(view)) < 4 * 8 * view.window
    restored = LocalView()
    restored.restore(view.checkpoint())
    tail = np.random.default_rng(7).normal(0.0, 1.0, 300)
    np.testing.assert_array_equal(
        restored.run(tail, None, np.ones(300, bool)), view.run(tail, None, np.ones(300, bool))
    )


def test_the_local_view_is_one_switch_and_its_reason_reads_as_the_recent_past():
    for cfg in (STOP18, VARIANTS["default-local"]):
        assert not any(isinstance(cv.view, LocalView) for cv in ChannelScorer(cfg).views)
    sc = ChannelScorer(DEFAULT)
    assert [cv.view.reason for cv in sc.views if isinstance(cv.view, LocalView)] == [Reason.LOCAL]
