"""The whole path a lab engineer takes, on a simulated board behind a re-pointable link.

A board prints plotter lines at 50 Hz with faults; the monitor raises an alert; `f` labels
it a false positive on disk; the board is unplugged and comes back on a new tty behind the
same link; the status line shows it reconnecting and then connected again; `q` quits with
the label and the recording safe.
"""

from __future__ import annotations

import asyncio
import json

from tui_support import wait_for

from sensorscope.model import Settings
from sensorscope.monitor import build_monitor
from sensorscope.simulate import Board, PtyBoard
from sensorscope.tui.app import make_app


async def test_watch_a_board_label_an_alert_survive_an_unplug_and_quit(tmp_path):
    link = tmp_path / "ttyBOARD"
    labels = tmp_path / "board.labels.jsonl"
    recording = tmp_path / "board.jsonl"
    board = Board(channels=4, rate=50, seed=3, fmt="plotter", fault_every=4, first_fault=7,
                  faults=("spike", "noise"))  # fmt: skip
    with PtyBoard(board, link=str(link)) as sim:
        monitor = build_monitor([str(link)], Settings(), labels=str(labels), record=str(recording))
        app = make_app(monitor)
        async with app.run_test(size=(100, 40)) as pilot:
            await wait_for(pilot, lambda: app.snapshot and app.snapshot.alerts, 30, "an alert")
            await pilot.pause(0.2)
            app.alert_log.focus()
            await pilot.press("f")
            await wait_for(pilot, lambda: labels.exists() and labels.read_text(), 5, "the label")
            (line,) = labels.read_text().splitlines()
            rec = json.loads(line)
            alert = next(a for a in app.snapshot.alerts if a.id == rec["alert"])
            assert (rec["label"], rec["channel"], rec["start"]) == (
                "false_positive", alert.channel, alert.start,
            )  # fmt: skip

            sim.unplug()
            await wait_for(pilot, lambda: "reconnecting" in app.status_bar.plain, 10,
                           "reconnecting in the status line")  # fmt: skip
            await asyncio.sleep(0.5)
            sim.replug()
            await wait_for(pilot, lambda: "↻1" in app.status_bar.plain
                           and "reconnecting" not in app.status_bar.plain, 15,
                           "the board back")  # fmt: skip
            before = app.snapshot.counters.samples
            await wait_for(pilot, lambda: app.snapshot.counters.samples > before + 50, 10,
                           "new samples after the replug")  # fmt: skip
            await pilot.press("q")
        assert app.return_code in (0, None)
    events = [json.loads(x).get("event") for x in recording.read_text().splitlines()[1:]]
    assert [e for e in events if e] == ["connect", "disconnect", "connect"]
    assert json.loads(labels.read_text().splitlines()[0])["label"] == "false_positive"
