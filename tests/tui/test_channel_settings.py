"""Units in the monitor, and the channel settings its key keeps in sensorscope.toml for the
next start (issue 14, item 4), driven with Pilot against real Monitors."""

from __future__ import annotations

from pathlib import Path

import pytest
from tui_support import wait_for

from sensorscope.channel_file import read_channels
from sensorscope.model import Frame, Settings
from sensorscope.recording import RecordingWriter
from sensorscope.tui.app import make_app
from sensorscope.tui.keys import BY_ID

T0 = 1_763_884_800.0
SIZE = (100, 40)


@pytest.fixture
def prose_rec(tmp_path) -> Path:
    """A board printing prose with units, temperature in tenths of a degree."""
    path = tmp_path / "lab" / "board.jsonl"
    path.parent.mkdir()
    writer = RecordingWriter(str(path))
    writer.write([
        Frame(T0 + i * 0.1, "sim", f"Temp: {215 + i % 7} C  Hum: {45 + (i % 5) / 10:.2f} %")
        for i in range(300)
    ])  # fmt: skip
    writer.close()
    return path


def done(app) -> bool:
    snap = app.snapshot
    return snap is not None and snap.replay is not None and snap.replay.done


def cell(app, row: str, column: str) -> str:
    return app.channel_table.get_cell(row, column).plain


async def test_the_table_and_the_chart_show_the_unit(monitors, prose_rec, tmp_path):
    m = monitors([prose_rec], labels=str(tmp_path / "l.jsonl"))
    app = make_app(m)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: done(app), what="the replay")
        await wait_for(pilot, lambda: app.channel_table.row_count == 2, what="the rows")
        assert cell(app, "Hum", "value").endswith(" %")
        assert cell(app, "Temp", "value") == "220.00 C"
        await wait_for(pilot, lambda: app.selected is not None, what="a selection")
        ch = app.snapshot.channels[app.selected]
        title = str(app.detail.query_one("#chart-title").render())
        assert f"{app.selected} ({ch.unit})" in title


async def test_the_save_key_keeps_unit_scale_and_threshold_for_the_next_start(
    monitors, prose_rec, tmp_path
):
    # As `watch board.jsonl --scale Temp=0.1 --unit Temp=°C` would start it.
    given = Settings(scales={"Temp": 0.1}, units={"Temp": "°C"})
    m = monitors([prose_rec], labels=str(tmp_path / "l.jsonl"), settings=given)
    kept = prose_rec.parent / "sensorscope.toml"
    assert m.settings_path == str(kept)
    app = make_app(m)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: done(app), what="the replay")
        assert cell(app, "Temp", "value") == "22.00 °C"
        app.channel_table.move_cursor(row=app.channel_table.get_row_index("Temp"))
        await wait_for(pilot, lambda: app.selected == "Temp", what="Temp selected")
        await pilot.press("plus", "plus")
        await pilot.press(BY_ID["save_settings"].key)
        saying = f"settings saved to {kept}"
        await wait_for(pilot, lambda: any(saying == n for _, n in app.notices), what=saying)
    tables = read_channels(str(kept))
    assert tables["Temp"].unit == "°C" and tables["Temp"].scale == 0.1
    assert tables["Temp"].threshold == 0.57
    assert tables["Hum"].unit == "%" and tables["Hum"].threshold is None

    # The next start on the same recording, without the options, goes on with them.
    again = monitors([prose_rec], labels=str(tmp_path / "l2.jsonl"))
    app = make_app(again)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: done(app), what="the second replay")
        await wait_for(pilot, lambda: app.channel_table.row_count == 2, what="the rows")
        assert cell(app, "Temp", "value") == "22.00 °C"
        assert cell(app, "Temp", "thr") == "0.57"
        assert cell(app, "Hum", "thr") == "0.55"


async def test_the_command_line_wins_over_the_kept_settings(monitors, prose_rec, tmp_path):
    (prose_rec.parent / "sensorscope.toml").write_text(
        '[channels."Temp"]\nunit = "°C"\nscale = 0.1\nthreshold = 0.6\n'
    )
    m = monitors(
        [prose_rec], labels=str(tmp_path / "l.jsonl"), settings=Settings(scales={"Temp": 1.0})
    )
    app = make_app(m)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: done(app), what="the replay")
        await wait_for(pilot, lambda: app.channel_table.row_count == 2, what="the rows")
        assert cell(app, "Temp", "value") == "220.00 °C"
        assert cell(app, "Temp", "thr") == "0.60"
