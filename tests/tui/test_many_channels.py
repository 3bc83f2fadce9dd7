"""A board with more channels than the terminal has rows: a tick writes the rows on screen.

A real Monitor replays a 64-channel recording (paced, so the table is filled while the
values still change); the table is read back with Pilot: what a tick wrote, and what a row
shows once scrolled into view.
"""

from __future__ import annotations

import html

from tui_support import wait_for

from sensorscope.model import Frame
from sensorscope.recording import RecordingWriter
from sensorscope.tui.app import make_app
from sensorscope.tui.widgets.channel_table import OFFSCREEN_ROWS, value_text

T0 = 1_763_884_800.0
CHANNELS = 64
READINGS = 400  # 10 Hz: 40 s of data, replayed at 16x in 2.5 s


def wide_recording(path) -> None:
    w = RecordingWriter(str(path))
    frames = [
        Frame(
            T0 + i / 10,
            "wide",
            " ".join(f"c{c:02d}:{c + i / 100:.2f}" for c in range(CHANNELS)),
        )
        for i in range(READINGS)
    ]
    w.write(frames)
    w.close()


def screen_text(app) -> str:
    return html.unescape(app.export_screenshot()).replace("\xa0", " ")


async def test_a_tick_writes_the_rows_on_screen_and_a_row_scrolled_to_is_up_to_date(
    monitors, tmp_path
):
    rec = tmp_path / "wide.jsonl"
    wide_recording(rec)
    mon = monitors([rec], speed=16.0, labels=str(tmp_path / "labels.jsonl"))
    app = make_app(mon)
    async with app.run_test(size=(80, 24)) as pilot:
        table = app.channel_table
        await wait_for(pilot, lambda: table.row_count == CHANNELS, what="64 rows")
        await wait_for(pilot, lambda: app.snapshot.replay.done, timeout=30, what="the replay's end")
        shown = table.scrollable_content_region.height
        assert 0 < shown < CHANNELS
        before = table.rows_written
        app.apply(app.pull())
        assert 0 < table.rows_written - before <= shown + 2 * OFFSCREEN_ROWS
        # A row on screen all along was drawn again as its value changed: it shows the last.
        await pilot.pause()
        assert value_text(app.snapshot.channels["c01"]) in screen_text(app)

        # The last channel's row was last written long before the end of the replay; moved
        # onto, it shows the channel's last value.
        last = f"c{CHANNELS - 1:02d}"
        final = value_text(app.snapshot.channels[last])
        table.move_cursor(row=table.get_row_index(last))
        await wait_for(pilot, lambda: table.get_cell(last, "value").plain.strip() == final,
                       what=f"{last}'s last value on screen")  # fmt: skip
        assert final.startswith(f"{CHANNELS - 1 + (READINGS - 1) / 100:.2f}")
        await pilot.pause()
        assert final in screen_text(app)
