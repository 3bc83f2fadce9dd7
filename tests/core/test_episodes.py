"""Alert episodes: one per anomalous stretch, closed by a run of normal samples."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sensorscope.episodes import (
    AlertTracker,
    Change,
    EpisodeRule,
    alerts_of,
    episodes,
    span_flags,
    spans,
)


def feed(tracker, scores, channel="temp"):
    return [tracker.update(channel, float(t), 10.0 + t, s) for t, s in enumerate(scores)]


def test_no_alert_below_threshold():
    tr = AlertTracker(0.9, hysteresis=3)
    feed(tr, [0.1, 0.5, 0.89])
    assert not tr.open and not tr.closed


def test_score_reaching_threshold_opens_one_alert_with_peak():
    tr = AlertTracker(0.9, hysteresis=3)
    out = feed(tr, [0.1, 0.9, 0.95, 0.92])
    assert out[1][1] is not None and out[1][1].start == 1.0
    alert = tr.open["temp"]
    assert (alert.peak_score, alert.peak_value, alert.peak_t) == (0.95, 12.0, 2.0)


def test_dips_shorter_than_hysteresis_stay_one_episode():
    tr = AlertTracker(0.9, hysteresis=3)
    feed(tr, [0.95, 0.1, 0.1, 0.95, 0.1, 0.1, 0.1])
    assert len(tr.closed) == 1
    a = tr.closed[0]
    assert (a.start, a.end) == (0.0, 3.0)


def test_episode_closes_after_hysteresis_normal_samples_and_flags_them():
    tr = AlertTracker(0.9, hysteresis=2)
    flags = [o[0] for o in feed(tr, [0.95, 0.1, 0.1, 0.1])]
    assert flags == [True, True, True, False]
    assert tr.closed[0].end == 0.0


def test_separate_episodes_get_separate_ids():
    tr = AlertTracker(0.9, hysteresis=1)
    feed(tr, [0.95, 0.1, 0.95, 0.1])
    assert [a.id for a in tr.closed] == [1, 2]


def test_channels_are_independent():
    tr = AlertTracker(0.9, hysteresis=2)
    tr.update("a", 0.0, 1.0, 0.95)
    tr.update("b", 0.0, 1.0, 0.1)
    assert set(tr.open) == {"a"}


def test_per_channel_threshold_overrides_default():
    tr = AlertTracker(0.9, hysteresis=2)
    tr.thresholds["temp"] = 0.5
    feed(tr, [0.6])
    assert "temp" in tr.open


def test_close_all_ends_open_episodes_at_their_last_anomalous_sample():
    tr = AlertTracker(0.9, hysteresis=5)
    feed(tr, [0.95, 0.97, 0.1])
    closed = tr.close_all()
    assert [(a.start, a.end) for a in closed] == [(0.0, 1.0)]
    assert not tr.open


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.floats(0, 1), min_size=1, max_size=200),
    st.sampled_from([0.3, 0.5, 0.9]),
    st.integers(1, 6),
)
def test_vectorised_episodes_match_the_alert_tracker(scores, threshold, hysteresis):
    score = np.array(scores)
    t = np.arange(len(score), dtype=float)
    flags, eps = episodes("x", t, t, score, threshold, hysteresis)
    tracker = AlertTracker(threshold, hysteresis)
    expected = [tracker.update("x", float(i), float(i), s)[0] for i, s in enumerate(scores)]
    tracker.close_all()
    assert flags.tolist() == expected
    assert [(a.start, a.end, a.peak_score) for a in eps] == [
        (a.start, a.end, a.peak_score) for a in tracker.closed
    ]


# --------------------------------------------------------------- streaming against vectorised
# One rule, two forms: the sample-by-sample one (EpisodeRule.step, AlertTracker) is the
# specification; the vectorised ones (spans over a series, next_change/advance over the
# engine's batches) must give the same episodes, flags and state.

THRESHOLD = 0.5


def random_scores(rng: np.random.Generator, n: int) -> np.ndarray:
    """Scores that hover around the threshold, hit it exactly and stay away for long."""
    kind = rng.integers(4)
    if kind == 0:  # a few values only, the threshold among them
        return rng.choice([0.0, 0.49, THRESHOLD, 0.51, 1.0], size=n)
    if kind == 1:  # mostly quiet with rare bursts
        return np.where(rng.random(n) < 0.05, 1.0, 0.1)
    if kind == 2:  # mostly above with rare dips
        return np.where(rng.random(n) < 0.1, 0.0, THRESHOLD)
    return rng.random(n)


def streamed(above: np.ndarray, hysteresis: int) -> tuple[list[tuple[int, Change]], list[bool]]:
    rule = EpisodeRule(hysteresis)
    changes, flags = [], []
    for i, a in enumerate(above.tolist()):
        was_open = rule.open
        change = rule.step(a)
        if change is not Change.NONE:
            changes.append((i, change))
        flags.append(was_open or rule.open)
    return changes, flags


def in_batches(
    above: np.ndarray, hysteresis: int, cuts: list[int]
) -> tuple[list[tuple[int, Change]], EpisodeRule]:
    """The engine's way: per batch, find the next change, move up to it, go on."""
    rule = EpisodeRule(hysteresis)
    changes = []
    for lo, hi in zip([0, *cuts], [*cuts, len(above)], strict=True):
        i = lo
        while i < hi:
            k = rule.next_change(above[i:hi])
            j = hi if k is None else i + k + 1
            change = rule.advance(above[i:j])
            assert (change is Change.NONE) == (k is None)
            if change is not Change.NONE:
                changes.append((j - 1, change))
            i = j
    return changes, rule


@pytest.mark.parametrize("seed", range(40))
def test_vectorised_rule_matches_the_streaming_one_on_random_series(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 400))
    hysteresis = int(rng.choice([1, 1, 2, 3, 7, 50]))
    score = random_scores(rng, n)
    above = score >= THRESHOLD
    changes, flags = streamed(above, hysteresis)

    firsts, lasts = spans(above, hysteresis)
    opens = [i for i, c in changes if c is Change.OPENED]
    closes = [i for i, c in changes if c is Change.CLOSED]
    assert firsts.tolist() == opens
    assert [b + hysteresis for b in lasts.tolist() if b + hysteresis < n] == closes
    assert span_flags(n, firsts, lasts, hysteresis).tolist() == flags

    cuts = sorted(set(rng.integers(1, n, size=int(rng.integers(0, 8))).tolist())) if n > 1 else []
    batched, rule = in_batches(above, hysteresis, cuts)
    assert batched == changes
    expect = EpisodeRule(hysteresis)
    for a in above.tolist():
        expect.step(a)
    assert (rule.open, rule.quiet) == (expect.open, expect.quiet)


@pytest.mark.parametrize("seed", range(20))
def test_an_episode_carried_into_a_batch_is_found_where_the_whole_series_has_it(seed):
    rng = np.random.default_rng(100 + seed)
    n = int(rng.integers(2, 300))
    hysteresis = int(rng.integers(1, 6))
    above = random_scores(rng, n) >= THRESHOLD
    cut = int(rng.integers(1, n))
    rule = EpisodeRule(hysteresis)
    for a in above[:cut].tolist():
        rule.step(a)
    firsts, lasts = spans(above, hysteresis)
    tail_f, tail_l = spans(above[cut:], hysteresis, rule.quiet if rule.open else None)
    # The episodes not closed before the cut; the one carried in starts before the batch.
    whole = [
        (f, b)
        for f, b in zip(firsts.tolist(), lasts.tolist(), strict=True)
        if b + hysteresis >= cut
    ]
    part = [(f + cut, b + cut) for f, b in zip(tail_f.tolist(), tail_l.tolist(), strict=True)]
    assert [b for _, b in part] == [b for _, b in whole]
    assert [f for f, _ in part][rule.open :] == [f for f, _ in whole][rule.open :]
    assert all(f < cut for f, _ in part[: int(rule.open)])


def test_a_score_exactly_at_the_threshold_is_above_it():
    flags, eps = episodes("x", np.arange(3.0), np.zeros(3), np.array([0.4, 0.5, 0.4]), 0.5, 1)
    assert flags.tolist() == [False, True, True]
    assert [(a.start, a.end) for a in eps] == [(1.0, 1.0)]


def test_hysteresis_one_closes_at_the_first_sample_below():
    rule = EpisodeRule(1)
    assert [rule.step(a) for a in (True, False, True)] == [
        Change.OPENED, Change.CLOSED, Change.OPENED]  # fmt: skip


def test_an_episode_closing_on_a_batch_edge_closes_at_the_last_sample_of_the_batch():
    rule = EpisodeRule(2)
    assert rule.next_change(np.array([True, False])) == 0
    assert rule.advance(np.array([True])) is Change.OPENED
    assert rule.next_change(np.array([False])) is None
    assert rule.advance(np.array([False])) is Change.NONE
    assert rule.next_change(np.array([False, True])) == 0
    assert rule.advance(np.array([False])) is Change.CLOSED
    assert not rule.open


def test_an_episode_open_at_the_end_of_a_series_is_flagged_to_its_last_sample():
    flags, eps = episodes("x", np.arange(4.0), np.zeros(4), np.array([0.0, 0.9, 0.1, 0.1]), 0.5, 5)
    assert flags.tolist() == [False, True, True, True]
    assert [(a.start, a.end) for a in eps] == [(1.0, 1.0)]


def test_runs_of_alert_flags_are_the_episodes_of_hysteresis_one():
    flags = np.array([1, 1, 0, 1, 0, 0, 1], dtype=bool)
    firsts, lasts = spans(flags, 1)
    assert list(zip(firsts.tolist(), lasts.tolist(), strict=True)) == [(0, 1), (3, 3), (6, 6)]
    eps = alerts_of("x", np.arange(7.0), np.array([0.2, 0.9, 0, 0.3, 0, 0, np.nan]), firsts, lasts)
    assert [(a.start, a.end, a.peak_score) for a in eps][:2] == [(0.0, 1.0, 0.9), (3.0, 3.0, 0.3)]


def test_hysteresis_below_one_is_refused():
    with pytest.raises(ValueError):
        EpisodeRule(0)
    with pytest.raises(ValueError):
        AlertTracker(0.5, 0)
