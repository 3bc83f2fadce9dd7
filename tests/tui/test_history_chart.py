"""The detail chart over a channel's whole history: zoom, pan, pause, cursor, time axis.

A real Monitor replays a board recording longer than the full-resolution ring (a spike
early on, long gone from the ring by the end), or reads a live board on a pseudo-terminal;
the keys are pressed with Textual's Pilot and what the chart drew is read back from it.
"""

from __future__ import annotations

import numpy as np
import pytest
from textual import events
from tui_support import replay_ended, wait_for

from sensorscope.model import DEFAULT_CAPACITY
from sensorscope.simulate import Board, write_board_recording
from sensorscope.tui.app import make_app
from sensorscope.tui.chart_view import TimeAxis
from sensorscope.tui.timefmt import fmt_value, local_clock, utc_clock

T0 = 1_763_884_800.0
SIZE = (100, 40)
RATE = 50
SECONDS = 150  # 7500 samples: the ring's 4096 hold the last 82 s
SPIKE_AT = 20.0


@pytest.fixture(scope="module")
def long_rec(tmp_path_factory):
    path = tmp_path_factory.mktemp("long") / "long.jsonl"
    board = Board(channels=1, rate=RATE, seed=1, fault_every=1000, first_fault=SPIKE_AT,
                  faults=("spike",))  # fmt: skip
    write_board_recording(str(path), board, SECONDS, T0)
    return path


@pytest.fixture
def long_replay(monitors, long_rec, tmp_path):
    return monitors([long_rec], labels=str(tmp_path / "labels.jsonl"))


def replay_done(app) -> bool:
    shown = app.detail.shown
    return replay_ended(app) and shown is not None and shown.held.samples == SECONDS * RATE


def title(app) -> str:
    return str(app.detail.query_one("#chart-title").render())


def axis(app) -> str:
    return str(app.detail.query_one("#chart-axis").render())


async def press(pilot, *keys: str) -> None:
    for key in keys:
        await pilot.press(key)
        await pilot.pause(0.05)


async def test_zooming_out_shows_a_spike_from_long_ago_with_its_alert(long_replay):
    assert SECONDS * RATE > DEFAULT_CAPACITY  # the spike is older than the ring
    app = make_app(long_replay)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: replay_done(app), what="the replay")
        alert = next(a for a in app.snapshot.alerts if a.channel == "temp")
        assert alert.start < T0 + SPIKE_AT + 2
        # At first: the ring's samples, the spike long gone from them.
        start, end = app.detail.span
        assert alert.until < start and start == app.snapshot.channels["temp"].history.t[0]
        assert not app.detail.shown.alert.any()
        assert "held 2m30s" in title(app)
        await press(pilot, "Z", "Z")
        assert app.detail.view.span == float("inf") and "all" in title(app)
        w = app.detail.shown
        assert app.detail.span == (T0, end) and len(w) <= app.detail.points()
        # The spike is there, in red, as far as it went, however many samples a point is.
        hot = w.alert
        assert hot.any() and w.t[hot][0] >= alert.start
        peak = alert.peak_value
        ring = app.snapshot.channels["temp"].history.value
        assert not np.nanmin(ring) <= peak <= np.nanmax(ring)  # beyond all the ring holds
        assert np.nanmin(w.alo[hot]) <= peak <= np.nanmax(w.ahi[hot])
        assert np.nanmin(w.lo) <= peak <= np.nanmax(w.hi)
        # And back in, to the newest samples, one point each (1m, 30s, 10s, 5s, 2s).
        await press(pilot, "z", "z", "z", "z", "z", "z")
        assert app.detail.shown.per_point == 1.0 and "last 2.0s" in title(app)


async def test_the_mouse_wheel_zooms_the_chart(long_replay):
    app = make_app(long_replay)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: replay_done(app), what="the replay")
        width = app.detail.span[1] - app.detail.span[0]
        chart = app.detail
        chart.post_message(events.MouseScrollUp(chart, 5, 5, 0, -1, 0, False, False, False))
        await wait_for(pilot, lambda: app.detail.span[1] - app.detail.span[0] < width)
        assert "last 1m00s" in title(app)
        chart.post_message(events.MouseScrollDown(chart, 5, 5, 0, 1, 0, False, False, False))
        await wait_for(pilot, lambda: "last 2m00s" in title(app), what="zoomed out")


async def test_panning_moves_the_window_back_and_forward_onto_the_data_again(long_replay):
    app = make_app(long_replay)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: replay_done(app), what="the replay")
        await press(pilot, "z")  # one minute
        start, end = app.detail.span
        assert app.detail.view.live and end == pytest.approx(T0 + SECONDS - 1 / RATE)
        await press(pilot, "comma")
        s2, e2 = app.detail.span
        assert e2 == pytest.approx(end - 30) and e2 - s2 == pytest.approx(60)
        assert not app.detail.view.live
        assert f"{utc_clock(s2)}–{utc_clock(e2)} UTC" in title(app)
        assert app.detail.shown.t[-1] <= e2 + 1 / RATE
        await press(pilot, "comma", "comma", "comma", "comma")  # not past the first sample
        assert app.detail.span == pytest.approx((T0, T0 + 60))
        await press(pilot, "full_stop")
        assert app.detail.span[1] == pytest.approx(T0 + 90)
        await press(pilot, "g")
        assert app.detail.view.live and app.detail.span[1] == pytest.approx(end)
        assert "last 1m00s" in title(app)
        await press(pilot, "comma", "full_stop", "full_stop")  # forward onto the newest
        assert app.detail.view.live


async def test_the_cursor_reads_the_value_score_and_alert_under_it(long_replay):
    app = make_app(long_replay)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: replay_done(app), what="the replay")
        line = app.detail.query_one("#chart-cursor")
        assert not line.display
        await press(pilot, "z", "z", "z", "z", "z")  # 2 s: every sample a point
        assert app.detail.shown.per_point == 1.0
        await press(pilot, "c")
        assert line.display
        at = app.detail.view.cursor
        h = app.snapshot.channels["temp"].history
        i = int(np.argmin(np.abs(h.t - at)))
        text = app.detail.cursor_text
        assert text.startswith(utc_clock(at)) and fmt_value(float(h.value[i])) in text
        assert f"score {h.score[i]:.2f}" in text
        await press(pilot, "comma")  # with the cursor on, the cursor moves, not the window
        assert app.detail.view.cursor < at and app.detail.view.live
        assert app.detail.cursor_text != text
        # Onto the spike, zoomed out: the reading names its alert and gives the range.
        alert = next(a for a in app.snapshot.alerts if a.channel == "temp")
        await press(pilot, "Z", "Z", "Z", "Z", "Z")
        app.detail.view.cursor = alert.start
        app._chart_moved()
        await pilot.pause()
        assert f"alert #{alert.id}" in app.detail.cursor_text
        assert "[" in app.detail.cursor_text  # a bucket: its min…max
        await press(pilot, "c")
        assert not line.display and app.detail.cursor_text == ""


async def test_t_switches_the_time_axis_between_time_before_now_the_clock_and_local(long_replay):
    app = make_app(long_replay)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: replay_done(app), what="the replay")
        assert app.detail.view.axis is TimeAxis.RELATIVE
        assert axis(app).rstrip().endswith("now") and "-1m" in axis(app)
        await press(pilot, "t")
        end = app.detail.span[1]
        assert app.detail.view.axis is TimeAxis.CLOCK
        assert axis(app).rstrip().endswith(utc_clock(end)) and "now" not in axis(app)
        assert ("information", "time axis: clock") in app.notices
        await press(pilot, "t")  # the lab's own hours: this machine's time zone
        assert app.detail.view.axis is TimeAxis.LOCAL
        assert axis(app).rstrip().endswith(local_clock(end))
        assert ("information", "time axis: local") in app.notices
        await press(pilot, "t")
        assert app.detail.view.axis is TimeAxis.RELATIVE and axis(app).rstrip().endswith("now")


def test_the_local_axis_reads_the_machines_time_zone(monkeypatch):
    import time

    from sensorscope.tui.widgets.detail_chart import time_axis

    monkeypatch.setenv("TZ", "Asia/Kolkata")  # UTC+5:30, no summer time
    time.tzset()
    try:
        at = 1763884800.0  # 08:00:00 UTC
        assert time_axis((at, at + 60), at + 60, 40, TimeAxis.LOCAL).plain.split() == [
            "13:30:00", "13:30:30", "13:31:00"
        ]  # fmt: skip
    finally:
        monkeypatch.undo()
        time.tzset()


# --------------------------------------------------------------------------- live


async def test_a_paused_display_scrolls_back_while_samples_keep_arriving(
    monitors, live_board, tmp_path
):
    m = monitors([live_board.port], labels=str(tmp_path / "l.jsonl"))
    app = make_app(m)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(
            pilot,
            lambda: app.detail.shown is not None and app.detail.shown.held.span > 8,
            what="8 s of data",
        )
        await press(pilot, "space")
        assert app.live_paused
        frozen = app.detail.shown
        await wait_for(pilot, lambda: "+0 samples" not in app.status_bar.plain, what="samples")
        assert "PAUSED +" in app.status_bar.plain
        await pilot.pause(0.3)
        # The chart stays where it was, though the data goes on.
        assert app.detail.shown.end == frozen.end
        assert m.snapshot().data_t > frozen.end
        await press(pilot, "z", "z", "comma")  # 5 s, 2 s; 1 s back
        back = app.detail.shown
        assert back.end < frozen.end and not app.detail.view.live
        # Read from the history as it is now, grown behind the frozen display.
        assert back.held.samples > frozen.held.samples
        await press(pilot, "space")
        assert not app.live_paused and app.detail.span[1] < frozen.end  # still scrolled back
        await press(pilot, "g")
        await wait_for(pilot, lambda: app.detail.span[1] > frozen.end, what="live again")


async def test_a_pause_that_did_not_scroll_follows_the_data_again_on_resume(
    monitors, live_board, tmp_path
):
    m = monitors([live_board.port], labels=str(tmp_path / "l.jsonl"))
    app = make_app(m)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.detail.shown is not None and len(app.detail.shown) > 50)
        await press(pilot, "space")
        frozen = app.detail.shown.end
        await pilot.pause(0.3)
        await press(pilot, "space")
        assert app.detail.view.live
        await wait_for(pilot, lambda: app.detail.span[1] > frozen, what="the chart to follow")
