"""`watch --score-in process`: the monitor in a child process, the screen in the UI's.

The child is real (spawned, as `watch` spawns it), reading a real pty board; the app is the
real app under Pilot. What a user does at the keyboard must reach the child and come back
on screen, what it records and labels must be on disk after quit, and a child that fails
must be said, never crash the screen.
"""

from __future__ import annotations

import json
import os
import signal
import time

import pytest
from tui_support import wait_for

from sensorscope.cli.monitor import scores_apart
from sensorscope.errors import UserError
from sensorscope.model import LineEnding, Settings
from sensorscope.simulate import Board, PtyBoard
from sensorscope.split import ChildMonitor
from sensorscope.tui.app import make_app

SIZE = (120, 40)


def options(specs, **kw):
    out = dict(specs=[str(s) for s in specs], settings=Settings())
    out.update(kw)
    return out


@pytest.fixture
def child_monitors():
    made = []

    def make(specs, **kw):
        m = ChildMonitor(options(specs, **kw))
        made.append(m)
        return m

    yield make
    for m in made:
        m.stop()


@pytest.fixture
def faulty_board():
    """3 channels at 50 Hz with a spike every 4 s from 6 s on."""
    with PtyBoard(Board(channels=3, rate=50, seed=3, fault_every=4, first_fault=6)) as sim:
        yield sim


async def test_keys_reach_the_child_and_what_it_records_and_labels_is_on_disk(
    child_monitors, faulty_board, tmp_path
):
    rec, labels = tmp_path / "lab.jsonl", tmp_path / "lab.labels.jsonl"
    monitor = child_monitors([faulty_board.port], record=str(rec), labels=str(labels))
    assert monitor.labels_path == str(labels) and not monitor.is_replay
    app = make_app(monitor)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.snapshot and len(app.snapshot.channels) == 3,
                       what="the board's channels", timeout=30)  # fmt: skip
        channel = app.selected
        # A threshold set at the keyboard is the child's: the next snapshot carries it.
        await pilot.press("+")
        await wait_for(
            pilot, lambda: app.snapshot.channels[channel].threshold == pytest.approx(0.56),
            what="the threshold from the child",
        )  # fmt: skip
        # A line typed goes through the child's port to the board.
        await pilot.press("w", *"rate 5", "enter", "escape")
        deadline = time.monotonic() + 5
        while b"rate 5\n" not in bytes(faulty_board.received) and time.monotonic() < deadline:
            await pilot.pause(0.05)
        assert b"rate 5\n" in bytes(faulty_board.received)
        # An alert labelled a false positive is kept by the child's label store.
        await wait_for(pilot, lambda: app.snapshot.alerts, what="an alert", timeout=30)
        await pilot.press("tab", "f")
        await wait_for(pilot, lambda: any(a.label for a in app.snapshot.alerts),
                       what="the label joined to its alert")  # fmt: skip
    monitor.stop()
    (label,) = [json.loads(x) for x in labels.read_text().splitlines()]
    assert label["label"] == "false_positive" and label["alert"] is not None
    lines = [json.loads(x) for x in rec.read_text().splitlines()[1:]]
    assert sum("line" in r for r in lines) > 50
    assert [r["tx"] for r in lines if "tx" in r] == ["rate 5\n"]
    # After stop the last snapshot and the ending stay readable (watch prints them).
    last = monitor.snapshot(points=0)
    assert last.counters.lines >= sum("line" in r for r in lines) - 1
    assert monitor.ending().left_unscored == 0


def test_a_bad_source_is_one_user_error_before_any_screen_and_leaves_no_process(tmp_path):
    before = _children()
    with pytest.raises(
        UserError, match=r"^no such port: /dev/ttyNOPE9 \(see `sensorscope ports`\)$"
    ):
        ChildMonitor(options(["/dev/ttyNOPE9"], labels=str(tmp_path / "l.jsonl")))
    assert _children() <= before


async def test_a_child_that_dies_is_said_on_screen_and_a_label_is_refused_aloud(
    child_monitors, tmp_path
):
    with PtyBoard(Board(channels=2, rate=20, seed=1, faults=())) as board:
        monitor = child_monitors([board.port], labels=str(tmp_path / "l.jsonl"))
        app = make_app(monitor)
        async with app.run_test(size=SIZE) as pilot:
            await wait_for(pilot, lambda: app.snapshot and app.snapshot.channels,
                           what="channels", timeout=30)  # fmt: skip
            os.kill(monitor._proc.pid, signal.SIGKILL)
            await wait_for(
                pilot, lambda: any("scoring process" in e for e in app.snapshot.errors),
                what="the child's end on screen",
            )  # fmt: skip
            # Keys still work; what cannot be done is said.
            await pilot.press("+")
            await pilot.press("u")
            await pilot.pause(0.1)
            assert any("not undone" in text for _, text in app.notices)
            assert app.is_running


def test_scoring_apart_is_chosen_for_live_sources_and_never_for_stdin(tmp_path):
    rec = tmp_path / "r.jsonl"
    rec.write_text("")
    assert scores_apart("auto", ["/dev/ttyACM0"], check=False)
    assert scores_apart("auto", ["mqtt://broker/lab/#"], check=False)
    assert not scores_apart("auto", [str(rec)], check=False)
    assert scores_apart("process", [str(rec)], check=False)
    assert not scores_apart("thread", ["/dev/ttyACM0"], check=False)
    assert not scores_apart("auto", ["/dev/ttyACM0"], check=True)
    assert not scores_apart("auto", ["-"], check=False)
    with pytest.raises(UserError, match="standard input"):
        scores_apart("process", ["-"], check=False)


def test_the_child_answers_what_the_monitor_answers(tmp_path):
    with PtyBoard(Board(channels=2, rate=20, seed=1, faults=())) as board:
        m = ChildMonitor(options([board.port], labels=str(tmp_path / "l.jsonl")))
        try:
            m.start()
            deadline = time.monotonic() + 20
            while not m.snapshot().channels and time.monotonic() < deadline:
                time.sleep(0.05)
            name = sorted(m.snapshot().channels)[0]
            target, why = m.send_target(name)
            assert target is not None and why == ""
            with pytest.raises(UserError, match="escape"):
                m.send(target, "\\q", LineEnding.LF)
            with pytest.raises(KeyError):
                m.label_alert(999, "anomaly")
            assert m.undo() is None
            m.set_threshold(name, 0.7)
            assert m.threshold(name) == pytest.approx(0.7)
            assert m.toggle_pause() is False  # not a replay: nothing to pause
        finally:
            m.stop()
        assert m.ending().errors == []


def _children() -> set[int]:
    me = os.getpid()
    out = set()
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as fh:
                    ppid = int(fh.read().rpartition(")")[2].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            if ppid == me:
                out.add(int(entry))
    return out


def test_the_raw_lines_the_ui_keeps_are_the_childs_though_each_snapshot_brings_only_new_ones():
    import random
    from collections import deque

    from sensorscope.model import Counters, RawLine, Snapshot
    from sensorscope.split import _after, _LineBook
    from sensorscope.state import RAW_LINES

    rng = random.Random(4)
    child: deque[RawLine] = deque(maxlen=RAW_LINES)
    book, last, n = _LineBook(), None, 0
    for step in range(200):
        if step == 120:
            child.clear()  # a replay restarted
        added = rng.choice((0, 1, 7, 60, RAW_LINES + 30))
        for _ in range(added):
            child.append(RawLine(float(n), "s", f"line {n}", "data"))
            n += 1
        lines = list(child)
        sent, full = _after(lines, last)
        if last is not None and step != 120 and added < RAW_LINES:
            assert len(sent) == added and not full  # only what is new crosses the pipe
        last = lines[-1] if lines else None
        snap = Snapshot(step, Counters(), {}, [], list(sent), list(sent), {}, [], False)
        shown = book.take((snap, full, full))
        assert [x.line for x in shown.all_lines] == [x.line for x in lines]
        assert [x.line for x in shown.raw_lines] == [x.line for x in lines]
