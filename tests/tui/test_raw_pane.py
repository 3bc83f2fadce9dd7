"""The raw-lines pane as a person uses it: every line or only the bad ones, hex, line times."""

from __future__ import annotations

import re

import pytest
from tui_support import wait_for

from sensorscope.model import Frame
from sensorscope.recording import RecordingWriter
from sensorscope.simulate import Board, write_board_recording
from sensorscope.tui.app import make_app

SIZE = (120, 40)
T0 = 1_763_884_800.0
GARBAGE = b"\x00\x01\xff\xfe"


@pytest.fixture(scope="module")
def rec(tmp_path_factory):
    """A minute of a 2-channel board at 10 Hz, then a text line and a line of garbage."""
    path = tmp_path_factory.mktemp("raw") / "board.jsonl"
    write_board_recording(str(path), Board(channels=2, rate=10, seed=3, faults=()), 60, T0)
    writer = RecordingWriter(str(path))
    writer.write(
        [
            Frame(T0 + 60.0, "sim", "Failed to read from DHT sensor!"),
            Frame(T0 + 60.25, "sim", GARBAGE.decode("utf-8", "replace"), raw=GARBAGE),
        ]
    )
    writer.close()
    return path


def done(app) -> bool:
    snap = app.snapshot
    return snap is not None and snap.replay is not None and snap.replay.done


async def test_the_raw_pane_shows_every_line_hex_and_line_times_on_its_keys(
    monitors, rec, tmp_path
):
    app = make_app(monitors([rec], labels=str(tmp_path / "l.jsonl")))
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: done(app), what="the replay")
        await pilot.press("l")
        raw = app.raw_lines
        bad = "\n".join(raw.lines)
        assert "Failed to read from DHT sensor!" in bad
        # Garbage is shown as its bytes, not as replacement characters.
        assert "00 01 ff fe" in bad and "\ufffd" not in bad
        assert not any(" data " in line for line in raw.lines)

        await pilot.press("L")  # every received line
        every = raw.lines
        data = [line for line in every if " data " in line]
        assert len(data) > 100
        assert every[-1].startswith("08:01:00.250 sim garbage")
        assert "every line" in app.notices[-1][1]

        await pilot.press("X")  # hex
        row = next(line for line in raw.lines if " data " in line)
        hexed, _, shown = row.split(" data ", 1)[1].strip().partition("  ")
        assert re.fullmatch(r"[0-9a-f]{2}( [0-9a-f]{2})+", hexed), row
        assert bytes.fromhex(hexed).decode() == shown and shown.startswith("temp:")

        await pilot.press("D")  # time since the line before
        assert [line.split()[0] for line in raw.lines[-3:]] == ["+0.100s", "+0.100s", "+0.250s"]

        await pilot.press("L", "X", "D")  # back to the bad lines, as text, with their clock
        assert raw.lines[-1].startswith("08:01:00.250 sim garbage  00 01 ff fe")
        assert not any(" data " in line for line in raw.lines)


async def test_a_raw_mode_key_opens_the_hidden_pane(monitors, rec, tmp_path):
    app = make_app(monitors([rec], labels=str(tmp_path / "l.jsonl")))
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: done(app), what="the replay")
        assert not app.raw_lines.display
        await pilot.press("X")
        assert app.raw_lines.display
