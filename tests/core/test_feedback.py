"""sensorscope.feedback: what a false-positive label teaches a channel's memory."""

from __future__ import annotations

import numpy as np

from sensorscope.feedback import FalsePositiveMemory, Record
from sensorscope.model import Alert, Reason


def stuck_alert(alert_id: int = 7) -> Alert:
    return Alert(alert_id, "temp", 10.0, 20.0, 1.0, 21.5, 10.0, 20.0, reason="stuck at 21.5")


def test_a_labelled_stuck_value_is_not_raised_again_but_another_value_is():
    memory = FalsePositiveMemory()
    alert = stuck_alert()
    memory.keep(alert, np.full(5, 21.5), Record(Reason.STUCK, 21.5, 21.5, 5, 0.0))
    assert memory.learn(alert, None, late_after=1.0, model=None)
    s = np.array([1.0, 1.0])
    w = np.array([Reason.STUCK, Reason.STUCK], dtype=np.int8)
    memory.suppress(s, w, np.array([21.5, 30.0]), threshold=0.5)
    assert s.tolist() == [0.3, 1.0]
    assert w.tolist() == [Reason.NONE, Reason.STUCK]


def test_a_label_on_an_episode_the_channel_never_had_teaches_nothing():
    memory = FalsePositiveMemory()
    assert not memory.learn(stuck_alert(), None, late_after=1.0, model=None)
    assert not memory.patterns and memory.feedback_count == 0


def test_a_retracted_label_is_forgotten():
    memory = FalsePositiveMemory()
    alert = stuck_alert()
    memory.keep(alert, np.full(5, 21.5), Record(Reason.STUCK, 21.5, 21.5, 5, 0.0))
    memory.learn(alert, None, late_after=1.0, model=None)
    memory.retract(alert.id)
    assert not memory.patterns
