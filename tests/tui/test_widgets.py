"""The widgets on their own: follow mode, NaN tolerance, sparklines, status and states."""

from __future__ import annotations

import numpy as np
from textual.app import App, ComposeResult

from sensorscope.history import window_of
from sensorscope.model import (
    Alert,
    ChannelSnapshot,
    Counters,
    History,
    Label,
    LabelKind,
    RawLine,
    ReplayState,
    Snapshot,
    SourceStatus,
)
from sensorscope.tui.widgets.alert_log import AlertLog
from sensorscope.tui.widgets.channel_table import STALE_MIN, channel_state, score_cell
from sensorscope.tui.widgets.detail_chart import DetailChart
from sensorscope.tui.widgets.raw_lines import raw_line_text
from sensorscope.tui.widgets.sparkline import spark_text
from sensorscope.tui.widgets.status_bar import StatusView, status_lines

T0 = 1_763_884_800.0


def alerts(n: int, t0: float = T0) -> list[Alert]:
    return [
        Alert(i, "temp", t0 + 10 * i, t0 + 10 * i + 1, 0.99, 21.0, t0 + 10 * i, t0 + 10 * i + 1)
        for i in range(1, n + 1)
    ]


def channel(values, *, imputed=None, name="temp") -> ChannelSnapshot:
    v = np.asarray(values, dtype=float)
    n = len(v)
    ch = ChannelSnapshot(
        name=name,
        samples=n,
        imputed=0,
        alerts=0,
        first_t=T0,
        last_t=T0 + (n - 1) * 0.1,
        last_value=None,
        last_score=0.5,
        threshold=0.98,
        in_alert=False,
        warming_up=False,
        interval=0.1,
        rx_t=T0 + (n - 1) * 0.1,
        history=History(
            t=T0 + 0.1 * np.arange(n),
            value=v,
            score=np.linspace(0, 1, n),
            imputed=np.zeros(n, bool) if imputed is None else np.asarray(imputed),
            alert=np.zeros(n, bool),
        ),
    )
    ch.view = window_of(ch.history, 4096)  # the chart's window: every sample, as the store's
    return ch


class Host(App):
    def __init__(self, widget) -> None:
        super().__init__()
        self.widget = widget

    def compose(self) -> ComposeResult:
        yield self.widget


# --------------------------------------------------------------------------- alert log


async def test_the_alert_log_follows_the_newest_alert_until_the_user_moves():
    log = AlertLog()
    app = Host(log)
    async with app.run_test(size=(100, 20)) as pilot:
        log.focus()
        log.update_alerts(alerts(2))
        assert log.highlighted_alert().id == 2 and log.following
        log.update_alerts(alerts(3))
        assert log.highlighted_alert().id == 3  # followed the new one
        await pilot.press("down")
        assert log.highlighted_alert().id == 2 and not log.following
        log.update_alerts(alerts(6))  # three more arrive above
        assert log.highlighted_alert().id == 2
        assert log.cursor_row == 4  # the row moved down with its alert
        await pilot.press("up", "up", "up")
        assert log.highlighted_alert().id == 5 and not log.following
        await pilot.press("up")  # back on top: follow again
        assert log.following
        log.update_alerts(alerts(7))
        assert log.highlighted_alert().id == 7


async def test_the_alert_log_starts_over_when_a_replay_restarts():
    log = AlertLog()
    app = Host(log)
    async with app.run_test(size=(100, 20)):
        log.update_alerts(alerts(4))
        log.update_alerts(alerts(1, t0=T0 + 1000))  # id 1 again, another episode
        assert log.row_count == 1
        assert log.highlighted_alert().start == T0 + 1010


class LabelHost(Host):
    def __init__(self, widget) -> None:
        super().__init__(widget)
        self.requests: list[AlertLog.LabelRequested] = []

    def on_alert_log_label_requested(self, message: AlertLog.LabelRequested) -> None:
        self.requests.append(message)


async def test_the_alert_log_keeps_the_newest_rows_without_starting_over(monkeypatch):
    monkeypatch.setattr("sensorscope.tui.widgets.alert_log.MAX_ROWS", 5)
    log = AlertLog()
    app = Host(log)
    async with app.run_test(size=(100, 20)) as pilot:
        log.focus()
        log.update_alerts(alerts(5))
        await pilot.press("down", "down")  # on #3
        log.update_alerts(alerts(7))  # #1 and #2 leave the log
        assert sorted(int(row.key.value) for row in log.ordered_rows) == [3, 4, 5, 6, 7]
        assert log.highlighted_alert().id == 3 and not log.following


async def test_a_label_request_carries_the_alert_shown_at_the_key_press():
    log = AlertLog()
    app = LabelHost(log)
    seen = app.requests
    async with app.run_test(size=(100, 20)) as pilot:
        log.update_alerts(alerts(2))
        assert log.request_label("anomaly")
        log.update_alerts(alerts(3))  # arrives right after the key press
        await pilot.pause()
        assert [(m.alert_id, m.kind) for m in seen] == [(2, "anomaly")]


# --------------------------------------------------------------------------- detail chart


async def test_the_chart_draws_nan_and_imputed_values_and_redraws_only_on_change():
    chart = DetailChart()
    app = Host(chart)
    values = [20.0, np.nan, 21.0, np.nan, 30.0, 21.0] * 50
    imputed = [False, False, False, True, False, False] * 50
    ch = channel(values, imputed=imputed)
    async with app.run_test(size=(80, 20)) as pilot:
        assert chart.show(ch, alerts(2), [], force=True)
        await pilot.pause()
        assert chart.span == (T0, T0 + 29.9)
        assert not chart.show(ch, alerts(2), [])  # same data: nothing to do
        label = Label("x", "temp", T0 + 5, T0 + 9, LabelKind.ANOMALY)
        assert chart.show(ch, alerts(2), [label], force=True)
        assert chart.show(channel([np.nan] * 10), [], [], force=True)
        assert chart.show(None, [], [], force=True)
        ch.threshold = 0.0  # a threshold at the axis' own tick
        assert chart.show(ch, [], [], force=True)
        await pilot.pause()
        assert chart.redraws == 5


# --------------------------------------------------------------------------- helpers


def test_a_one_sample_spike_survives_the_sparkline():
    values = np.full(1000, 5.0)
    values[517] = 9.0
    values[800] = 1.0
    spark = spark_text(values, 20)
    assert spark.count("█") == 1 and spark.count("▁") == 1


def test_a_sparkline_tolerates_nan_and_short_histories():
    assert spark_text(np.array([np.nan] * 50), 10) == " " * 10
    assert len(spark_text(np.array([1.0, np.nan, 2.0]), 10)) == 10


def test_a_score_above_the_threshold_is_marked_in_words_not_only_colour():
    assert score_cell(0.991, 0.98, False).plain == "0.991!"
    assert score_cell(0.5, 0.98, False).plain == "0.500 "


def test_a_channel_silent_for_many_intervals_is_stale():
    ch = channel([1.0] * 20)
    assert channel_state(ch, ch.last_t + 0.5) == "ok"
    assert channel_state(ch, ch.last_t + 5) == "stale"
    ch.in_alert = True
    assert channel_state(ch, ch.last_t) == "ANOMALOUS"


def snapshot(sources) -> Snapshot:
    return Snapshot(
        version=1,
        counters=Counters(parse_errors=3, garbage=2),
        channels={},
        alerts=[],
        raw_lines=[],
        all_lines=[],
        sources={s.name: s for s in sources},
        errors=[],
        done=False,
        lines_per_s=51.0,
    )


def test_the_status_line_shows_a_failing_source_beside_the_working_one():
    snap = snapshot(
        [
            SourceStatus("ttyUSB0", "serial", state="reconnecting", detail="device unplugged"),
            SourceStatus("ttyUSB1", "serial", state="connected"),
        ]
    )
    first, second = status_lines(snap, StatusView("lab.labels.jsonl"), 100)
    assert first.plain == "ttyUSB0: reconnecting (device unplugged) · ttyUSB1: connected"
    assert second.plain == ("51 lines/s · 3 parse errors · 2 garbage · labels: lab.labels.jsonl")


def test_the_status_line_shows_the_replay_and_the_pause_in_80_columns():
    snap = snapshot([SourceStatus("sim", "recording", state="connected")])
    snap.replay = ReplayState(position=0.42, t=T0 + 61, speed=4, paused=False, done=False)
    first, _ = status_lines(snap, StatusView("x"), 80)
    assert first.plain == "sim: replaying · replay 42% 2025-11-23 08:01:01 UTC 4x"
    view = StatusView("/a/very/long/path/to/the/labels/of/last/night.labels.jsonl")
    view.paused_live, view.alerts_since_pause = True, 2
    first, second = status_lines(snap, view, 80)
    assert first.plain.startswith(" PAUSED +2 alerts ")
    assert len(second.plain) <= 80 and second.plain.endswith("night.labels.jsonl")


def test_raw_lines_cannot_send_escape_codes_to_the_terminal():
    assert "\x1b" not in raw_line_text(RawLine(T0, "sim", "\x1b[2J\x1b[31mred", "text"))


def test_a_live_board_that_falls_silent_turns_stale_on_the_wall_clock(tmp_path):
    import os
    import time
    import tty

    from sensorscope.model import Settings
    from sensorscope.monitor import build_monitor

    master, slave = os.openpty()
    tty.setraw(slave)
    m = build_monitor([os.ttyname(slave)], Settings(), labels=str(tmp_path / "l.jsonl"))
    try:
        m.start()
        time.sleep(0.3)
        for i in range(40):
            os.write(master, f"temp:{20 + i % 3}\r\n".encode())
            time.sleep(0.02)
        time.sleep(0.3)
        ch = m.snapshot().channels["temp"]
        assert channel_state(ch, m.snapshot().clock) != "stale"
        # Every channel silent: data time stops, the wall clock does not.
        deadline = time.monotonic() + STALE_MIN + 5
        while channel_state(m.snapshot().channels["temp"], m.snapshot().clock) != "stale":
            assert time.monotonic() < deadline, "never turned stale"
            time.sleep(0.1)
    finally:
        m.stop()
        os.close(master)
        os.close(slave)
