"""The chart's window arithmetic on real windows of a real history store (no widgets)."""

from __future__ import annotations

import math

import numpy as np

from sensorscope.history import ALERT, HistoryStore
from sensorscope.model import Alert, ViewRequest
from sensorscope.state import Ring
from sensorscope.tui.chart_view import ChartView, cursor_reading

T0 = 1_763_884_800.0


def history(seconds: int = 3600, rate: int = 10) -> HistoryStore:
    hist = HistoryStore(Ring(4096))
    t = T0 + np.arange(seconds * rate) / rate
    v = np.sin(np.arange(len(t)) / 100.0)
    flags = np.zeros(len(t), dtype=np.uint8)
    v[1000] = 9.0  # at 100 s: an alerted spike
    flags[1000] = ALERT
    hist.extend(t, v, np.zeros(len(t)), flags)
    return hist


def shown(hist: HistoryStore, view: ChartView):
    return hist.window(view.request(120))


def test_zoom_steps_out_to_everything_and_back_in():
    hist, view = history(), ChartView()
    w = shown(hist, view)
    assert math.isclose(w.end - w.start, 409.5)  # the ring's 4096 samples
    spans = []
    for _ in range(4):
        view.zoom(w, +1)
        w = shown(hist, view)
        spans.append(view.span)
    assert spans == [600.0, 1800.0, math.inf, math.inf]  # past 1 h held: all of it
    assert w.start == T0 and view.describe(w).startswith("all  held 60m00s")
    view.zoom(w, -1)
    assert view.span == 1800.0


def test_pan_goes_back_half_a_window_stops_at_the_start_and_follows_again_at_the_end():
    hist, view = history(), ChartView(span=600.0)
    w = shown(hist, view)
    view.pan(w, -1)
    w = shown(hist, view)
    assert math.isclose(w.end, hist.last_t - 300) and not view.live
    assert "UTC (10m00s)" in view.describe(w)
    for _ in range(20):
        view.pan(shown(hist, view), -1)
    assert view.end == T0 + 600
    for _ in range(20):
        view.pan(shown(hist, view), +1)
    assert view.live


def test_a_frozen_view_stays_put_while_the_history_grows():
    hist, view = history(600), ChartView(span=60.0)
    end = shown(hist, view).end
    view.freeze(end)
    hist.extend(np.array([T0 + 700.0]), np.array([1.0]), np.zeros(1), np.zeros(1, np.uint8))
    w = shown(hist, view)
    assert w.end == end and w.held.last_t == T0 + 700.0


def test_the_cursor_moves_in_steps_and_takes_the_window_along_past_its_edge():
    hist, view = history(), ChartView(span=60.0)
    w = shown(hist, view)
    assert view.toggle_cursor(w)
    at = view.cursor
    view.pan(w, -1)
    assert math.isclose(view.cursor, at - 60 / 40) and view.live  # within the window
    for _ in range(60):
        view.pan(shown(hist, view), -1)
    w = shown(hist, view)
    assert not view.live and w.start <= view.cursor <= w.end
    view.go_live(w)
    assert view.live and view.cursor == hist.last_t


def test_the_cursor_reading_on_a_bucket_names_its_range_and_its_alert():
    hist = history()
    w = hist.window(ViewRequest(span=3600.0, points=60))
    alert = Alert(
        id=4,
        channel="temp",
        start=T0 + 100.0,
        end=T0 + 100.1,
        peak_score=1.0,
        peak_value=9.0,
        peak_t=T0 + 100.0,
        last_above=T0 + 100.1,
        label="anomaly",
    )
    text = cursor_reading(w, T0 + 100.05, [alert], [])
    assert text.startswith("08:01:40.050 -58m20s")
    assert "…9.00]" in text and "alert #4 anomaly" in text
    assert "alert" not in cursor_reading(w, T0 + 1000, [alert], [])
