"""The span proposed for a missed anomaly is the stretch a person would point at."""

from __future__ import annotations

import numpy as np

from sensorscope.labels import new_label
from sensorscope.model import Alert
from sensorscope.spans import covered_spans, edge_step, move_edge, propose_span

T0 = 1_763_884_800.0


def window(n: int = 2500) -> tuple[np.ndarray, np.ndarray]:
    """A 10 Hz window of quiet scores with a raised stretch at 100..103 s and a higher,
    shorter one at 200 s."""
    t = T0 + np.arange(n) / 10
    rng = np.random.default_rng(1)
    s = 0.05 + 0.02 * rng.random(n)
    s[1000:1030] = 0.35
    s[2000:2005] = 0.5
    return t, s


def test_the_span_is_the_raised_stretch_around_the_highest_score():
    t, s = window()
    assert propose_span(t, s) == (2000, 2004)


def test_a_stretch_an_alert_or_label_covers_is_not_proposed_again():
    t, s = window()

    alert = Alert(1, "temp", T0 + 199.9, None, 0.9, 30.0, T0 + 200.0, T0 + 200.6)
    covered = covered_spans("temp", [alert], [])
    assert propose_span(t, s, covered) == (1000, 1029)
    labels = [new_label("temp", T0 + 99, T0 + 104)]
    covered += covered_spans("temp", [], labels)
    assert covered_spans("hum", [alert], labels) == []
    lo, hi = propose_span(t, s, covered)
    # Nothing stands out any more: the end of the window, a tenth of it.
    assert (lo, hi) == (2250, 2499)


def test_a_long_raised_stretch_is_cut_to_a_quarter_of_the_window():
    t = T0 + np.arange(1000.0)
    s = np.full(1000, 0.1)
    s[100:450] = 0.4
    s[300] = 0.6
    lo, hi = propose_span(t, s)
    assert 100 <= lo <= 300 <= hi < 450 and hi - lo + 1 == 250


def test_edges_move_by_a_hundredth_of_the_window_and_stay_in_order():
    n = 2500
    span = (1000, 1030)
    assert move_edge(span, "start", -edge_step(n), n) == (975, 1030)
    assert move_edge(span, "end", edge_step(n, big=True), n) == (1000, 1280)
    assert move_edge(span, "end", -edge_step(n, big=True), n) == (1000, 1000)


def test_the_tail_of_an_alerted_episode_is_not_proposed():
    t, s = window()
    s[1030:1040] = 0.6  # the score stays high for a second after the alert
    covered = [(T0 + 100, T0 + 102.9)]
    assert propose_span(t, s, covered) == (2000, 2004)
