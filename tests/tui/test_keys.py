"""Every key of the monitor, driven with Textual's Pilot against a real Monitor.

Replays run the board recording of ``conftest.board_rec`` (alert #1 on pressure, #2 and
#3 on temp); live tests read a simulated board on a pseudo-terminal.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from textual.widgets import Input
from tui_support import replay_shown, wait_for

from sensorscope.simulate import Board, write_board_recording
from sensorscope.tui.app import make_app
from sensorscope.tui.keys import KEYS
from sensorscope.tui.screens.help import HelpScreen
from sensorscope.tui.screens.missed_dialog import MissedDialog
from sensorscope.tui.timefmt import fmt_value, utc_stamp

T0 = 1_763_884_800.0
SIZE = (100, 40)


def cell(table, row: str, column: str) -> str:
    return table.get_cell(row, column).plain


def records(path) -> list[dict]:
    p = Path(path)
    if not p.exists():
        return []
    return [json.loads(line) for line in p.read_text().splitlines() if line.strip()]


def replay_t(app) -> float:
    return app.monitor.snapshot(points=1).replay.t or 0.0


# --------------------------------------------------------------------------- the table


async def test_the_table_has_one_row_per_channel_with_value_sparkline_and_state(replay):
    app = make_app(replay)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: replay_shown(app), what="the replay")
        table = app.channel_table
        snap = app.snapshot
        assert table.names() == ["hum", "pressure", "temp"]
        temp = snap.channels["temp"]
        assert cell(table, "temp", "value") == fmt_value(temp.last_value)
        assert cell(table, "temp", "alerts") == "2"
        assert cell(table, "temp", "thr") == "0.55"
        assert cell(table, "temp", "imp") == "0%"
        assert cell(table, "temp", "state") in ("ok", "ANOMALOUS")
        spark = cell(table, "temp", "spark")
        assert len(spark) == table.spark_width and set(spark) <= set("▁▂▃▄▅▆▇█ ")
        # More ticks write into the same rows.
        keys = [row.key for row in table.ordered_rows]
        await pilot.pause(0.3)
        assert [row.key for row in table.ordered_rows] == keys


async def test_the_sparkline_and_layout_follow_the_terminal_size(replay):
    app = make_app(replay)
    async with app.run_test(size=(90, 30)) as pilot:
        await wait_for(pilot, lambda: replay_shown(app), what="the replay")
        narrow = app.channel_table.spark_width
        assert not app.query_one("#main").has_class("-wide")
        await pilot.resize_terminal(150, 30)
        await wait_for(pilot, lambda: app.channel_table.spark_width > narrow + 40)
        assert app.query_one("#main").has_class("-wide")  # chart and alert log side by side
        assert app.detail.region.y == app.alert_log.region.y
        await pilot.pause(0.2)
        spark = cell(app.channel_table, "hum", "spark")
        assert len(spark) == app.channel_table.spark_width


async def test_down_up_and_j_k_select_a_channel_and_the_chart_follows(replay):
    app = make_app(replay)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: replay_shown(app), what="the replay")
        assert app.selected == "hum" and app.detail.channel == "hum"
        await pilot.press("down")
        await wait_for(pilot, lambda: app.detail.channel == "pressure")
        await pilot.press("j")
        await wait_for(pilot, lambda: app.detail.channel == "temp")
        assert app.selected == "temp"
        await pilot.press("k")
        await wait_for(pilot, lambda: app.detail.channel == "pressure")
        await pilot.press("up")
        await wait_for(pilot, lambda: app.detail.channel == "hum")
        # The chart holds the channel's whole history (the detail snapshot).
        start, end = app.detail.span
        assert start == T0 and end > T0 + 119


async def test_s_cycles_the_sort_through_score_alerts_and_name(replay):
    app = make_app(replay)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: replay_shown(app), what="the replay")
        table = app.channel_table
        await pilot.press("s")
        scores = {n: c.last_score for n, c in app.snapshot.channels.items()}
        assert table.sort_by == "score"
        assert table.names() == sorted(scores, key=lambda n: (-scores[n], n))
        await pilot.press("s")
        assert table.names() == ["temp", "pressure", "hum"]  # 2, 1 and 0 alerts
        assert "sort: alerts" in app.status_bar.plain
        assert app.selected == "hum"  # the cursor stayed on the channel, not the row
        await pilot.press("s")
        assert table.names() == ["hum", "pressure", "temp"]


async def test_slash_filters_channels_by_name_and_escape_clears(replay):
    app = make_app(replay)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: replay_shown(app), what="the replay")
        await pilot.press("slash")
        box = app.query_one("#filter", Input)
        assert box.display and box.has_focus
        await pilot.press("T", "e", "enter")
        assert app.channel_table.names() == ["temp"]
        assert not box.display and app.channel_table.has_focus
        assert "filter: Te" in app.status_bar.plain
        await pilot.pause(0.2)  # new snapshots do not bring the others back
        assert app.channel_table.names() == ["temp"]
        assert app.selected == "temp"
        await pilot.press("slash", "escape")
        assert app.channel_table.names() == ["hum", "pressure", "temp"]


async def test_tab_moves_focus_between_the_table_and_the_alert_log(replay):
    app = make_app(replay)
    async with app.run_test(size=SIZE) as pilot:
        assert app.focused is app.channel_table
        await pilot.press("tab")
        assert app.focused is app.alert_log
        await pilot.press("tab")
        assert app.focused is app.channel_table


# --------------------------------------------------------------------------- labels


async def test_f_labels_the_highlighted_alert_a_false_positive_on_disk(replay):
    app = make_app(replay)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: replay_shown(app), what="the replay")
        newest = app.alert_log.highlighted_alert()
        assert newest is not None and newest.id == 3  # follows the newest
        await pilot.press("f")
        await wait_for(pilot, lambda: records(replay.labels_path), what="the label on disk")
        (rec,) = records(replay.labels_path)
        assert (rec["channel"], rec["start"], rec["end"]) == ("temp", newest.start, newest.end)
        assert (rec["label"], rec["alert"]) == ("false_positive", 3)
        await wait_for(pilot, lambda: cell(app.alert_log, "3", "label") == "false pos")
        assert any("#3 on temp: false positive" in text for _, text in app.notices)


async def test_a_labels_the_alert_the_user_moved_to_a_true_anomaly(replay):
    app = make_app(replay)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: replay_shown(app), what="the replay")
        await pilot.press("tab", "down")
        assert app.alert_log.highlighted_alert().id == 2
        assert not app.alert_log.following
        await pilot.pause(0.2)  # later ticks leave the highlight where the user put it
        assert app.alert_log.highlighted_alert().id == 2
        await pilot.press("a")
        await wait_for(pilot, lambda: records(replay.labels_path), what="the label on disk")
        (rec,) = records(replay.labels_path)
        alert = next(a for a in app.snapshot.alerts if a.id == 2)
        assert (rec["channel"], rec["start"], rec["end"]) == ("temp", alert.start, alert.end)
        assert (rec["label"], rec["alert"]) == ("anomaly", 2)
        await pilot.press("up")
        assert app.alert_log.following


async def test_u_undoes_the_last_label_with_a_retraction(replay):
    app = make_app(replay)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: replay_shown(app), what="the replay")
        await pilot.press("f")
        await wait_for(pilot, lambda: cell(app.alert_log, "3", "label") == "false pos")
        await pilot.press("u")
        await wait_for(pilot, lambda: len(records(replay.labels_path)) == 2, what="retraction")
        made, retraction = records(replay.labels_path)
        assert retraction["retract"] == made["id"]
        await wait_for(pilot, lambda: cell(app.alert_log, "3", "label") == "·")
        await pilot.press("u")
        assert app.notices[-1] == ("warning", "nothing to undo")


async def test_m_saves_a_missed_anomaly_span_edited_in_the_dialog(replay):
    app = make_app(replay)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: replay_shown(app), what="the replay")
        await pilot.press("down")
        await wait_for(pilot, lambda: app.detail.channel == "pressure")
        await pilot.press("m")
        await wait_for(pilot, lambda: isinstance(app.screen, MissedDialog))
        start_box = app.screen.query_one("#missed-start", Input)
        end_box = app.screen.query_one("#missed-end", Input)
        # Prefilled with the span proposed, inside the one the chart shows.
        assert start_box.value == utc_stamp(app.screen.bar.times[0])
        assert end_box.value == utc_stamp(app.screen.bar.times[1])
        start_box.value = "2025-11-23 08:01:40.000"
        end_box.value = "08:01:41.500"  # a time alone is on the start's day
        await pilot.press("enter")
        await wait_for(pilot, lambda: not isinstance(app.screen, MissedDialog))
        await wait_for(pilot, lambda: records(replay.labels_path), what="the label on disk")
        (rec,) = records(replay.labels_path)
        assert rec["channel"] == "pressure"
        assert (rec["start"], rec["end"]) == (T0 + 100, T0 + 101.5)
        assert (rec["label"], rec["alert"]) == ("anomaly", None)


async def test_m_proposes_the_most_anomalous_stretch_no_alert_covers(replay):
    app = make_app(replay)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: replay_shown(app), what="the replay")
        await pilot.press("down")  # pressure: alert #1 covers its spike
        await wait_for(pilot, lambda: app.detail.channel == "pressure")
        await pilot.press("m")
        await wait_for(pilot, lambda: isinstance(app.screen, MissedDialog))
        dialog = app.screen
        start, end = dialog.bar.times
        t0, t1 = app.detail.span
        assert t0 <= start < end <= t1
        assert end - start <= 0.25 * (t1 - t0)  # a stretch, not the whole window
        alert = next(a for a in app.snapshot.alerts if a.channel == "pressure")
        assert end < alert.start or start > (alert.end or alert.last_above)
        # The highest score outside the alert lies in the span.
        h = app.snapshot.channels["pressure"].history
        free = (h.t < alert.start) | (h.t > (alert.end or alert.last_above))
        peak_t = h.t[free][h.score[free].argmax()]
        assert start <= peak_t <= end
        assert dialog.query_one("#missed-start", Input).value == utc_stamp(start)
        assert dialog.query_one("#missed-end", Input).value == utc_stamp(end)
        # The chart behind shows it.
        assert app.detail.pending == (start, end)
        await pilot.press("escape")
        assert app.detail.pending is None


async def test_m_span_edges_move_with_the_arrows_and_tab_and_save_as_shown(replay):
    app = make_app(replay)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: replay_shown(app), what="the replay")
        await pilot.press("m")
        await wait_for(pilot, lambda: isinstance(app.screen, MissedDialog))
        dialog = app.screen
        await wait_for(pilot, lambda: dialog.bar.has_focus, what="the span bar's focus")
        t = dialog.bar.t  # the window the dialog opened on
        step = len(t) // 100  # one press: a hundredth of the window
        lo, hi = dialog.bar.span
        await pilot.press("left", "left")  # the start, two steps earlier
        assert dialog.bar.span == (lo - 2 * step, hi)
        await pilot.press("tab", "shift+right")  # the end, ten steps later (at most the end)
        want_hi = min(len(t) - 1, hi + 10 * step)
        assert dialog.bar.span == (lo - 2 * step, want_hi)
        await pilot.pause(0.1)
        start, end = float(t[lo - 2 * step]), float(t[want_hi])
        assert dialog.query_one("#missed-start", Input).value == utc_stamp(start)
        assert dialog.query_one("#missed-end", Input).value == utc_stamp(end)
        assert app.detail.pending == (start, end)
        await pilot.press("enter")
        await wait_for(pilot, lambda: not isinstance(app.screen, MissedDialog))
        await wait_for(pilot, lambda: records(replay.labels_path), what="the label on disk")
        (rec,) = records(replay.labels_path)
        assert (rec["start"], rec["end"]) == pytest.approx((start, end), abs=1e-3)


async def test_m_dialog_shows_bad_input_inline_and_escape_cancels(replay):
    app = make_app(replay)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: replay_shown(app), what="the replay")
        await pilot.press("m")
        await wait_for(pilot, lambda: isinstance(app.screen, MissedDialog))
        dialog = app.screen
        dialog.query_one("#missed-start", Input).value = "yesterday"
        await pilot.press("enter")
        assert app.screen is dialog
        assert "start:" in str(dialog.query_one("#missed-error").content)
        dialog.query_one("#missed-start", Input).value = "2025-11-23 08:01:50"
        dialog.query_one("#missed-end", Input).value = "2025-11-23 08:01:40"
        await pilot.press("enter")
        assert "before the start" in str(dialog.query_one("#missed-error").content)
        await pilot.press("escape")
        assert not isinstance(app.screen, MissedDialog)
        await pilot.pause(0.2)
        assert records(replay.labels_path) == []


async def test_the_command_palette_labels_a_false_positive(replay):
    app = make_app(replay)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: replay_shown(app), what="the replay")
        await pilot.press("ctrl+p")
        await pilot.press(*"label false")
        await pilot.pause(0.5)
        await pilot.press("enter")
        await wait_for(pilot, lambda: records(replay.labels_path), what="the label on disk")
        assert records(replay.labels_path)[0]["label"] == "false_positive"


# --------------------------------------------------------------------------- thresholds


async def test_plus_minus_and_equals_change_the_threshold_shown(replay):
    app = make_app(replay)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: replay_shown(app), what="the replay")
        await pilot.press("down", "down")
        assert app.selected == "temp"
        await pilot.press("plus")
        assert cell(app.channel_table, "temp", "thr") == "0.56"
        assert app.monitor.snapshot().channels["temp"].threshold == 0.56
        await pilot.press("minus", "minus", "minus")
        assert cell(app.channel_table, "temp", "thr") == "0.53"
        await pilot.pause(0.2)  # and the snapshots agree
        assert cell(app.channel_table, "temp", "thr") == "0.53"
        assert cell(app.channel_table, "hum", "thr") == "0.55"
        await pilot.press(*["plus"] * 50)
        assert cell(app.channel_table, "temp", "thr") == "1.00"  # clamped
        await pilot.press("equals_sign")
        assert cell(app.channel_table, "temp", "thr") == "0.55"
        assert app.monitor.snapshot().channels["temp"].threshold == 0.55


# --------------------------------------------------------------------------- replay


async def test_left_and_right_seek_the_replay_by_ten_seconds(monitors, board_rec, tmp_path):
    m = monitors([board_rec], labels=str(tmp_path / "l.jsonl"), speed=1.0)
    app = make_app(m)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: replay_t(app) > 0)
        before = replay_t(app)
        await pilot.press("right")
        await wait_for(pilot, lambda: replay_t(app) >= before + 10, what="seek forward")
        await wait_for(pilot, lambda: "08:00:1" in app.status_bar.plain, what="the status")
        after = replay_t(app)
        await pilot.press("left")
        await wait_for(pilot, lambda: replay_t(app) < after - 5, what="seek back")


async def test_quick_presses_of_right_and_left_add_up(monitors, board_rec, tmp_path):
    m = monitors([board_rec], labels=str(tmp_path / "l.jsonl"), speed=1.0)
    app = make_app(m)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: replay_t(app) > 0)
        await pilot.press("space")  # paused: the position moves only with the seeks
        await wait_for(pilot, lambda: app.snapshot.replay.paused)
        before = replay_t(app)
        await pilot.press(*["right"] * 5)
        await wait_for(pilot, lambda: replay_t(app) >= before + 49, what="+50 s")
        await pilot.pause(0.3)
        assert replay_t(app) == pytest.approx(before + 50, abs=0.5)
        after = replay_t(app)
        await pilot.press(*["left"] * 5)
        await wait_for(pilot, lambda: replay_t(app) <= after - 49, what="-50 s")
        await pilot.pause(0.3)
        assert replay_t(app) == pytest.approx(after - 50, abs=0.5)


async def test_a_looping_replay_keeps_its_pace_and_its_channels_fresh(monitors, tmp_path):
    path = tmp_path / "short.jsonl"
    write_board_recording(str(path), Board(channels=2, rate=10, seed=2, faults=()), 10, T0)
    m = monitors([path], labels=str(tmp_path / "l.jsonl"), speed=8.0, loop=True)
    app = make_app(m, tick=1 / 20)
    states: list[str] = []
    passes = [0]
    last = [0]

    def watch() -> bool:
        lines = app.snapshot.counters.lines if app.snapshot else 0
        if lines < last[0]:
            passes[0] += 1
        last[0] = lines
        if passes[0] >= 1 and "temp" in app.channel_table.names():
            states.append(cell(app.channel_table, "temp", "state"))
        return passes[0] >= 2

    async with app.run_test(size=SIZE) as pilot:
        # A pass takes 1.25 s at 8x; the second one is watched from end to end.
        await wait_for(pilot, watch, what="two loops")
    assert states
    assert "stale" not in states


async def test_brackets_change_the_replay_speed(monitors, board_rec, tmp_path):
    m = monitors([board_rec], labels=str(tmp_path / "l.jsonl"), speed=1.0)
    app = make_app(m)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("right_square_bracket")
        await wait_for(pilot, lambda: app.snapshot.replay.speed == 2)
        await wait_for(pilot, lambda: " 2x" in app.status_bar.plain)
        await pilot.press("left_square_bracket", "left_square_bracket")
        await wait_for(pilot, lambda: app.snapshot.replay.speed == 0.5)
        await wait_for(pilot, lambda: "0.5x" in app.status_bar.plain)
        assert ("information", "speed 0.5x") in app.notices


async def test_r_restarts_the_replay(monitors, board_rec, tmp_path):
    m = monitors([board_rec], labels=str(tmp_path / "l.jsonl"), speed=1.0)
    app = make_app(m)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: replay_t(app) > 0)
        await pilot.press("right", "right")
        await wait_for(pilot, lambda: replay_t(app) > T0 + 15, what="seek forward")
        await pilot.press("r")
        await wait_for(pilot, lambda: replay_t(app) < T0 + 5, what="the restart")
        assert ("information", "replay restarted") in app.notices


async def test_space_pauses_and_resumes_a_replay(monitors, board_rec, tmp_path):
    m = monitors([board_rec], labels=str(tmp_path / "l.jsonl"), speed=4.0)
    app = make_app(m)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: replay_t(app) > 0)
        await pilot.press("space")
        await wait_for(pilot, lambda: app.snapshot.replay.paused)
        assert app.status_bar.plain.startswith(" PAUSED ")
        held = replay_t(app)
        await pilot.pause(0.4)
        assert replay_t(app) == held
        await pilot.press("space")
        await wait_for(pilot, lambda: replay_t(app) > held, what="the replay to go on")
        assert "PAUSED" not in app.status_bar.plain


# --------------------------------------------------------------------------- live


async def test_space_freezes_a_live_display_while_recording_and_scoring_go_on(
    monitors, live_board, tmp_path
):
    recording = tmp_path / "live.jsonl"
    m = monitors([live_board.port], record=str(recording), labels=str(tmp_path / "l.jsonl"))
    app = make_app(m)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.snapshot and app.snapshot.counters.samples > 60)
        await pilot.press("space")
        assert app.live_paused
        frozen = app.snapshot
        shown = [cell(app.channel_table, "temp", k) for k in ("value", "spark", "score")]
        size = recording.stat().st_size
        await pilot.pause(0.5)
        assert app.snapshot is frozen
        assert [cell(app.channel_table, "temp", k) for k in ("value", "spark", "score")] == shown
        assert "PAUSED +0 alerts" in app.status_bar.plain
        assert recording.stat().st_size > size
        assert m.snapshot().counters.samples > frozen.counters.samples
        await pilot.press("space")
        await wait_for(pilot, lambda: app.snapshot is not frozen)
        assert app.snapshot.counters.samples > frozen.counters.samples
        assert "PAUSED" not in app.status_bar.plain


async def test_replay_keys_on_a_live_source_say_replay_only(monitors, live_board, tmp_path):
    m = monitors([live_board.port], labels=str(tmp_path / "l.jsonl"))
    app = make_app(m)
    async with app.run_test(size=SIZE) as pilot:
        keys = ("left_square_bracket", "right_square_bracket", "left", "right", "r")
        for key in keys:
            await pilot.press(key)
        assert [n for n in app.notices if n[1] == "replay only"] == [("warning", "replay only")] * 5
        assert "connected" in app.status_bar.plain


# --------------------------------------------------------------------------- panes, help, quit


async def test_l_toggles_the_raw_lines_that_did_not_parse(replay):
    app = make_app(replay)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: replay_shown(app), what="the replay")
        raw = app.raw_lines
        assert not raw.display
        await pilot.press("l")
        assert raw.display
        assert not app.detail.display  # in 100 columns the raw lines take the chart's place
        text = "\n".join(raw.lines)
        assert "Failed to read from DHT sensor!" in text
        assert text.index("[connect]") < text.index("DHT") < text.index("temp:abc")
        await pilot.press("l")
        assert not raw.display and app.detail.display


async def test_question_mark_opens_the_help_listing_every_key(replay):
    app = make_app(replay)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        assert app.screen.query_one("#help-keys").content.row_count == len(KEYS)
        shown = " ".join(key for key, _ in KEYS)
        for binding in app.BINDINGS:
            key = HELP_NAMES.get(binding.key, binding.key)
            assert key in shown, f"{binding.key} is not in the help"
        for key in ("up", "down", "j", "k", "tab"):
            assert key in shown
        await pilot.press("escape")
        assert not isinstance(app.screen, HelpScreen)


HELP_NAMES = {
    "plus": "+",
    "minus": "-",
    "equals_sign": "=",
    "left_square_bracket": "[",
    "right_square_bracket": "]",
    "slash": "/",
    "question_mark": "?",
    "full_stop": ".",
}


async def test_q_quits_after_the_labels_are_on_disk(replay):
    app = make_app(replay)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: replay_shown(app), what="the replay")
        await pilot.press("f", "q")
    (rec,) = records(replay.labels_path)  # flushed before the app returned
    assert rec["alert"] == 3
    assert app.return_code == 0


# --------------------------------------------------------------------------- notices


async def test_new_alerts_are_notified_and_ring_the_bell_when_asked(replay):
    app = make_app(replay, bell=True)
    rings = []
    app.bell = lambda: rings.append(1)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: replay_shown(app), what="the replay")
        alerts = [text for severity, text in app.notices if severity == "warning"]
        assert any(text.startswith("#1 on pressure") for text in alerts) or any(
            "new alerts" in text for text in alerts
        )
        assert rings


async def test_a_monitor_error_is_shown_once(monitors, board_rec, tmp_path):
    m = monitors([board_rec], labels=str(tmp_path / "no-such-dir" / "labels.jsonl"))
    app = make_app(m)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: replay_shown(app), what="the replay")
        await pilot.press("f")
        errors = lambda: [t for s, t in app.notices if s == "error"]  # noqa: E731
        await wait_for(pilot, lambda: errors(), what="the error notice")
        await pilot.pause(0.3)
        (error,) = errors()
        assert "cannot write labels" in error


async def test_e_shows_the_metrics_of_the_labels_made_so_far(replay):
    from sensorscope.tui.screens.metrics import MetricsScreen

    app = make_app(replay)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: replay_shown(app), what="the replay")
        await pilot.press("f")  # alert 3 (temp): a false positive
        await pilot.press("tab", "down", "down", "a")  # alert 1 (pressure): a true anomaly
        await wait_for(pilot, lambda: len(records(replay.labels_path)) == 2, what="labels")
        await pilot.press("e")
        assert isinstance(app.screen, MetricsScreen)
        table = app.screen.query_one("#metrics-table").content
        rows = {table.columns[0]._cells[i]: i for i in range(table.row_count)}
        assert set(rows) >= {"temp", "pressure", "all"}

        def col(name: str, row: str) -> str:
            c = next(c for c in table.columns if c.header == name)
            return c._cells[rows[row]]

        assert (col("true", "all"), col("false", "all"), col("precision", "all")) == (
            "1", "1", "0.50",
        )  # fmt: skip
        assert (col("false", "temp"), col("precision", "temp")) == ("1", "0.00")
        assert col("precision", "pressure") == "1.00"
        await pilot.press("escape")
        assert not isinstance(app.screen, MetricsScreen)


async def test_a_range_for_no_channel_is_told_once_the_channels_are_known(
    monitors, board_rec, tmp_path
):
    m = monitors([board_rec], labels=str(tmp_path / "labels.jsonl"))
    m.settings.limits.update({"tmep": (0.0, 50.0), "temp": (0.0, 50.0)})
    app = make_app(m)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: replay_shown(app), what="the replay")
        await pilot.pause(0.2)
        told = [text for severity, text in app.notices if "--range" in text]
        assert told == ["--range tmep matches no channel (channels: hum, pressure, temp)"]
