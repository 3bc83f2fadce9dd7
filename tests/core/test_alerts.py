"""Alert episodes: one per anomalous stretch, closed by a run of normal samples."""

from __future__ import annotations

from sensorscope.alerts import AlertTracker


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
