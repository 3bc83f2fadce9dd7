"""The first minute of a fresh board (issue 13, item 0).

A board with a rhythm slower than the warm-up (a compressor's 20-s cycle at 50 Hz) shows only
part of its range in the first seconds. A range rule that trusted that part raised
`beyond its range` 5-10 s in, on a board with no fault yet, and such a false alert lowered
the score of a real spike seconds later. The range is trusted once it has been seen whole.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from sensorscope.detect.rules import RangeRule
from sensorscope.model import Frame, Settings
from sensorscope.pipeline import Pipeline
from sensorscope.simulate import Board

T0 = 1_763_884_800.0
RATE = 50.0


def run_board(board: Board, seconds: float) -> list:
    frames = [Frame(T0 + i / RATE, "b", board.line(i)) for i in range(int(seconds * RATE))]
    pipeline = Pipeline(Settings(), ["b"])
    pipeline.process(frames)
    return pipeline.snapshot().alerts


@pytest.mark.parametrize("seed", range(6))
def test_a_fresh_board_with_a_slow_rhythm_cries_no_wolf_and_its_faults_are_caught(seed):
    board = Board(channels=4, rate=RATE, seed=seed, rhythm=20.0, first_fault=40.0,
                  fault_every=20.0, faults=("spike", "stuck", "noise"))  # fmt: skip
    alerts = run_board(board, 120.0)
    early = [(a.channel, a.start - T0, a.reason) for a in alerts if a.start - T0 < 40.0]
    assert early == [], "no alert before the board's first fault"
    for fault in board.faults_until(120.0):
        assert any(
            a.channel == fault.channel
            and a.start - T0 <= fault.end + 1.0
            and a.until - T0 >= fault.start
            for a in alerts
        ), f"the {fault.kind} on {fault.channel} at {fault.start:.1f} s is alerted"


def test_the_range_is_trusted_once_the_rhythm_has_been_seen_through():
    t = np.arange(int(120 * RATE)) / RATE
    x = 21.5 + 3.0 * np.sin(2 * math.pi * t / 20.0) + 0.05 * np.random.default_rng(0).normal(
        size=len(t))  # fmt: skip
    x[int(90 * RATE)] = 40.0  # far beyond the whole cycle
    rule = RangeRule(warmup=250, delay=10)
    fired = np.concatenate(
        [rule.run(x[a : a + 64], np.ones(len(x[a : a + 64]), bool)) for a in range(0, len(x), 64)]
    )
    assert np.flatnonzero(fired).tolist() == [int(90 * RATE)]


def test_a_range_that_settles_at_once_is_trusted_at_the_end_of_the_warm_up():
    x = np.random.default_rng(1).normal(size=2000)
    x[300] = 40.0
    fired = RangeRule(warmup=250).run(x, np.ones(len(x), bool))
    assert np.flatnonzero(fired).tolist() == [300]


def test_a_rhythm_is_a_board_option_that_changes_nothing_without_it():
    classic = Board(channels=2, rate=10.0, seed=3)
    none = Board(channels=2, rate=10.0, seed=3, rhythm=None)
    slow = Board(channels=2, rate=10.0, seed=3, rhythm=20.0)
    assert [classic.line(i) for i in range(300)] == [none.line(i) for i in range(300)]
    assert [classic.line(i) for i in range(300)] != [slow.line(i) for i in range(300)]
    with pytest.raises(ValueError, match="rhythm"):
        Board(rhythm=0.0)


def test_a_channel_says_warming_up_until_its_range_is_known():
    # Past the warm-up's samples, but the 20-s rhythm not yet seen through: the range rule
    # is silent, and the channel's state says so.
    board = Board(channels=1, rate=RATE, seed=0, rhythm=20.0, faults=())
    frames = [Frame(T0 + i / RATE, "b", board.line(i)) for i in range(int(60 * RATE))]
    pipeline = Pipeline(Settings(), ["b"])
    states = []
    for a in range(0, len(frames), 25):
        pipeline.process(frames[a : a + 25])
        states.append(pipeline.snapshot().channels["temp"].warming_up)
    engine = pipeline.registry.engines["temp"]
    warm = states.index(False)
    assert warm * 25 > 2 * Settings().warmup, "past the warm-up's samples, still warming up"
    assert engine.model.range.armed and not any(states[warm:])
