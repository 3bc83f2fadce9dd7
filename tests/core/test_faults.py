"""sensorscope.faults: the fault rules and dropouts, run on arrays without any model."""

from __future__ import annotations

import numpy as np

from sensorscope.faults import Dropouts, FaultRules
from sensorscope.model import Reason

T0 = 1_763_884_800.0


def test_values_outside_the_range_get_their_reason_and_an_error_value_its_own():
    rules = FaultRules(limits=(-40.0, 125.0))
    value = np.array([21.5, 21.6, -127.0, 130.0, -50.0, 21.4])
    codes = rules.codes(value, np.ones(len(value), dtype=bool))
    assert codes.tolist() == [0, 0, Reason.SENTINEL, Reason.ABOVE, Reason.BELOW, 0]
    no_limits = FaultRules().codes(value, np.ones(len(value), dtype=bool))
    assert no_limits.tolist() == [0, 0, Reason.SENTINEL, 0, 0, 0]


def test_an_error_value_inside_the_channels_own_readings_is_a_reading():
    rules = FaultRules()
    value = np.array([80.0, 90.0, 85.0])  # 85.00 is DS18B20's power-on value
    assert not rules.codes(value, np.ones(3, dtype=bool)).any()


def test_an_error_value_labelled_a_false_positive_is_not_a_fault():
    value = np.array([21.5, 21.6, -127.0])
    codes = FaultRules().codes(value, np.ones(3, dtype=bool), known={-127.0})
    assert not codes.any()


def test_a_long_silence_is_one_dropout_at_the_sample_after_it_unless_known():
    t = T0 + np.concatenate((np.arange(50) * 0.1, [4.9 + 30.0]))
    value = np.full(len(t), 21.5)
    for known, expected in ((lambda gap: False, 1), (lambda gap: gap < 60.0, 0)):
        gaps = Dropouts("temp", dropout=5.0, known=known)
        alert = np.zeros(len(t), dtype=bool)
        events: list = []
        done = gaps.scan(t, value, alert, events)
        assert len(done) == expected
        assert alert.tolist() == [False] * 50 + [bool(expected)]
        assert [kind for _, kind, _, _ in events] == ["open", "close"] * expected
