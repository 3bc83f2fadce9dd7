"""One alert per event, but never blind: with ``refractory_announced`` (the variant
"try:refractory-announced"; not the default: it cost the leave-one-category-out figure
6 points) the refractory step counts from the last alert it announced, so a later event is
announced even when the first one's tail kept scoring high."""

from __future__ import annotations

import numpy as np
import pytest

import sensorscope.detect.default as default
from sensorscope.detect.base import CalibratedView
from sensorscope.detect.config import DEFAULT
from sensorscope.model import Reason


class Above:
    """A view whose score is 1 past a level and 0 below it: the test sets the highs."""

    reason = Reason.FORECAST
    part = "forecast"
    warming_up = False

    def run(self, values, t, learn):
        return (values > 30.0).astype(float)

    def likelihood_input(self, raw):
        return raw

    def learn_late(self, values):
        pass

    def expected(self, t):
        return None

    def checkpoint(self):
        return None

    def restore(self, state):
        pass


@pytest.fixture
def scorer_with_highs(monkeypatch):
    monkeypatch.setattr(default, "VIEWS", (lambda cfg: [CalibratedView(Above(), None)],))

    def make(**changes):
        cfg = DEFAULT.with_(range_rule=False, stuck_rule=False, count_transform="none", **changes)
        return default.ChannelScorer(cfg)

    return make


# An event at 1000, its tail high again at 1060, a second event at 1120 (120 after the first
# announced one, but only 60 after the lowered tail), a third at 1300.
HIGHS = (1000, 1060, 1120, 1300)


def scores(scorer) -> np.ndarray:
    v = 21.5 + 0.01 * (np.arange(1600) % 7)
    v[list(HIGHS)] = 40.0
    return scorer.score_many(v, 60.0 * np.arange(1600)).score


def test_a_second_event_after_the_gate_is_announced_though_the_tail_scored_high(
    scorer_with_highs,
):
    s = scores(scorer_with_highs(refractory_announced=True))
    announced = [k for k in HIGHS if s[k] >= 0.55]
    assert announced == [1000, 1120, 1300]


def test_counting_from_every_high_blinds_the_second_event(scorer_with_highs):
    # The default: the lowered tail at 1060 restarted the gate, and 1120 was lost.
    s = scores(scorer_with_highs())
    assert [k for k in HIGHS if s[k] >= 0.55] == [1000, 1300]
