"""Talking to the board: the send line on a real pty board, what the recording keeps of it,
and what a replay does with it (shows it, never sends it)."""

from __future__ import annotations

import json
import subprocess
import sys
import time

from tui_support import wait_for

from sensorscope.model import LineEnding
from sensorscope.simulate import Board, PtyBoard
from sensorscope.tui.app import make_app

SIZE = (120, 40)


def sent(board: PtyBoard, data: bytes, timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if data in bytes(board.received):
            return True
        time.sleep(0.02)
    return False


def tx_records(path) -> list[dict]:
    with open(path, encoding="utf-8") as fh:
        return [r for r in map(json.loads, fh) if "tx" in r or "tx_b64" in r]


async def test_lines_typed_reach_the_board_and_the_recording_then_a_replay_shows_them(
    monitors, live_board, tmp_path
):
    rec = tmp_path / "lab.jsonl"
    app = make_app(monitors([live_board.port], record=str(rec), labels=str(tmp_path / "l.jsonl")))
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.snapshot and app.snapshot.channels, what="channels")
        await pilot.press("w")
        line = app.send_line
        assert line.display and line.has_focus
        assert f"send to {live_board.port.rsplit('/', 1)[-1]}" in line.placeholder
        await pilot.press(*"rate 5", "enter")
        assert sent(live_board, b"rate 5\n")
        assert line.display and line.value == ""  # open for the next line
        await pilot.press("ctrl+e")  # LF -> CR LF
        await pilot.press(*"\\x02go", "enter")
        assert sent(live_board, b"\x02go\r\n")
        await pilot.press("up")
        assert line.value == "\\x02go"
        await pilot.press("up")
        assert line.value == "rate 5"
        # A bad escape is said, and nothing is sent.
        await pilot.press("ctrl+u", *"\\q", "enter")
        assert "'\\q' is no escape" in app.notices[-1][1]
        await pilot.press("escape")
        assert not line.display
        # The raw pane shows what was sent, in order, beside what came.
        await pilot.press("l")
        await wait_for(
            pilot,
            lambda: sum(" tx " in t for t in app.raw_lines.lines) == 2,
            what="the sent lines in the raw pane",
        )
        shown = [t.split(" tx ", 1)[1].strip() for t in app.raw_lines.lines if " tx " in t]
        assert shown == ["rate 5\\n", "\\x02go\\r\\n"]
    app.monitor.stop()
    assert [r.get("tx") for r in tx_records(rec)] == ["rate 5\n", "\x02go\r\n"]

    # The replay shows what was sent and has nothing to send to.
    replay = make_app(monitors([rec], labels=str(tmp_path / "l2.jsonl")))
    async with replay.run_test(size=SIZE) as pilot:
        await wait_for(
            pilot,
            lambda: replay.snapshot and replay.snapshot.replay and replay.snapshot.replay.done,
            what="the replay",
        )
        await pilot.press("w")
        assert not replay.send_line.display
        assert "read-only" in replay.notices[-1][1]
        kinds = [r.kind for r in replay.snapshot.raw_lines]
        assert kinds.count("tx") == 2


def test_send_on_connect_is_sent_each_time_the_port_connects(monitors, tmp_path):
    board = Board(channels=1, rate=20, seed=4, faults=())
    with PtyBoard(board, link=str(tmp_path / "ttyBOARD"), unplug_at=1.0, replug_after=0.5) as sim:
        m = monitors(
            [sim.port],
            labels=str(tmp_path / "l.jsonl"),
            send_on_connect="start\\r",
            line_ending=LineEnding.NONE,
        )
        m.start()
        deadline = time.monotonic() + 10
        while bytes(sim.received).count(b"start\r") < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert bytes(sim.received).count(b"start\r") == 2  # the connect and the reconnect


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "sensorscope.cli", *args], capture_output=True, text=True, timeout=60
    )


def test_send_on_connect_to_a_recording_or_with_a_bad_escape_is_one_line_and_exit_2(
    live_board, tmp_path
):
    rec = tmp_path / "r.jsonl"
    rec.write_text('{"sensorscope": 1, "sources": {}}\n{"t": 1.0, "src": "s", "line": "a:1"}\n')
    got = run_cli("watch", str(rec), "--send-on-connect", "hi", "--check")
    assert got.returncode == 2
    assert got.stderr.strip().splitlines() == [
        "sensorscope: error: --send-on-connect needs a port to send to (the sources are read-only)"
    ]
    got = run_cli("watch", live_board.port, "--send-on-connect", "a\\qb", "--check")
    assert got.returncode == 2
    lines = got.stderr.strip().splitlines()
    assert len(lines) == 1 and "'\\q' is no escape" in lines[0]
