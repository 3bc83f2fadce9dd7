"""Snapshots of the monitor at the end of the demo replay (update with --snapshot-update)."""

from __future__ import annotations

import runpy
from pathlib import Path

import pytest
from textual.widgets import Input

from sensorscope.tui.screens.help import HelpScreen

SNAPSHOT_APP = runpy.run_path(str(Path(__file__).with_name("snapshot_app.py")))
build_app = SNAPSHOT_APP["build_app"]
settle = SNAPSHOT_APP["settle"]


@pytest.fixture(autouse=True)
def _in_empty_dir(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)


def test_main_screen_at_80x24(snap_compare):
    assert snap_compare(build_app(), terminal_size=(80, 24), run_before=settle)


def test_main_screen_at_160x48(snap_compare):
    assert snap_compare(build_app(), terminal_size=(160, 48), run_before=settle)


def test_an_overlaid_channel_with_the_cursor_at_160x48(snap_compare):
    async def overlay(pilot):
        await settle(pilot)
        await pilot.press("o", "j", "j", "c")  # co2 over light, the cursor mid-window
        await pilot.pause()

    assert snap_compare(build_app(), terminal_size=(160, 48), run_before=overlay)


def test_help_screen(snap_compare):
    async def open_help(pilot):
        await settle(pilot)
        await pilot.press("question_mark")
        # Under load the pushed screen may not be drawn by the time the press returns.
        while not isinstance(pilot.app.screen, HelpScreen):
            await pilot.pause(0.05)
        await pilot.pause()

    app = build_app()
    assert snap_compare(app, terminal_size=(80, 24), run_before=open_help)


def test_missed_anomaly_dialog(snap_compare):
    async def open_dialog(pilot):
        await settle(pilot)
        await pilot.press("j", "j", "m")
        for box in pilot.app.screen.query(Input):
            box.cursor_blink = False

    app = build_app()
    assert snap_compare(app, terminal_size=(80, 24), run_before=open_dialog)
