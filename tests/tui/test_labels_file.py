"""Where the monitor's labels go, and what it makes of a labels file or recording a crash
left torn: driven with Pilot against real Monitors and real files."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from tui_support import replay_shown, wait_for

from sensorscope.labels import new_label, read_labels, to_record
from sensorscope.tui.app import make_app

RECORDINGS = Path(__file__).resolve().parents[2] / "recordings"
T0 = 1_763_884_800.0


def lines(path: Path) -> list[bytes]:
    return path.read_bytes().splitlines() if path.exists() else []


async def test_labels_made_on_the_demo_never_touch_its_ground_truth_and_go_where_the_status_says(
    monitors, tmp_path
):
    # A copy of the demo with its ground truth, so that the test cannot damage the repo's.
    demo = tmp_path / "demo.jsonl"
    shutil.copy(RECORDINGS / "demo.jsonl", demo)
    shutil.copy(RECORDINGS / "demo.labels.jsonl", tmp_path / "demo.labels.jsonl")
    truth = (tmp_path / "demo.labels.jsonl").read_bytes()
    mine = tmp_path / "demo.mylabels.jsonl"
    monitor = monitors([demo])
    app = make_app(monitor)
    async with app.run_test(size=(80, 30)) as pilot:
        await wait_for(pilot, lambda: replay_shown(app), 30, what="the replay")
        status = app.status_bar.plain.splitlines()[1]
        assert len(status) <= 80 and status.endswith("demo.mylabels.jsonl"), status
        shown = status.split("labels: ", 1)[1].lstrip("…")
        assert str(mine).endswith(shown)
        alert = app.alert_log.highlighted_alert()
        await pilot.press("f")
        await wait_for(pilot, lambda: lines(mine), 30, what="the label on disk")
    (made,) = [json.loads(x) for x in lines(mine)]
    assert (made["alert"], made["label"]) == (alert.id, "false_positive")
    assert (tmp_path / "demo.labels.jsonl").read_bytes() == truth

    # The next session on the demo shows the label made in this one.
    again = monitors([demo])
    assert again.labels_path == str(mine)
    assert [lab.id for lab in again.snapshot().labels] == [made["id"]]


async def test_a_torn_labels_file_is_reported_once_and_the_next_label_gets_a_line_of_its_own(
    monitors, board_rec, tmp_path
):
    path = tmp_path / "board.labels.jsonl"
    kept = new_label("hum", T0 + 5, T0 + 6)
    torn = json.dumps(to_record(new_label("hum", T0 + 8, T0 + 9))).encode()[:30]
    path.write_bytes(json.dumps(to_record(kept)).encode() + b"\n" + torn)
    monitor = monitors([board_rec], labels=str(path))
    app = make_app(monitor)
    async with app.run_test(size=(100, 40)) as pilot:
        await wait_for(pilot, lambda: replay_shown(app), 30, what="the replay")
        await pilot.press("f")
        await wait_for(pilot, lambda: len(lines(path)) == 3, 30, what="the label on disk")
        await pilot.pause(0.3)  # more ticks: the report is not repeated
        said = [text for _, text in app.notices if "torn last line" in text]
        assert said == [f"{path}: skipped the torn last line 2 (an interrupted write)"]
    first, torn_line, made = lines(path)
    assert torn_line == torn
    assert json.loads(made)["label"] == "false_positive"
    assert [lab.id for lab in read_labels(str(path))] == [kept.id, json.loads(made)["id"]]


async def test_a_recording_with_a_torn_last_line_replays_and_says_so_once(
    monitors, board_rec, tmp_path
):
    rec = tmp_path / "board.jsonl"
    rec.write_bytes(board_rec.read_bytes() + b'{"t": 1763884921.0, "src": "sim", "li')
    monitor = monitors([rec], labels=str(tmp_path / "l.jsonl"))
    app = make_app(monitor)
    async with app.run_test(size=(100, 40)) as pilot:
        await wait_for(pilot, lambda: replay_shown(app), 30, what="the replay")
        await pilot.pause(0.3)
        said = [text for _, text in app.notices if "skipped" in text]
        assert len(said) == 1 and said[0].startswith(f"{rec}: skipped"), app.notices
        assert len(app.snapshot.alerts) == 3  # every complete line was replayed
