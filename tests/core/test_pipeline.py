"""The pipeline: frames in, scored samples, state and alert episodes out."""

from __future__ import annotations

import math
import os
import random
import threading
import time
import tty

from sensorscope.labels import new_label
from sensorscope.model import Frame, Settings
from sensorscope.pipeline import Pipeline
from sensorscope.recording import RecordingWriter
from sensorscope.runner import FRAME_BYTES, Runner
from sensorscope.sources import RecordingSource, SerialSource


def lines_frames(lines, src="dev", t0=1000.0, dt=0.1):
    return [Frame(t0 + i * dt, src, line) for i, line in enumerate(lines)]


def collect(settings=None, names=("dev",)):
    out = []
    return Pipeline(settings or Settings(warmup=20), names, on_sample=out.append), out


def test_each_channel_of_a_reading_becomes_a_scored_sample():
    p, out = collect()
    p.process(lines_frames(["temp:21.5 hum:40.2", "temp:21.6 hum:40.1"]))
    assert [(s.channel, s.value) for s in out] == [
        ("temp", 21.5),
        ("hum", 40.2),
        ("temp", 21.6),
        ("hum", 40.1),
    ]
    assert all(s.score == 0.0 and not s.alert for s in out)


def test_missing_values_are_imputed_flagged_and_counted():
    p, out = collect()
    p.process(lines_frames(["temp:20", "temp:22", "temp:nan", "temp:abc"]))
    assert [(s.value, s.imputed) for s in out] == [
        (20.0, False),
        (22.0, False),
        (21.0, True),
        (21.0, True),
    ]
    c = p.totals()
    assert c.imputed == 2 and c.parse_errors == 1 and c.samples == 4


def test_last_value_imputation_by_option():
    p, out = collect(Settings(warmup=20, impute="last"))
    p.process(lines_frames(["temp:20", "temp:22", "temp:ovf"]))
    assert out[-1].value == 22.0 and out[-1].imputed


def test_channels_are_prefixed_by_source_when_several_are_watched():
    p, out = collect(names=("lab1", "lab2"))
    p.process(lines_frames(["temp:1"], src="lab1") + lines_frames(["temp:2"], src="lab2"))
    assert [s.channel for s in out] == ["lab1/temp", "lab2/temp"]


def test_text_garbage_and_events_reach_the_raw_lines_and_counters():
    p, _ = collect()
    frames = [
        Frame(1.0, "dev", event="connect"),
        Frame(1.1, "dev", "temp:1"),
        Frame(1.2, "dev", "Failed to read from DHT sensor!"),
        Frame(1.3, "dev", "\x00\x01\x02\x03\ufffd\ufffd", raw=b"\x00\x01\x02\x03\xff\xfe"),
        Frame(1.4, "dev", event="disconnect", detail="gone"),
        Frame(1.5, "dev", event="connect"),
    ]
    p.process(frames)
    c = p.totals()
    assert (c.lines, c.parsed, c.text, c.garbage) == (3, 1, 1, 1)
    assert (c.connects, c.disconnects, c.reconnects) == (2, 1, 1)
    kinds = [line.kind for line in p.raw_lines]
    assert kinds == ["event", "text", "garbage", "event", "event"]
    # The garbage keeps the bytes as they came, for the pane's hex view.
    assert p.raw_lines[2].data == b"\x00\x01\x02\x03\xff\xfe"
    # Every line, the clean one too, is kept apart for the pane's "every line" mode.
    every = [(line.kind, line.parsed) for line in p.state.all_lines]
    assert every == [
        ("event", False), ("data", True), ("text", False), ("garbage", False),
        ("event", False), ("event", False),
    ]  # fmt: skip


def test_a_flood_of_data_lines_keeps_only_what_the_raw_pane_can_show():
    from sensorscope.state import RAW_LINES

    p, _ = collect()
    data = [f"temp:{20 + (i % 7) * 0.1:.1f}" for i in range(5000)]
    lines = ["Failed to read from DHT sensor!", *data]
    p.process(lines_frames(lines))
    every = list(p.state.all_lines)
    assert len(every) == RAW_LINES
    assert every[-1].line == lines[-1] and every[-1].parsed
    # The one text line is not pushed out of the unparsed lines by the flood.
    assert [line.line for line in p.raw_lines] == ["Failed to read from DHT sensor!"]


def test_a_spike_after_warm_up_opens_one_alert_episode_with_its_peak():
    rng = random.Random(1)
    lines = [f"temp:{21.5 + rng.gauss(0, 0.1):.2f}" for _ in range(1500)]
    lines[1000] = "temp:35.00"
    p, out = collect(Settings())
    p.process(lines_frames(lines))
    p.finish()
    spike = [a for a in p.alerts if a.start <= 1000 + 1000 * 0.1 <= (a.end or a.start)]
    assert len(spike) == 1
    assert spike[0].peak_value == 35.0 and spike[0].peak_score >= 0.97
    assert out[1000].alert
    assert len(p.alerts) <= 3  # the noise around it does not flood


def test_snapshot_is_a_bounded_copy():
    p, _ = collect(Settings(warmup=20, capacity=64))
    p.process(lines_frames([f"temp:{i % 10}" for i in range(200)]))
    snap = p.snapshot()
    hist = snap.channels["temp"].history
    assert len(hist.value) == 64
    assert list(hist.value[-3:]) == [7.0, 8.0, 9.0]
    assert snap.channels["temp"].samples == 200
    p.process(lines_frames(["temp:99"], t0=5000))
    assert hist.value[-1] == 9.0  # the copy did not change under the reader


def test_record_then_replay_gives_the_same_readings(tmp_path):
    master, slave = os.openpty()
    tty.setraw(slave)
    port = os.ttyname(slave)
    rec = tmp_path / "rec.jsonl"
    live_out = []
    src = SerialSource(port)
    live = Pipeline(Settings(warmup=20), ["dev"], on_sample=live_out.append)
    runner = Runner([src], live, RecordingWriter(str(rec), {src.name: {"kind": "serial"}}))
    runner.start()
    rng = random.Random(2)
    lines = ["header-partial-junk"] + [
        f"temp:{20 + rng.random():.3f} hum:{40 + rng.random():.3f}" for _ in range(300)
    ]
    for line in lines:
        os.write(master, (line + "\r\n").encode())
        time.sleep(0.001)
    deadline = time.monotonic() + 10
    while len(live_out) < 600 and time.monotonic() < deadline:
        time.sleep(0.05)
    runner.stop()
    os.close(master)
    os.close(slave)
    replay_out = []
    again = Pipeline(Settings(warmup=20), ["dev"], on_sample=replay_out.append)
    replayer = Runner([RecordingSource(str(rec))], again)
    replayer.start()
    assert replayer.wait(10)
    replayer.stop()
    assert len(live_out) == 600
    key = [(s.t, s.channel, s.value, s.score, s.alert) for s in live_out]
    assert key == [(s.t, s.channel, s.value, s.score, s.alert) for s in replay_out]


def test_runner_threads_end_on_stop_with_an_idle_source():
    master, slave = os.openpty()
    tty.setraw(slave)
    runner = Runner([SerialSource(os.ttyname(slave))], Pipeline(Settings(), ["x"]))
    runner.start()
    time.sleep(0.3)
    t0 = time.monotonic()
    runner.stop()
    assert time.monotonic() - t0 < 2
    assert not any(th.is_alive() for th in threading.enumerate() if th.name.startswith("read-"))
    os.close(master)
    os.close(slave)


def test_scores_stay_in_unit_interval_for_any_river_detector():
    rng = random.Random(3)
    lines = [f"v:{rng.gauss(0, 1):.3f}" for _ in range(400)] + ["v:50"]
    p, out = collect(Settings(detector="OneClassSVM", warmup=50))
    p.process(lines_frames(lines))
    assert all(0.0 <= s.score <= 1.0 and not math.isnan(s.score) for s in out)


# --------------------------------------------------------------------------- labels that act


def spikes_every_minute(n=6000, seed=0):
    """10 Hz temperature with a benign 10-sigma blip every minute from 150 s on."""
    rng = random.Random(seed)
    out = []
    for i in range(n):
        v = 21.5 + rng.gauss(0, 0.1) + (1.0 if i >= 1500 and (i - 1500) % 600 == 0 else 0.0)
        out.append(f"temp:{v:.3f}")
    return out


def test_a_false_positive_requested_from_another_thread_acts_at_the_next_batch():
    p = Pipeline(Settings(), ["dev"])
    frames = lines_frames(spikes_every_minute())
    p.process(frames[:2000])
    (first,) = p.alerts
    done = threading.Event()
    threading.Thread(target=lambda: (p.request_feedback(first.id, "false_positive"),
                                     done.set())).start()  # fmt: skip
    assert done.wait(2)
    p.process(frames[2000:])
    assert p.feedback_applied == 1
    assert len(p.alerts) == 1, [a.reason for a in p.alerts]


def test_labels_given_up_front_act_when_their_episode_closes():
    lines = spikes_every_minute()
    plain = Pipeline(Settings(), ["dev"])
    plain.process(lines_frames(lines))
    first = plain.alerts[0]
    label = new_label("temp", first.start, first.end, "false_positive")
    taught = Pipeline(Settings(), ["dev"])
    taught.learn_labels([label])
    taught.process(lines_frames(lines))
    assert len(plain.alerts) == 8 and len(taught.alerts) == 1


def test_a_live_board_that_falls_silent_raises_a_dropout_alert_until_it_speaks_again():
    master, slave = os.openpty()
    tty.setraw(slave)
    p = Pipeline(Settings(), ["dev"])
    runner = Runner([SerialSource(os.ttyname(slave))], p)
    runner.start()
    try:

        def send(k):
            for i in range(k):
                os.write(master, f"temp:{21.5 + 0.01 * (i % 7):.2f}\r\n".encode())
                time.sleep(0.05)

        send(60)
        deadline = time.monotonic() + 10
        while not p.alerts and time.monotonic() < deadline:
            time.sleep(0.05)
        (alert,) = p.alerts
        assert alert.reason.startswith("no data for") and alert.end is None
        assert p.snapshot().channels["temp"].in_alert
        send(3)
        deadline = time.monotonic() + 5
        while alert.end is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert p.alerts[0].end is not None and len(p.alerts) == 1
    finally:
        runner.stop()
        os.close(master)
        os.close(slave)


def test_a_pipe_faster_than_scoring_is_held_back_not_buffered_without_bound():
    # `cat big.log | sensorscope score -`: while scoring is behind, the stdin reader waits
    # and the pipe holds the writer back, instead of the backlog piling up in memory.
    from sensorscope.sources import StdinSource

    data_r, data_w = os.pipe()
    scoring = threading.Event()
    # A file object, as sys.stdin.buffer is: the reader takes its descriptor.
    pipe_in = os.fdopen(data_r, "rb", buffering=0)
    src = StdinSource(stream=pipe_in)
    # The scores' consumer is stuck (a slow disk, a full terminal): scoring waits for it.
    runner = Runner([src], Pipeline(Settings(), src.names, on_batch=lambda b: scoring.wait(60)))
    runner.start()
    line = b"temp:21.5 hum:40.2 " + b"pad:1 " * 30 + b"\n"
    block = line * (65536 // len(line))
    total = 24 << 20
    written = 0

    def write() -> None:
        nonlocal written
        while written < total:
            written += os.write(data_w, block)

    writer = threading.Thread(target=write, daemon=True)
    writer.start()
    try:
        # Held back means the writer makes no progress for a while; a thread merely not
        # scheduled for one interval on a busy machine does not count as held back.
        still, last = 0, -1
        while writer.is_alive() and still < 4:
            still = still + 1 if written == last else 0
            last = written
            time.sleep(0.25)
        # Held back after what fits in the bounded queue, the batch being scored and the
        # pipe: a few MB, not everything written.
        assert written < 6 << 20, f"{written >> 20} MB taken from the pipe while scoring waits"
    finally:
        scoring.set()
        writer.join(60)
        os.close(data_w)
        assert runner.wait(60)
        runner.stop()
        pipe_in.close()
    assert not writer.is_alive() and written >= total


def test_a_port_faster_than_scoring_for_good_is_recorded_whole_and_its_unscored_lines_counted(
    tmp_path,
):
    # A board on a port cannot be held back: when scoring has fallen a bound behind, what
    # the port gives is still recorded, but not queued for scoring, and counted.
    master, slave = os.openpty()
    tty.setraw(slave)
    src = SerialSource(os.ttyname(slave))
    scoring = threading.Event()
    p = Pipeline(Settings(), [src.name], on_batch=lambda b: scoring.wait(60))
    rec = tmp_path / "board.jsonl"
    # Some 200 of these short lines (the backlog is bytes of memory).
    runner = Runner([src], p, RecordingWriter(str(rec)), live_backlog=200 * (FRAME_BYTES + 10))
    runner.start()
    n = 3000
    try:
        for i in range(n):
            os.write(master, f"temp:{21.5 + 0.01 * (i % 7):.2f}\r\n".encode())
        deadline = time.monotonic() + 20
        while src.status.lines < n and time.monotonic() < deadline:
            time.sleep(0.05)
        assert src.status.lines == n
        unscored = src.status.unscored
    finally:
        scoring.set()
        time.sleep(0.5)
        runner.stop()
        os.close(master)
        os.close(slave)
    recorded = [line for line in rec.read_text().splitlines() if '"line"' in line]
    assert len(recorded) == n
    scored = p.totals().lines
    assert unscored > 0
    assert scored + unscored == n
    # Bounded: what waited for the scorer, plus what it held, not the whole stream.
    assert scored < n / 2


def test_a_slow_board_is_scored_a_gathering_at_a_time_not_line_by_line():
    # A call costs ~2 ms a channel whatever it holds: a board printing a line every 10 ms,
    # each read on its own, must not be scored line by line (runner.GATHER).
    master, slave = os.openpty()
    tty.setraw(slave)
    src = SerialSource(os.ttyname(slave))
    calls = []
    p = Pipeline(Settings(), [src.name], on_batch=lambda b: calls.append(b))
    runner = Runner([src], p)
    runner.start()
    n = 60
    try:
        for i in range(n):
            os.write(master, f"temp:{21.5 + 0.01 * (i % 7):.2f}\r\n".encode())
            time.sleep(0.01)
        deadline = time.monotonic() + 20
        while p.totals().lines < n and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        runner.stop()
        os.close(master)
        os.close(slave)
    assert p.totals().lines == n
    # Some 0.6 s of lines in calls of up to 0.1 s each: a handful, not sixty.
    assert len(calls) <= n // 4
