"""The monitor's core: labels safe on disk, replay controls, following a growing file."""

from __future__ import annotations

import json
import threading
import time

import pytest

from sensorscope.labels import read_labels
from sensorscope.model import Frame, Settings
from sensorscope.monitor import SPEEDS, build_monitor, default_labels_path
from sensorscope.recording import RecordingWriter
from sensorscope.simulate import Board, write_board_recording
from sensorscope.sources import FollowSource, RecordingSource

T0 = 1_763_884_800.0


@pytest.fixture
def rec(tmp_path):
    """Two minutes of a simulated board at 10 Hz with a spike at 30 s and a stuck at 60 s."""
    path = tmp_path / "board.jsonl"
    board = Board(channels=2, rate=10, seed=1, fault_every=30, first_fault=30)
    write_board_recording(str(path), board, 120, T0)
    return path


def wait_until(cond, timeout=20.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return
        time.sleep(0.02)
    raise AssertionError("timed out")


def finished(monitor, **kw):
    monitor.start()
    wait_until(lambda: monitor.snapshot().replay.done)
    return monitor.snapshot(**kw)


def test_labels_default_beside_the_recording(rec):
    assert default_labels_path([RecordingSource(str(rec))], None) == str(
        rec.with_name("board.labels.jsonl")
    )
    assert default_labels_path([], "/data/night.jsonl") == "/data/night.labels.jsonl"


def test_labeling_an_alert_appends_its_channel_span_and_kind_to_disk(rec):
    m = build_monitor([str(rec)], Settings(), speed=None)
    try:
        snap = finished(m)
        alert = snap.alerts[0]
        m.label_alert(alert.id, "false_positive")
        assert m.store.flush()
        (line,) = rec.with_name("board.labels.jsonl").read_text().splitlines()
        obj = json.loads(line)
        assert (obj["channel"], obj["start"], obj["end"]) == (alert.channel, alert.start, alert.end)
        assert (obj["label"], obj["alert"]) == ("false_positive", alert.id)
        labeled = next(a for a in m.snapshot().alerts if a.id == alert.id)
        assert labeled.label == "false_positive"
    finally:
        m.stop()


def test_undo_appends_a_retraction_and_never_rewrites(rec):
    m = build_monitor([str(rec)], Settings(), speed=None)
    try:
        finished(m)
        first = m.label_span("temp", T0 + 10, T0 + 12)
        second = m.label_span("temp", T0 + 20, T0 + 22, "false_positive")
        assert m.undo() == second
        m.stop()
        lines = [json.loads(x) for x in m.labels_path and open(m.labels_path)]
        assert lines[-1]["retract"] == second.id
        assert len(lines) == 3
        assert [lab.id for lab in read_labels(m.labels_path)] == [first.id]
    finally:
        m.stop()


def test_labels_made_earlier_are_read_on_start_and_applied_to_alerts(rec):
    m = build_monitor([str(rec)], Settings(), speed=None)
    snap = finished(m)
    alert = snap.alerts[0]
    m.label_span(alert.channel, alert.start - 0.5, alert.start + 0.5, "anomaly")
    m.stop()
    again = build_monitor([str(rec)], Settings(), speed=None)
    try:
        snap = finished(again)
        assert len(snap.labels) == 1
        assert next(a for a in snap.alerts if a.start == alert.start).label == "anomaly"
    finally:
        again.stop()


def test_a_label_on_an_unknown_alert_is_refused(rec):
    m = build_monitor([str(rec)], Settings(), speed=None)
    try:
        finished(m)
        with pytest.raises(KeyError):
            m.label_alert(999, "anomaly")
    finally:
        m.stop()


def test_pause_holds_a_replay_and_resume_continues(rec):
    m = build_monitor([str(rec)], Settings(), speed=64)
    try:
        m.start()
        wait_until(lambda: m.snapshot().counters.lines > 50)
        assert m.toggle_pause() is True
        time.sleep(0.3)
        held = m.snapshot().counters.lines
        time.sleep(0.5)
        assert m.snapshot().counters.lines == held
        assert m.snapshot().replay.paused
        assert m.toggle_pause() is False
        wait_until(lambda: m.snapshot().counters.lines > held)
    finally:
        m.stop()


def test_speed_steps_through_the_ladder_up_to_max():
    assert SPEEDS[0] == 0.25 and SPEEDS[-2] == 64 and SPEEDS[-1] is None


def test_faster_and_slower_change_the_replay_speed(rec):
    m = build_monitor([str(rec)], Settings(), speed=1)
    try:
        assert m.faster() == 2
        assert m.faster() == 4
        assert m.slower() == 2
        assert m.snapshot().replay.speed == 2
    finally:
        m.stop()


def test_seek_forward_skips_ahead_and_every_sample_is_still_scored(rec):
    m = build_monitor([str(rec)], Settings(), speed=1)
    try:
        m.start()
        wait_until(lambda: m.snapshot().replay.t is not None)
        start = m.snapshot().replay.t
        asked = time.monotonic()
        m.seek(60)
        wait_until(lambda: (m.snapshot().replay.t or 0) >= start + 60)
        snap = m.snapshot()
        # Past the target the replay goes on in real time, nothing more.
        assert snap.replay.t <= start + 60 + (time.monotonic() - asked) + 1
        assert time.monotonic() - asked < 30
        # Scoring may trail the reading for a moment; every skipped line is scored.
        wait_until(lambda: m.snapshot().counters.lines >= 600)
    finally:
        m.stop()


def test_seek_back_replays_from_the_start_to_the_target(rec):
    m = build_monitor([str(rec)], Settings(), speed=1)
    try:
        m.start()
        wait_until(lambda: m.snapshot().replay.t is not None)
        m.seek(90)
        wait_until(lambda: (m.snapshot().replay.t or 0) >= T0 + 90)
        m.seek(-40)
        # Back means a fresh replay fast-forwarded to the target, so the position can pass
        # lower values on its way there: it has to land 40 s back and play on from there
        # (at 1x, a landing anywhere else never shows a time in this band within the wait).
        wait_until(lambda: T0 + 48 <= (m.snapshot().replay.t or 0) <= T0 + 55, timeout=10)
        # Scoring catches up with what was read again, from a fresh start: the counters go
        # back to zero and grow to the ~500 lines up to the target (the ~900 from before the
        # seek may still show until the worker reaches the restart).
        wait_until(lambda: 480 <= m.snapshot().counters.lines <= 600)
    finally:
        m.stop()


def test_restart_replays_from_the_beginning_with_fresh_state(rec):
    m = build_monitor([str(rec)], Settings(), speed=32)
    try:
        m.start()
        wait_until(lambda: m.snapshot().counters.lines > 800)
        m.set_threshold("temp", 0.5)
        m.restart()
        wait_until(lambda: m.snapshot().counters.lines < 400)
        snap = m.snapshot()
        assert snap.replay.t < T0 + 40
        assert all(a.start < T0 + 40 for a in snap.alerts)
        assert snap.channels["temp"].threshold == 0.5
    finally:
        m.stop()


def test_loop_starts_a_replay_again_at_its_end(tmp_path):
    path = tmp_path / "short.jsonl"
    write_board_recording(str(path), Board(channels=1, rate=10, seed=2), 5, T0)
    m = build_monitor([str(path)], Settings(warmup=10), speed=None, loop=True)
    try:
        m.start()
        seen_reset = threading.Event()

        def looped():
            snap = m.snapshot()
            if snap.counters.lines < 40:
                seen_reset.set()
            return seen_reset.is_set()

        wait_until(lambda: m.snapshot().counters.lines >= 40)
        wait_until(looped)
    finally:
        m.stop()


def test_thresholds_are_per_channel_clamped_and_resettable(rec):
    m = build_monitor([str(rec)], Settings(), speed=None)
    try:
        m.set_threshold("temp", 1.3)
        assert m.threshold("temp") == 1.0
        assert m.threshold("hum") == m.default_threshold
        m.set_threshold("temp", None)
        assert m.threshold("temp") == m.default_threshold
    finally:
        m.stop()


def test_follow_tails_a_growing_recording_and_never_reads_a_torn_line(tmp_path):
    path = tmp_path / "live.jsonl"
    w = RecordingWriter(str(path), {"dev": {"kind": "serial"}})
    w.write([Frame(T0, "dev", "temp:1")])
    src = FollowSource(str(path))
    got: list[Frame] = []
    stop = threading.Event()
    th = threading.Thread(target=lambda: [got.extend(b) for b in src.batches(stop)])
    th.start()
    try:
        wait_until(lambda: len(got) == 1)
        with open(path, "a") as fh:
            fh.write('{"t": 1763884801.0, "src": "dev", "li')
            fh.flush()
            time.sleep(0.5)
            assert len(got) == 1
            fh.write('ne": "temp:2"}\n')
        wait_until(lambda: len(got) == 2)
        assert got[1].line == "temp:2"
        w.write([Frame(T0 + 2, "dev", "temp:3")])
        wait_until(lambda: len(got) == 3)
    finally:
        stop.set()
        th.join(5)
        w.close()


def test_watch_options_that_cannot_work_are_refused(rec, tmp_path):
    from sensorscope.errors import UserError

    with pytest.raises(UserError, match="--record needs a live source"):
        build_monitor([str(rec)], Settings(), record=str(tmp_path / "x.jsonl"))
    with pytest.raises(UserError, match="is a directory"):
        build_monitor([str(rec)], Settings(), labels=str(tmp_path))


def test_live_metrics_count_the_labels_made_so_far(rec):
    m = build_monitor([str(rec)], Settings(), speed=None)
    try:
        snap = finished(m)
        a, b = snap.alerts[0], snap.alerts[1]
        m.label_alert(a.id, "anomaly")
        m.label_alert(b.id, "false_positive")
        m.label_span(a.channel, T0 + 1, T0 + 2)  # a missed anomaly, away from every alert
        rows = m.live_metrics()
        total = rows["all"]
        assert (total.true, total.false, total.missed) == (1, 1, 1)
        assert total.precision == 0.5 and total.recall == 0.5
        hours = (snap.channels["temp"].last_t - snap.channels["temp"].first_t) / 3600
        assert total.false_per_hour == pytest.approx(1 / hours)
        assert rows[a.channel].true == 1
    finally:
        m.stop()


def fridge_frames(start: int, stop: int) -> list[Frame]:
    """A fridge at 4 degrees whose compressor blips every minute from 150 s on."""
    import random

    rng = random.Random(4)
    out = []
    for i in range(stop):
        v = 4.0 + rng.gauss(0, 0.1) + (1.0 if i >= 1500 and (i - 1500) % 600 == 0 else 0.0)
        if i >= start:
            out.append(Frame(T0 + 0.1 * i, "fridge", f"temp:{v:.3f}"))
    return out


def test_labelling_an_alert_a_false_positive_stops_its_repeats(tmp_path):
    """Watching a file another process writes: the first blip alerts, the user presses f,
    and the blips that follow are not alerted again (a bigger fault would be)."""
    path = tmp_path / "fridge.jsonl"
    w = RecordingWriter(str(path), {"fridge": {"kind": "serial"}})
    w.write(fridge_frames(0, 2000))
    m = build_monitor([str(path)], Settings(), follow=True, labels=str(tmp_path / "l.jsonl"))
    m.start()
    try:
        wait_until(lambda: m.snapshot(points=0).counters.samples == 2000)
        # Long enough for the dropout check to run: the file is old, not silent.
        time.sleep(0.6)
        (alert,) = m.snapshot(points=0).alerts
        m.label_alert(alert.id, "false_positive")
        w.write(fridge_frames(2000, 6000))
        wait_until(lambda: m.snapshot(points=0).counters.samples == 6000)
        assert [a.id for a in m.snapshot(points=0).alerts] == [alert.id]
        assert m.pipeline.feedback_applied == 1
    finally:
        w.close()
        m.stop()
    (label,) = read_labels(str(tmp_path / "l.jsonl"))
    assert label.kind == "false_positive" and label.alert == alert.id


def test_a_ground_truth_file_is_written_only_when_named(tmp_path):
    """The simulator's faults beside its recording are ground truth: a watch of the
    recording labels beside them, not into them, unless --labels names them."""
    from sensorscope.errors import UserError
    from sensorscope.labels import LabelStore

    rec, truth = tmp_path / "sim.jsonl", tmp_path / "sim.labels.jsonl"
    write_board_recording(str(rec), Board(channels=1, rate=10, seed=3), 60, T0, str(truth))
    before = truth.read_bytes()
    with pytest.raises(UserError, match="holds ground truth"):
        LabelStore(str(truth))
    default = build_monitor([str(rec)], Settings(), speed=None)
    default.stop()
    assert default.labels_path == str(tmp_path / "sim.mylabels.jsonl")
    named = build_monitor([str(rec)], Settings(), labels=str(truth), speed=None)
    named.label_span("temp", T0 + 1, T0 + 2)
    named.stop()
    assert truth.read_bytes().startswith(before) and len(truth.read_bytes()) > len(before)


def test_the_monitor_asks_the_pipeline_through_its_methods_and_never_takes_its_lock():
    """What the UI shows comes from one snapshot the pipeline assembles; the monitor never
    takes the pipeline's lock nor reads its alerts, channels or state behind its back."""
    import ast
    import inspect

    from sensorscope import monitor

    tree = ast.parse(inspect.getsource(monitor))
    parents = {child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}
    reads = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and ast.unparse(node.value).endswith("pipeline"):
            called = isinstance(parents.get(node), ast.Call) and parents[node].func is node
            if not called:
                reads.append(node.attr)
    assert set(reads) <= {"default_threshold"}, reads
    assert "lock" not in {n.attr for n in ast.walk(tree) if isinstance(n, ast.Attribute)}


def test_labels_join_their_alerts_as_they_are_made_and_undone(rec):
    m = build_monitor([str(rec)], Settings(), labels=str(rec.parent / "l.jsonl"), speed=None)
    try:
        alert = finished(m).alerts[0]
        m.label_span(alert.channel, alert.until, alert.until + 0.05, "false_positive")  # touches
        m.label_alert(alert.id, "anomaly")  # the newest label on it wins

        def shown():
            return [(a.id == alert.id, a.label) for a in m.snapshot().alerts]

        others = len(shown()) - 1
        assert sorted(shown()) == [(False, None)] * others + [(True, "anomaly")]
        m.undo()
        assert sorted(shown()) == [(False, None)] * others + [(True, "false_positive")]
        m.undo()
        assert sorted(shown()) == [(False, None)] * others + [(True, None)]
        assert m.snapshot().labels == []
    finally:
        m.stop()
