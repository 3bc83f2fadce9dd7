"""A much bigger event is announced (issue 13, items 0 and 1): neither an open episode nor
the refractory step after one swallows it; and one fault is still one alert. An alert's
expected band is the one at its peak (item 5)."""

from __future__ import annotations

import numpy as np
import pytest

from sensorscope.escalation import Escalation
from sensorscope.hooks import alert_payload
from sensorscope.model import Alert, Frame, Reason, Settings, band_text
from sensorscope.mqtt import alert_text
from sensorscope.pipeline import Pipeline
from sensorscope.simulate import Board

T0 = 1_763_884_800.0
RATE = 10.0
STATISTICAL = (Reason.HST, Reason.FORECAST, Reason.DAILY, Reason.WEEKLY, Reason.LOCAL)


def run(values: np.ndarray, detector: str = "default") -> tuple[list[Alert], list[tuple]]:
    """The alerts of one channel through the pipeline, and the events the callbacks (alert
    log, hooks, MQTT) were handed: (kind, id, start, reason, expected)."""
    p = Pipeline(Settings(detector=detector), ["dev"])
    seen: list[tuple] = []
    p.on_alert = lambda a, kind: seen.append((kind, a.id, a.start, a.reason, a.expected))
    p.process([Frame(T0 + i / RATE, "dev", f"temp:{v:.3f}") for i, v in enumerate(values)])
    p.finish()
    return list(p.alerts), seen


def noisy(n: int = 3000, seed: int = 1) -> np.ndarray:
    return 21.5 + np.random.default_rng(seed).normal(0.0, 0.1, n)


def at(a: Alert) -> float:
    return round(a.start - T0, 1)


@pytest.mark.parametrize("shift", [0.3, 0.8])
def test_a_spike_far_beyond_an_open_level_shift_is_a_second_alert(shift):
    v = noisy()
    v[1500:] += shift  # a small shift: its episode stays open while the level stays
    v[1700] += 5.0  # 50 noise deviations, 20 s into it
    alerts, seen = run(v)
    assert [at(a) for a in alerts][1:] == [170.0]
    first, spike = alerts
    assert 150.0 <= at(first) < 153.0 and first.end is not None and first.end < spike.start
    assert spike.why == Reason.RANGE and spike.peak_value > 26.0
    # Announced through the one "open" path the alert log, hooks and MQTT read.
    assert [(k, i) for k, i, *_ in seen] == [("open", 1), ("close", 1), ("open", 2), ("close", 2)]


def test_without_it_the_open_episode_swallows_the_spike():
    v = noisy()
    v[1500:] += 0.8
    v[1700] += 5.0
    (alert,) = run(v, "default-escalate")[0]
    assert at(alert) == 150.0 and alert.until - T0 >= 170.0


def test_a_rule_hit_inside_an_episode_a_view_opened_is_announced():
    v = noisy()
    v[1500:] += 0.3  # inside the range: a statistical view opens it
    v[1700] += 5.0  # beyond everything learned
    alerts, _ = run(v)
    assert alerts[0].why in STATISTICAL
    assert [(at(a), a.reason) for a in alerts[1:]] == [(170.0, "beyond its range")]


@pytest.mark.parametrize("gap", [20, 40, 60])
def test_an_earlier_alert_does_not_blind_the_channel_to_a_much_larger_event(gap):
    # Issue 13 item 0: a spike of 40 noise deviations a few seconds after a small one's
    # alert was lowered by the refractory step (or folded into the small one's episode).
    v = noisy()
    v[1500] += 0.8
    v[1500 + gap] += 4.0
    alerts, _ = run(v)
    assert [at(a) for a in alerts] == [150.0, 150.0 + gap / RATE]
    assert alerts[1].peak_value > 25.0
    assert [at(a) for a in run(v, "default-escalate")[0]] == [150.0]


def test_a_second_small_blip_stays_inside_the_gate():
    # Not bigger than the first: the refractory step's one alert per event still holds.
    v = noisy()
    v[1500] += 0.8
    v[1540] += 0.9
    assert [at(a) for a in run(v)[0]] == [150.0]


def _after_small_alert() -> Escalation:
    esc = Escalation(3.0, onset=10)
    esc.start(level=65.8, tolerance=2.3, value=66.8)  # an alert barely off its level
    return esc


def _lowered_high(values: list[float], threshold: float = 0.5) -> tuple[np.ndarray, ...]:
    """Scores of ``values`` as the refractory step leaves them: the last a lowered high."""
    n = len(values)
    s, ev = np.full(n, 0.3), np.full(n, 0.3)
    ev[-1] = 0.6
    return s, ev, np.full(n, int(Reason.FORECAST), dtype=np.int8), np.array(values), threshold


def test_a_high_lowered_after_an_alert_is_announced_when_far_bigger():
    assert _after_small_alert().first_lowered(*_lowered_high([66.0, 65.5, 79.3])) == 2


def test_a_channel_that_moved_on_since_the_alert_is_not_measured_against_it():
    # A recovery: the values ramp far from the alert's level without being highs; a high
    # the refractory step lowers at the top of the ramp is no bigger event than the ramp.
    esc = _after_small_alert()
    ramp = [67.6, 69.7, 71.9, 73.7, 76.4, 77.4]
    esc.take_outside(*_lowered_high(ramp)[:3], np.array(ramp), 0.5)
    assert esc.first_lowered(*_lowered_high([79.3])) is None


def test_highs_lowered_as_the_same_event_grow_its_reach():
    esc = _after_small_alert()
    s, ev, w, v, thr = _lowered_high([66.0, 72.0])  # 2.7 times the alert's reach: lowered
    assert esc.first_lowered(s, ev, w, v, thr) is None
    esc.take_outside(s, ev, w, v, thr)
    assert esc.first_lowered(*_lowered_high([79.3])) is None  # 2.2 times the grown reach
    assert esc.first_lowered(*_lowered_high([66.0, 65.5, 89.0])) == 2


def _per_fault(board: Board, seconds: float) -> tuple[list[tuple[str, int]], int]:
    """How many alerts each fault got (overlapping it or the 2 s after it), and how many
    alerts overlap no fault (the channels' own alerts: the joint view's are not named by
    the channel)."""
    frames = [Frame(T0 + i / RATE, "b", board.line(i)) for i in range(int(seconds * RATE))]
    p = Pipeline(Settings(joint=False), ["b"])
    p.process(frames)
    p.finish()
    faults = board.faults_until(seconds)

    def near(a: Alert, f) -> bool:
        return a.channel == f.channel and a.start <= T0 + f.end + 2.0 and a.until >= T0 + f.start

    per = [(f.kind, sum(near(a, f) for a in p.alerts)) for f in faults if f.kind != "missing"]
    return per, sum(not any(near(a, f) for f in faults) for a in p.alerts)


@pytest.mark.parametrize("severity", [1.0, 0.5])
def test_one_fault_is_one_alert(severity):
    # Noise bursts and drifts grow after they open, and stuck sensors come back: none of it
    # is a new event. Two seeds of 4 channels, a fault every 30 s.
    for seed in range(2):
        board = Board(4, RATE, seed, first_fault=300.0, fault_every=30.0, severity=severity)
        per, false = _per_fault(board, 900.0)
        assert len(per) >= 15 and false == 0
        assert all(n == 1 for kind, n in per if kind != "drift"), per
        assert all(n <= 1 for _kind, n in per), per


def test_a_level_shift_that_lasts_minutes_is_one_alert():
    for seed in range(3):
        board = Board(2, RATE, seed, first_fault=300.0, fault_every=1200.0, faults=("shift",))
        per, false = _per_fault(board, 1080.0)
        assert per == [("shift", 1), ("shift", 1)] or per == [("shift", 1)], per
        assert false == 0


# --------------------------------------------------------------------------- item 5


def _sine_with_steps() -> np.ndarray:
    t = np.arange(4000) / RATE
    rng = np.random.default_rng(1)
    v = 21.5 + 2.0 * np.sin(2 * np.pi * t / 60.0) + rng.normal(0.0, 0.05, len(t))
    v[3000:] += 1.0  # a step inside the range: the forecaster opens, the next sample peaks
    return v


def test_the_expected_band_is_the_one_at_the_peak():
    v = _sine_with_steps()
    (alert,), seen = run(v)
    assert alert.why == Reason.FORECAST and alert.peak_t > alert.start
    opened = next(e for kind, *e in seen if kind == "open")
    at_open = opened[3]
    # What the detector gives as its band when the peak is the latest sample it scored.
    peak = int(round((alert.peak_t - T0) * RATE))
    (cut,), _ = run(v[: peak + 1])
    assert cut.peak_t == alert.peak_t
    assert alert.expected == pytest.approx(cut.expected, abs=1e-9)
    assert alert.expected != pytest.approx(at_open, abs=1e-3)
    # The forecaster followed the step: the peak's band sits higher than the opening's.
    assert alert.expected[0] > at_open[0]
    # What the callbacks were handed as it closed (hooks' JSON, MQTT's text, the alert log
    # and score's summary all read the alert's band) is the peak's.
    closed = next(e for kind, *e in seen if kind == "close")
    assert closed[3] == alert.expected
    body = alert_payload(alert, "close", source="dev")
    assert body["expected"] == list(alert.expected)
    assert band_text(alert.expected) in alert_text(body) and band_text(alert.expected) in (
        alert.explain()
    )
