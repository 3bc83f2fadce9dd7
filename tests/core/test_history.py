"""The history store: everything since the start in bounded memory, spikes and alerts kept.

Real rings and stores fed as the scoring worker feeds them (batches of samples with the
ring's flag bits), read as a chart reads them (a window of at most N points).
"""

from __future__ import annotations

import numpy as np
import pytest

from sensorscope.history import ALERT, IMPUTED, HistoryStore
from sensorscope.model import DEFAULT_CAPACITY, HistoryConfig, ViewRequest
from sensorscope.state import Ring

SMALL = HistoryConfig(factor=4, buckets=64, tiers=3)


def store(capacity: int = 256, config: HistoryConfig = SMALL) -> tuple[Ring, HistoryStore]:
    ring = Ring(capacity)
    return ring, HistoryStore(ring, config)


def feed(ring: Ring, hist: HistoryStore, t, value, score=None, flags=None) -> None:
    t = np.asarray(t, dtype=float)
    value = np.asarray(value, dtype=float)
    score = np.zeros(len(t)) if score is None else np.asarray(score, dtype=float)
    flags = np.zeros(len(t), dtype=np.uint8) if flags is None else np.asarray(flags, np.uint8)
    hist.extend(t, value, score, flags)  # into the ring too


def test_a_short_history_comes_back_sample_by_sample():
    ring, hist = store()
    feed(ring, hist, np.arange(10.0), np.arange(10.0) * 2)
    w = hist.window(ViewRequest(span=100.0, points=50))
    assert w.t.tolist() == list(np.arange(10.0))
    assert w.lo.tolist() == w.hi.tolist() == w.last.tolist() == list(np.arange(10.0) * 2)
    assert w.per_point == 1.0
    assert w.held.samples == 10 and w.held.span == 9.0


def test_zoomed_out_a_spike_from_long_ago_keeps_its_height_and_its_alert():
    ring, hist = store()
    n = 200_000
    t = np.arange(n, dtype=float)
    v = np.sin(t / 50.0)
    flags = np.zeros(n, dtype=np.uint8)
    v[1234] = 40.0  # one alerted spike, long gone from the ring
    flags[1234] = ALERT
    v[5000] = -30.0  # one spike nobody alerted on
    for i in range(0, n, 997):  # the scoring worker's batches, of odd sizes
        feed(ring, hist, t[i : i + 997], v[i : i + 997], flags=flags[i : i + 997])
    w = hist.window(ViewRequest(span=float(n), points=100))
    assert len(w) <= 100
    assert w.per_point > 1000  # merged buckets, not samples
    assert w.hi.max() == 40.0 and w.lo.min() == -30.0
    hot = np.flatnonzero(w.alert)
    assert len(hot) == 1 and w.ahi[hot[0]] == 40.0 == w.alo[hot[0]]
    assert np.isnan(w.ahi[~w.alert]).all()
    # The whole time is there: the first point ends within one point's width of the start.
    assert w.t[0] < 2 * n / 100 and w.t[-1] == n - 1


def test_every_alerted_sample_is_in_an_alerted_point_at_every_zoom():
    rng = np.random.default_rng(3)
    ring, hist = store()
    n = 100_000
    t = np.arange(n, dtype=float)
    v = rng.normal(size=n)
    alerted = rng.choice(n, 40, replace=False)
    flags = np.zeros(n, dtype=np.uint8)
    flags[alerted] = ALERT
    flags[rng.choice(n, 40, replace=False)] |= IMPUTED
    for i in range(0, n, 5000):
        feed(ring, hist, t[i : i + 5000], v[i : i + 5000], flags=flags[i : i + 5000])
    for span in (300.0, 3000.0, 30_000.0, float(n)):
        for end in (n - 1.0, n / 2, span + 10):
            w = hist.window(ViewRequest(span=span, end=end, points=80))
            assert len(w) <= 80
            inside = alerted[(t[alerted] >= end - span) & (t[alerted] <= end)]
            for i in inside:
                # The point that holds sample i: the first whose last time is at or after it.
                k = int(np.searchsorted(w.t, t[i]))
                assert w.alert[k], (span, end, i)
                assert w.alo[k] <= v[i] <= w.ahi[k]
            assert w.lo.min() <= v[(t >= w.t[0]) & (t <= w.t[-1])].min() + 1e-12


def test_min_and_max_survive_decimation_of_a_window():
    ring, hist = store(capacity=128)
    n = 50_000
    t = np.arange(n, dtype=float)
    v = np.cos(t / 7.0)
    feed(ring, hist, t, v)
    for a, b in ((0.0, 49_999.0), (10_000.0, 20_000.0), (49_000.0, 49_999.0)):
        w = hist.window(ViewRequest(span=b - a, end=b, points=60))
        sel = (t >= a) & (t <= b)
        assert len(w) <= 60
        # Buckets at the window's edges may reach a little outside it, never less far.
        assert w.hi.max() >= v[sel].max() and w.lo.min() <= v[sel].min()
        assert w.t[-1] >= b


def test_memory_stays_bounded_over_a_million_samples():
    ring, hist = store(capacity=1024, config=HistoryConfig(factor=4, buckets=256, tiers=4))
    bound = None
    rng = np.random.default_rng(0)
    for i in range(0, 1_000_000, 10_000):
        t = np.arange(i, i + 10_000, dtype=float) * 0.01
        feed(ring, hist, t, rng.normal(size=10_000))
        held = hist.held()
        if i == 500_000:
            bound = held.nbytes
    # Ring: 1024 x 25 bytes; 4 tiers of at most 512 buckets of 65 bytes; a few pending.
    assert held.nbytes <= 1024 * 25 + 4 * 512 * 65 + 4 * 4 * 65
    assert held.nbytes <= bound + 4 * 4 * 65  # full long before: only what is pending moves
    assert held.samples == 1_000_000
    assert held.span == pytest.approx(9999.99)
    w = hist.window(ViewRequest(span=held.span, points=100))
    # The first seconds are still there, in the first of 100 points over the whole span.
    assert len(w) <= 100 and w.held.first_t == 0.0 and w.t[0] < held.span / 100


def test_a_window_reads_the_same_few_items_however_long_the_history():
    # What a chart's tick costs is the items a window reads: bounded by the points asked
    # for (a tier's factor of them), by a tier's size when the window is everything (the
    # last tier holds at most 2 x buckets), and by what the coarser tiers have not merged
    # yet, never by how long the channel has run. Counted, not timed.
    cfg = HistoryConfig()
    bound = max(cfg.factor * 200, 2 * cfg.buckets) + 256 + cfg.tiers * cfg.factor

    def items_read(n: int) -> list[int]:
        ring, hist = store(capacity=4096, config=cfg)
        t = np.arange(n, dtype=float)
        for i in range(0, n, 100_000):
            feed(ring, hist, t[i : i + 100_000], np.sin(t[i : i + 100_000]))
        spans = [(s, e) for s in (60, 6000, n) for e in (n, n / 3)]
        return [len(hist._items(e - s, e, 200)) for s, e in spans]

    small, large = items_read(20_000), items_read(2_000_000)
    assert max(small) <= bound and max(large) <= bound


def test_the_default_window_is_what_the_ring_holds_and_follows_the_data():
    ring, hist = store(capacity=100)
    feed(ring, hist, np.arange(1000.0), np.zeros(1000))
    w = hist.window(ViewRequest(points=500))
    assert w.start == 900.0 and w.end == 999.0 and w.per_point == 1.0
    feed(ring, hist, np.arange(1000.0, 1010.0), np.ones(10))
    w = hist.window(ViewRequest(points=500))
    assert w.end == 1009.0 and w.last[-1] == 1.0


def test_a_window_reaches_the_newest_sample_at_any_zoom():
    ring, hist = store()
    # 4 * 4 * 4 samples fill a tier-3 bucket; 1003 leaves every tier something pending.
    feed(ring, hist, np.arange(1003.0), np.arange(1003.0))
    for span in (10.0, 500.0, 1003.0):
        w = hist.window(ViewRequest(span=span, points=5))
        assert w.t[-1] == 1002.0 and w.last[-1] == 1002.0 and w.hi.max() == 1002.0


def test_samples_one_at_a_time_all_reach_the_tiers_and_the_windows():
    ring, hist = store(capacity=64)  # the tiers take 32 at a time from it
    for i in range(3001):
        feed(ring, hist, [float(i)], [float(i % 97)], flags=[ALERT if i == 5 else 0])
    w = hist.window(ViewRequest(span=3000.0, points=30))
    assert w.t[-1] == 3000.0 and w.lo.min() == 0.0 and w.hi.max() == 96.0
    assert w.alert[0] and not w.alert[1:].any()  # sample 5, long out of the ring
    assert int(round(w.per_point * len(w))) == 3001  # every sample, once


def test_the_default_config_holds_a_long_watch_in_under_a_megabyte():
    ring = Ring(DEFAULT_CAPACITY)
    hist = HistoryStore(ring)
    for i in range(0, 3_000_000, 100_000):
        t = np.arange(i, i + 100_000, dtype=float) * 0.1  # 3.5 days at 10 Hz
        hist.extend(t, np.sin(t), np.zeros(len(t)), np.zeros(len(t), dtype=np.uint8))
    held = hist.held()
    assert held.nbytes < 1_000_000 and held.span == pytest.approx(299_999.9)
