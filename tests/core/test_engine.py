"""sensorscope.engine: one channel's imputation, fault rules, scoring, episodes and feedback."""

from __future__ import annotations

import numpy as np
import pytest

from sensorscope.detect.factory import ModelFactory
from sensorscope.engine import ChannelEngine

T0 = 1_763_884_800.0
DT = 0.1


def engine(detector: str = "default", **kw) -> ChannelEngine:
    f = ModelFactory(detector)
    opts = dict(threshold=f.threshold, hysteresis=f.hysteresis)
    opts.update(kw)
    return ChannelEngine("temp", f(0), **opts)


def healthy(n: int, seed: int = 0, level: float = 21.5) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return T0 + DT * np.arange(n), level + rng.normal(0.0, 0.1, n)


def opened(out, t) -> list[tuple[float, str]]:
    """(seconds from the start, reason) of each episode opened."""
    return [(round(a.start - T0, 1), a.reason) for _, kind, a, _ in out.events if kind == "open"]


def number(out, start: int = 1) -> list:
    alerts = [a for _, kind, a, _snap in out.events if kind == "open"]
    for i, a in enumerate(alerts, start):
        a.id = i
    return alerts


# --------------------------------------------------------------------------- episodes


def test_an_episode_lasts_as_long_as_the_fault():
    t, v = healthy(4000)
    v[3000:3030] = v[2999]  # stuck for 3 s
    out = engine().process(t, v)
    (alert,) = [a for _, kind, a, _snap in out.events if kind == "open"]
    assert alert.reason.startswith("stuck at")
    assert 2.0 <= alert.end - alert.start <= 3.5
    # Flagged once the run is far longer than usual (10 readings), until it ends.
    assert out.alert[3010:3030].all() and not out.alert[3100:].any()


def test_scores_and_alerts_do_not_depend_on_how_the_stream_is_cut():
    t, v = healthy(6000, seed=3)
    v[2500] += 2.0
    v[3000:3040] += 0.9
    v[4000:4050] = v[3999]
    v[5000:5040] += np.random.default_rng(1).normal(0, 0.8, 40)
    v[[100, 3010, 4500]] = np.nan
    whole = engine().process(t, v)
    for size in (1, 37, 500, 2048):
        e = engine()
        parts = [e.process(t[i : i + size], v[i : i + size]) for i in range(0, len(t), size)]
        np.testing.assert_allclose(np.concatenate([p.score for p in parts]), whole.score,
                                   rtol=0, atol=1e-9)  # fmt: skip
        assert np.array_equal(np.concatenate([p.alert for p in parts]), whole.alert), size
        got = [(a.start, a.end, a.reason) for p in parts for _, k, a, _ in p.events if k == "close"]
        want = [(a.start, a.end, a.reason) for _, k, a, _ in whole.events if k == "close"]
        assert got == want, size


def test_missing_values_are_imputed_flagged_and_scored():
    t, v = healthy(600)
    v[[10, 300, 301]] = np.nan
    out = engine().process(t, v)
    assert out.imputed[[10, 300, 301]].all() and out.imputed.sum() == 3
    assert np.isfinite(out.value).all()
    assert out.value[300] == pytest.approx(np.nanmean(v[:300]))


# --------------------------------------------------------------------------- not learning


def test_what_happens_inside_an_episode_is_not_learned_as_normal():
    """A plateau 8 sigma high for 3 s, twice. Held back, the first does not widen the learned
    range and the second is still outside it; learning everything, the range takes the first
    in and the second is only caught (later) by another part."""
    t, v = healthy(6000)
    for s in (2000, 4000):
        v[s : s + 30] += 0.8
    held = opened(engine().process(t, v), t)
    assert held == [(200.0, "beyond its range"), (400.0, "beyond its range")]
    plain = opened(engine(learn_in_alerts=True).process(t, v), t)
    assert plain[0] == (200.0, "beyond its range")
    assert plain[1][1] != "beyond its range"


def test_a_lasting_change_is_learned_after_the_hold():
    """A level shift that stays: one alert, then the new level is normal (once it has lasted
    the lasting reference's limit: here 60 s of the channel's time; the default's is hours,
    tests/core/test_lasting_faults.py)."""
    t, v = healthy(8000)
    v[3000:] += 1.5
    f = ModelFactory("default", {"lasting_limit": 60.0})
    e = ChannelEngine("temp", f(0), threshold=f.threshold, hysteresis=f.hysteresis)
    out = e.process(t, v)
    starts = [a.start for _, k, a, _snap in out.events if k == "open"]
    assert len(starts) == 1 and abs(starts[0] - t[3000]) < 1.0
    assert not out.alert[4000:].any()


# --------------------------------------------------------------------------- false positives


def benign_spikes(n: int = 6000) -> tuple[np.ndarray, np.ndarray]:
    """A compressor kicking in every minute: a 10-sigma blip that is part of normal life."""
    t, v = healthy(n)
    v[1500::600] += 1.0
    return t, v


def test_a_false_positive_label_stops_alerts_on_repeats_of_it():
    t, v = benign_spikes()
    v[5800] += 3.0  # a real fault, three times stronger
    e = engine()
    first = e.process(t[:2000], v[:2000])
    (alert,) = number(first)
    assert e.feedback(alert)
    later = opened(e.process(t[2000:], v[2000:]), t)
    assert later == [(580.0, "beyond its range")], "only the stronger one"


def door_then(later: slice, extra: np.ndarray | float) -> tuple[np.ndarray, np.ndarray]:
    """A fridge door (+1 degree for 3 s) at 150 s, labelled later; then something else."""
    t, v = healthy(6000)
    v[1500:1530] += 1.0
    v[later] += extra
    return t, v


def taught_by_the_door(t, v) -> tuple[ChannelEngine, object]:
    e = engine()
    (alert,) = number(e.process(t[:2000], v[:2000]))
    assert e.feedback(alert)
    return e, e.process(t[2000:], v[2000:])


def test_the_same_door_again_is_a_repeat_and_is_not_alerted():
    t, v = door_then(slice(4000, 4030), 1.0)
    e, out = taught_by_the_door(t, v)
    assert opened(out, t) == [] and e.repeats == 1


def test_a_door_left_open_stays_one_alert_until_it_closes_however_the_stream_is_cut():
    """Once announced as longer than the false positive, the alert lasts while the door is
    open, whether the samples come in one batch or a few at a time (as live)."""
    t, v = door_then(slice(4000, 4400), 1.0)
    seen = set()
    for size in (None, 64, 7):
        e = engine()
        (alert,) = number(e.process(t[:2000], v[:2000]))
        assert e.feedback(alert)
        cuts = [2000] if size is None else list(range(2000, len(t), size))
        events = []
        for i, j in zip(cuts, [*cuts[1:], len(t)], strict=True):
            events += [(i + k, kind) for k, kind, _, _ in e.process(t[i:j], v[i:j]).events]
        (start, opened), (end, closed) = events
        assert (opened, closed) == ("open", "close") and end >= 4400, size
        seen.add((start, end))
    assert len(seen) == 1


def test_a_door_left_open_is_announced_when_it_lasts_longer_than_the_labelled_one():
    t, v = door_then(slice(4000, 4400), 1.0)
    e, out = taught_by_the_door(t, v)
    ((start, reason),) = opened(out, t)
    assert 400.0 <= start <= 403.0, "the alert starts where the episode did"
    assert reason.endswith("(longer than false positive #1)")
    (k,) = [k for k, kind, _, _ in out.events if kind == "open"]
    # Announced once it had lasted twice the labelled episode (its closing run included)
    # plus the hysteresis, counted from where it opened.
    opened_at = round(start / DT) - 2000
    assert k - opened_at == 2 * e.memory.patterns[0].length + e.hysteresis


def test_something_bigger_than_the_labelled_one_is_announced_at_once():
    t, v = door_then(slice(4000, 4030), 3.0)
    e, out = taught_by_the_door(t, v)
    ((start, reason),) = opened(out, t)
    assert start == 400.0 and "false positive" not in reason


def test_a_noise_burst_is_not_mistaken_for_the_labelled_door():
    burst = np.random.default_rng(7).normal(0.0, 1.5, 40)
    t, v = door_then(slice(4000, 4040), burst)
    e, out = taught_by_the_door(t, v)
    assert [s for s, _ in opened(out, t)] and abs(opened(out, t)[0][0] - 400.0) < 2.0


def test_a_fridge_warming_slowly_to_the_door_s_level_is_not_taken_for_the_door():
    """The door was a step; a ramp to the same height over 5 s, that then stays, is not."""
    t, v = door_then(slice(4000, 4050), np.linspace(0.02, 1.0, 50))
    v[4050:4300] += 1.0
    e, out = taught_by_the_door(t, v)
    ((start, reason),) = opened(out, t)
    assert 400.0 <= start <= 430.0 and "false positive" not in reason


def test_without_the_label_every_repeat_alerts():
    t, v = benign_spikes()
    e = engine()
    e.process(t[:2000], v[:2000])
    assert len(opened(e.process(t[2000:], v[2000:]), t)) == 7


def test_retracting_the_label_forgets_the_pattern():
    """A channel that holds a setpoint now and then: stuck at that value is fine once labelled,
    and alerts again once the label is undone."""
    t, v = healthy(9000)
    v[2000:2050] = 21.5
    v[4000:4080] = 21.5
    v[7000:7200] = 21.5
    e = engine()
    (alert,) = number(e.process(t[:3000], v[:3000]))
    assert alert.reason == "stuck at 21.5"
    assert e.feedback(alert)
    assert opened(e.process(t[3000:6000], v[3000:6000]), t) == []
    e.retract(alert.id)
    # Flagged at its 10th reading again: the bar the labelled runs raised has long expired.
    assert opened(e.process(t[6000:], v[6000:]), t) == [(700.9, "stuck at 21.5")]


def test_feedback_on_an_unknown_alert_is_refused():
    t, v = healthy(600)
    e = engine()
    e.process(t, v)
    from sensorscope.model import Alert

    assert not e.feedback(Alert(99, "temp", T0, T0, 1.0, 0.0, T0, T0))


# --------------------------------------------------------------------------- fault rules


def test_a_sentinel_value_alerts_with_its_reason_and_is_not_learned():
    t, v = healthy(3000)
    v[2000] = -127.0  # DS18B20: disconnected
    v[2500] = 85.0  # DS18B20: power-on reset value
    out = engine().process(t, v)
    assert opened(out, t) == [
        (200.0, "error value -127"),
        (250.0, "error value 85"),
    ]


def test_a_sentinel_inside_the_channel_s_own_range_is_a_reading():
    """An oven that really reads 80 to 90 degrees: 85.00 is just a temperature."""
    t, v = healthy(3000, level=85.0)
    v = np.round(85.0 + 5.0 * np.sin(np.arange(3000) / 50.0 + 1.0), 1)
    assert (v == 85.0).sum() > 5
    assert not [r for _, r in opened(engine().process(t, v), t) if r.startswith("sentinel")]


def test_sentinels_can_be_turned_off():
    t, v = healthy(3000)
    v[2000] = -127.0
    reasons = [r for _, r in opened(engine(sentinels=()).process(t, v), t)]
    assert reasons and not any(r.startswith("sentinel") for r in reasons)


def test_values_beyond_a_physical_range_alert_from_the_first_sample():
    t, v = healthy(300)
    v[5] = 130.0
    v[200] = -45.0
    out = engine(limits=(-40.0, 125.0)).process(t, v)
    assert opened(out, t) == [
        (0.5, "above max 125"),
        (20.0, "below min -40"),
    ]


def test_a_gap_in_a_replay_is_a_dropout_alert():
    t, v = healthy(2000)
    t[1500:] += 30.0  # the board said nothing for 30 s
    out = engine().process(t, v)
    ((start, reason),) = opened(out, t)
    assert reason == "no data for 30 s (usual 0.1 s)"
    # Late from 1 s on: five usual intervals are 0.5 s, but a silence under a second is not
    # worth an alert however fast the channel.
    assert start == pytest.approx(149.9 + 1.0, abs=0.01)
    assert out.alert[1500] and out.alert.sum() == 1


def test_a_device_that_sends_in_bursts_is_judged_by_its_pauses():
    """Ten lines at once, then a second of silence, over and over: no dropout; a pause five
    times as long is one."""
    k = np.arange(3000)
    t = T0 + (k // 10) * 1.0 + (k % 10) * 0.001
    t[2000:] += 6.0
    v = 21.5 + np.random.default_rng(0).normal(0.0, 0.1, len(t))
    ((start, reason),) = opened(engine().process(t, v), t)
    assert reason.startswith("no data for 7")


def test_dropouts_can_be_turned_off():
    t, v = healthy(2000)
    t[1500:] += 30.0
    assert opened(engine(dropout=0).process(t, v), t) == []


def test_a_live_tick_opens_a_dropout_and_the_next_sample_closes_it():
    t, v = healthy(1000)
    e = engine()
    e.process(t, v)
    assert e.tick(t[-1] + 0.3) == [], "three intervals late is not yet a dropout"
    ((_, kind, alert, _snap),) = e.tick(t[-1] + 2.0)
    assert kind == "open" and alert.end is None
    assert alert.reason == "no data for 2 s (usual 0.1 s)"
    assert e.tick(t[-1] + 3.0) == [], "one alert per dropout"
    out = e.process(np.array([t[-1] + 4.0]), np.array([21.5]))
    closes = [a for _, k, a, _snap in out.events if k == "close"]
    assert closes == [alert] and alert.end == t[-1] + 4.0
    assert alert.reason == "no data for 4 s (usual 0.1 s)"


# --------------------------------------------------------------------------- river detectors


def test_a_river_detector_runs_in_the_same_engine():
    t, v = healthy(1500)
    v[1200] += 5.0
    out = engine("hst", hysteresis=3).process(t, v)
    assert out.score.max() > 0.9
    assert any(abs(a.start - t[1200]) < 0.5 for _, k, a, _snap in out.events if k == "open")


@pytest.mark.parametrize("learn_in_alerts", [False, True])
def test_watching_for_labels_changes_nothing_until_one_matches(learn_in_alerts):
    """The pipeline always asks whether a closing episode was labelled; asking must not change
    the episodes (it makes the engine go back to a checkpoint at every close)."""
    t, v = healthy(8000, seed=5)
    v[2000:2030] += 0.8
    v[3000] += 2.0
    v[4000:4040] = v[3999]
    v[6000:] += 1.5
    plain = engine(learn_in_alerts=learn_in_alerts).process(t, v)
    asked = engine(learn_in_alerts=learn_in_alerts, labelled_false=lambda a: False).process(t, v)
    assert np.array_equal(asked.alert, plain.alert)
    np.testing.assert_allclose(asked.score, plain.score, rtol=0, atol=1e-9)
    key = [(k, kind, a.start, a.end) for k, kind, a, _ in plain.events]
    assert [(k, kind, a.start, a.end) for k, kind, a, _ in asked.events] == key
