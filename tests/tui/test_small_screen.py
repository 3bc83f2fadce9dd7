"""The monitor at 80x24 and what it says without covering anything: help that fits, notices
on a line of their own, the whole reason a board went away."""

from __future__ import annotations

from textual.widgets import Footer
from textual.widgets._toast import Toast
from tui_support import wait_for

from sensorscope.model import Settings
from sensorscope.monitor import build_monitor
from sensorscope.simulate import Board, PtyBoard
from sensorscope.tui.app import make_app
from sensorscope.tui.keys import KEYS
from sensorscope.tui.screens.help import HelpScreen


async def test_the_help_fits_an_80x24_terminal_without_scrolling(replay):
    app = make_app(replay)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        await pilot.pause(0.1)
        scroll = app.screen.query_one("VerticalScroll")
        assert scroll.max_scroll_y == 0
        keys = app.screen.query_one("#help-keys")
        assert keys.region.height == len(KEYS)  # one row a key, none wrapped
        foot = app.screen.query_one("#help-foot")
        assert foot.region.y + foot.region.height <= 24


async def test_a_speed_change_is_told_on_the_notice_line_not_in_a_toast(replay):
    app = make_app(replay)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: app.snapshot and app.snapshot.replay.done, what="the end")
        await pilot.press("left_square_bracket")
        await pilot.pause(0.05)
        line = app.query_one("#notice")
        assert line.display and line.message.startswith("speed ")
        assert not app.query(Toast)
        # It takes the footer's row while it shows, so the table and the log keep theirs.
        assert not app.query_one(Footer).display
        assert line.region.y == 23
        table = app.query_one("#channels")
        assert table.region.y + table.region.height <= line.region.y


async def test_alerts_are_told_on_the_notice_line_and_the_footer_comes_back(replay, monkeypatch):
    import sensorscope.tui.widgets.notice_line as notice_line

    monkeypatch.setattr(notice_line, "SHOWN_FOR", 0.3)
    app = make_app(replay)
    async with app.run_test(size=(80, 24)) as pilot:
        line = app.query_one("#notice")
        await wait_for(pilot, lambda: "on " in line.message, what="an alert notice")
        assert not app.query(Toast)
        await wait_for(pilot, lambda: app.snapshot and app.snapshot.replay.done, what="the end")
        await wait_for(pilot, lambda: not line.display, what="the notice to go")
        assert app.query_one(Footer).display


async def test_the_whole_reason_a_board_went_away_shows_at_160_columns(tmp_path):
    link = tmp_path / "ttyBOARD"
    board = Board(channels=2, rate=50, seed=3, faults=())
    with PtyBoard(board, link=str(link)) as sim:
        monitor = build_monitor([str(link)], Settings(), labels=str(tmp_path / "l.jsonl"))
        app = make_app(monitor)
        async with app.run_test(size=(160, 48)) as pilot:
            await wait_for(pilot, lambda: app.snapshot and app.snapshot.channels, what="data")
            sim.unplug()
            await wait_for(pilot, lambda: "reconnecting" in app.status_bar.plain,
                           what="reconnecting")  # fmt: skip
            await pilot.pause(0.2)
            (status,) = app.snapshot.sources.values()
            assert len(status.detail) > 48  # longer than the line used to allow
            assert f"({status.detail})" in app.status_bar.plain.splitlines()[0]
            await pilot.press("q")
