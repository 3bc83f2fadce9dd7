from __future__ import annotations

import json
import math
import os
import re
import signal
import statistics
import threading
import time
from pathlib import Path

import pytest
import serial

from sensorscope.errors import UserError
from sensorscope.simulate import (
    CHANNEL_NAMES,
    FAULT_KINDS,
    Board,
    Fault,
    PtyBoard,
    run_simulator,
    write_labels,
)

NUMBER = r"-?\d+\.\d\d"
PLOTTER = re.compile(rf"^temp:{NUMBER} hum:{NUMBER} pressure:{NUMBER} light:{NUMBER}$")


def values(board: Board, channel: str, first: int, stop: int) -> list[float | None]:
    """One channel's values for samples [first, stop), read back through the json format."""
    as_json = Board(
        board.channels,
        board.rate,
        board.seed,
        "json",
        board.fault_every,
        board.first_fault,
        board.faults,
    )
    return [json.loads(as_json.line(i))[channel] for i in range(first, stop)]


def samples_of(board: Board, fault: Fault) -> range:
    first = math.ceil(fault.start * board.rate - 1e-9)
    stop = math.ceil(fault.end * board.rate - 1e-9)
    return range(first, stop)


def wait_for(condition, timeout: float = 2.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.01)
    return False


def read_lines(port: str, seconds: float) -> list[bytes]:
    lines = []
    with serial.Serial(port, 115200, timeout=0.5) as ser:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            line = ser.readline()
            if line:
                lines.append(line)
    # A reader that connects mid-stream may catch the tail of a line first.
    return lines[1:]


# Board: the signal


def test_same_seed_gives_the_same_lines():
    a, b = Board(seed=7), Board(seed=7)
    assert [a.line(i) for i in range(200)] == [b.line(i) for i in range(200)]


def test_different_seeds_give_different_lines():
    a, b = Board(seed=1), Board(seed=2)
    assert [a.line(i) for i in range(20)] != [b.line(i) for i in range(20)]


def test_a_line_does_not_depend_on_which_lines_came_before():
    board = Board(seed=3, first_fault=1.0, fault_every=1.0)
    forward = [board.line(i) for i in range(100)]
    fresh = Board(seed=3, first_fault=1.0, fault_every=1.0)
    assert [fresh.line(i) for i in reversed(range(100))][::-1] == forward


def test_channel_names_start_with_the_classic_four_and_offer_at_least_eight():
    assert CHANNEL_NAMES[:4] == ("temp", "hum", "pressure", "light")
    assert len(CHANNEL_NAMES) >= 8
    assert Board(channels=8).names == CHANNEL_NAMES[:8]


@pytest.mark.parametrize("channels", [0, len(CHANNEL_NAMES) + 1])
def test_an_impossible_channel_count_is_refused(channels):
    with pytest.raises(ValueError, match="channels"):
        Board(channels=channels)


def test_an_unknown_format_is_refused():
    with pytest.raises(ValueError, match="format"):
        Board(fmt="xml")


def test_normal_signal_sits_near_the_baselines_with_some_noise():
    board = Board(faults=())
    for name, baseline, tolerance in [
        ("temp", 21.5, 0.5),
        ("hum", 40.2, 2.0),
        ("pressure", 1013.0, 1.0),
        ("light", 300.0, 40.0),
    ]:
        series = values(board, name, 0, 300)
        assert all(abs(v - baseline) < tolerance for v in series), name
        assert statistics.pstdev(series) > 0, name


# Board: formats


def test_plotter_lines_are_name_colon_value_with_two_decimals():
    board = Board(fmt="plotter", faults=())
    assert all(PLOTTER.match(board.line(i)) for i in range(50))


def test_kv_lines_are_comma_separated_assignments():
    line = Board(fmt="kv", faults=()).line(0)
    assert re.match(rf"^temp={NUMBER}, hum={NUMBER}, pressure={NUMBER}, light={NUMBER}$", line), (
        line
    )


def test_csv_has_a_header_then_bare_values():
    board = Board(fmt="csv", faults=())
    assert board.header() == "temp,hum,pressure,light"
    assert re.match(rf"^{NUMBER},{NUMBER},{NUMBER},{NUMBER}$", board.line(0))


def test_only_csv_has_a_header():
    assert Board(fmt="plotter").header() is None
    assert Board(fmt="json").header() is None


def test_json_lines_are_objects_of_numbers():
    record = json.loads(Board(fmt="json", faults=()).line(0))
    assert list(record) == ["temp", "hum", "pressure", "light"]
    assert all(isinstance(v, float) for v in record.values())


# Board: the fault schedule


def test_faults_start_at_first_fault_and_cycle_through_the_kinds_in_order():
    board = Board(rate=50.0, first_fault=10.0, fault_every=5.0)
    faults = board.faults_until(30.0)
    assert [f.kind for f in faults] == ["spike", "stuck", "drift", "noise"]
    assert [f.start for f in faults] == [10.0, 15.0, 20.0, 25.0]
    assert all(f.channel in board.names for f in faults)


def test_the_kinds_start_over_after_the_last_one():
    faults = Board(first_fault=0.0, fault_every=1.0).faults_until(7.0)
    assert [f.kind for f in faults] == [*FAULT_KINDS, "spike", "stuck"]


def test_no_fault_has_started_before_first_fault():
    assert Board(first_fault=10.0).faults_until(10.0) == []


def test_the_schedule_follows_only_the_given_kinds():
    faults = Board(first_fault=1.0, fault_every=1.0, faults=("drift",)).faults_until(4.0)
    assert [f.kind for f in faults] == ["drift"] * 3


def test_fault_channels_are_drawn_from_the_seed():
    def channels(seed: int) -> list[str]:
        board = Board(seed=seed, first_fault=0.0, fault_every=1.0)
        return [f.channel for f in board.faults_until(40.0)]

    assert channels(5) == channels(5)
    assert len(set(channels(5))) > 1
    assert channels(5) != channels(6)


def test_fault_durations():
    board = Board(rate=10.0, first_fault=0.0, fault_every=10.0)
    durations = {f.kind: f.end - f.start for f in board.faults_until(50.0)}
    assert 0.1 <= durations["spike"] <= 0.3 + 1e-9
    assert durations["stuck"] == pytest.approx(3.0)
    assert durations["drift"] == pytest.approx(6.0)
    assert durations["noise"] == pytest.approx(2.0)
    assert durations["missing"] == pytest.approx(1.0)


# Board: what each fault looks like


@pytest.mark.parametrize("seed", range(8))
def test_a_spike_lands_far_outside_the_normal_range(seed):
    board = Board(rate=10.0, seed=seed, first_fault=10.0, fault_every=100.0, faults=("spike",))
    (spike,) = board.faults_until(11.0)
    normal = values(board, spike.channel, 0, 100)
    low, high = min(normal), max(normal)
    width = high - low
    hit = samples_of(board, spike)
    assert 1 <= len(hit) <= 3
    for v in values(board, spike.channel, hit.start, hit.stop):
        assert v < low - width or v > high + width, (v, low, high)


def test_a_spike_is_over_after_its_samples():
    board = Board(rate=10.0, first_fault=10.0, fault_every=100.0, faults=("spike",))
    (spike,) = board.faults_until(11.0)
    normal = values(board, spike.channel, 0, 100)
    after = samples_of(board, spike).stop
    (v,) = values(board, spike.channel, after, after + 1)
    assert min(normal) - 0.5 * (max(normal) - min(normal)) <= v


@pytest.mark.parametrize("seed", range(4))
def test_stuck_holds_the_last_value_exactly(seed):
    board = Board(rate=10.0, seed=seed, first_fault=5.0, fault_every=100.0, faults=("stuck",))
    (stuck,) = board.faults_until(6.0)
    hit = samples_of(board, stuck)
    held = values(board, stuck.channel, hit.start - 1, hit.stop)
    assert len(set(held)) == 1
    assert len(held) == 31
    (after,) = values(board, stuck.channel, hit.stop, hit.stop + 1)
    assert after != held[0]


def test_stuck_holds_the_printed_text_too():
    board = Board(rate=10.0, first_fault=5.0, fault_every=100.0, faults=("stuck",))
    (stuck,) = board.faults_until(6.0)
    col = board.names.index(stuck.channel)
    hit = samples_of(board, stuck)
    fields = {board.line(i).split(" ")[col] for i in range(hit.start - 1, hit.stop)}
    assert len(fields) == 1


@pytest.mark.parametrize("seed", range(4))
def test_drift_ramps_well_beyond_the_normal_range_then_returns(seed):
    board = Board(rate=10.0, seed=seed, first_fault=20.0, fault_every=100.0, faults=("drift",))
    (drift,) = board.faults_until(21.0)
    normal = values(board, drift.channel, 0, 200)
    centre, half = statistics.mean(normal), (max(normal) - min(normal)) / 2
    hit = samples_of(board, drift)
    during = values(board, drift.channel, hit.start, hit.stop)
    assert max(abs(v - centre) for v in during) > 2.5 * half
    after = values(board, drift.channel, hit.stop + 5, hit.stop + 25)
    assert all(abs(v - centre) < 2 * half for v in after)


def test_a_noise_burst_is_much_noisier_than_normal():
    board = Board(rate=10.0, first_fault=20.0, fault_every=100.0, faults=("noise",))
    (burst,) = board.faults_until(21.0)

    def jitter(series: list[float]) -> float:
        return statistics.pstdev([b - a for a, b in zip(series, series[1:], strict=False)])

    hit = samples_of(board, burst)
    normal = values(board, burst.channel, 0, 200)
    assert jitter(values(board, burst.channel, hit.start, hit.stop)) > 5 * jitter(normal)


def missing_board(fmt: str) -> tuple[Board, Fault, int]:
    board = Board(rate=10.0, fmt=fmt, first_fault=2.0, fault_every=100.0, faults=("missing",))
    (gap,) = board.faults_until(3.0)
    return board, gap, samples_of(board, gap).start


def test_missing_prints_an_empty_plotter_field():
    board, gap, i = missing_board("plotter")
    fields = board.line(i).split(" ")
    assert fields[board.names.index(gap.channel)] == f"{gap.channel}:"
    assert f"{gap.channel}: " in board.line(i) + " "


def test_missing_prints_an_empty_kv_field():
    board, gap, i = missing_board("kv")
    assert board.line(i).split(", ")[board.names.index(gap.channel)] == f"{gap.channel}="


def test_missing_prints_an_empty_csv_field():
    board, gap, i = missing_board("csv")
    assert board.line(i).split(",")[board.names.index(gap.channel)] == ""


def test_missing_prints_json_null():
    board, gap, i = missing_board("json")
    assert json.loads(board.line(i))[gap.channel] is None


def test_missing_lasts_about_a_second():
    board, gap, i = missing_board("json")
    series = values(board, gap.channel, i - 1, i + 11)
    assert series[0] is not None and series[-1] is not None
    assert series[1:-1] == [None] * 10


# Ground-truth labels

LABEL_KEYS = {"id", "channel", "start", "end", "label", "alert", "at", "source", "kind"}


def test_write_labels_writes_one_object_per_anomalous_fault(tmp_path):
    faults = Board(first_fault=1.0, fault_every=1.0).faults_until(6.0)
    path = tmp_path / "run.labels.jsonl"
    assert write_labels(path, faults, t0=1_700_000_000.0) == 4
    records = [json.loads(line) for line in path.read_text().splitlines()]
    assert [r["kind"] for r in records] == ["spike", "stuck", "drift", "noise"]
    anomalous = [f for f in faults if f.kind != "missing"]
    for record, fault in zip(records, anomalous, strict=True):
        assert set(record) == LABEL_KEYS
        assert record["label"] == "anomaly"
        assert record["alert"] is None
        assert record["source"] == "simulator"
        assert record["channel"] == fault.channel
        assert record["start"] == pytest.approx(1_700_000_000.0 + fault.start)
        assert record["end"] == pytest.approx(1_700_000_000.0 + fault.end)
    assert len({r["id"] for r in records}) == 4


def test_write_labels_clips_to_the_stop_time(tmp_path):
    faults = [Fault("drift", "temp", 10.0, 16.0), Fault("spike", "hum", 20.0, 20.1)]
    path = tmp_path / "x.labels.jsonl"
    assert write_labels(path, faults, t0=100.0, until=12.0) == 1
    (record,) = [json.loads(line) for line in path.read_text().splitlines()]
    assert (record["start"], record["end"]) == (110.0, 112.0)


def test_write_labels_appends_to_an_existing_store(tmp_path):
    path = tmp_path / "x.labels.jsonl"
    path.write_text('{"retract": "abc"}\n')
    write_labels(path, [Fault("spike", "temp", 1.0, 1.1)], t0=0.0)
    assert len(path.read_text().splitlines()) == 2


# PtyBoard


def test_the_port_serves_crlf_lines_at_the_rate():
    with PtyBoard(Board(rate=50.0, faults=())) as sim:
        assert re.match(r"^/dev/pts/\d+$", sim.port)
        lines = read_lines(sim.port, 0.6)
    assert 18 <= len(lines) <= 40
    assert all(line.endswith(b"\r\n") for line in lines)
    assert all(PLOTTER.match(line.decode().rstrip("\r\n")) for line in lines)


def test_lines_follow_the_board_in_order():
    board = Board(rate=50.0, fmt="kv", seed=4, faults=())
    with PtyBoard(board) as sim:
        lines = [line.decode().rstrip("\r\n") for line in read_lines(sim.port, 0.4)]
    first = [board.line(i) for i in range(100)].index(lines[0])
    assert lines == [board.line(i) for i in range(first, first + len(lines))]


def test_writes_are_paced_by_the_clock():
    with PtyBoard(Board(rate=100.0, faults=())) as sim:
        time.sleep(0.5)
        elapsed = time.time() - sim.t0
        samples = sim.samples
    assert abs(samples - elapsed * 100) <= 5


def test_the_link_points_at_the_slave_and_goes_with_stop(tmp_path):
    link = str(tmp_path / "ttyVIRT0")
    sim = PtyBoard(Board(rate=20.0), link=link)
    assert sim.start() == link
    try:
        assert os.readlink(link) == sim.slave_path
        assert os.path.realpath(link) == sim.slave_path
        assert read_lines(link, 0.3)
    finally:
        sim.stop()
    assert not os.path.lexists(link)


def test_an_existing_symlink_is_re_pointed(tmp_path):
    link = tmp_path / "ttyVIRT0"
    link.symlink_to("/dev/null")
    with PtyBoard(Board(), link=str(link)) as sim:
        assert os.readlink(link) == sim.slave_path


def test_a_file_in_the_way_of_the_link_is_left_alone(tmp_path):
    link = tmp_path / "ttyVIRT0"
    link.write_text("mine")
    with pytest.raises(FileExistsError):
        PtyBoard(Board(), link=str(link)).start()
    assert link.read_text() == "mine"


def read_raw(port: str, want: int) -> bytes:
    """Read without pyserial, which discards what was waiting when it opens the port."""
    fd = os.open(port, os.O_RDONLY | os.O_NOCTTY | os.O_NONBLOCK)
    data = b""
    try:
        deadline = time.monotonic() + 2.0
        while data.count(b"\r\n") < want and time.monotonic() < deadline:
            try:
                data += os.read(fd, 4096)
            except BlockingIOError:
                time.sleep(0.01)
    finally:
        os.close(fd)
    return data


def test_csv_header_comes_first():
    with PtyBoard(Board(rate=20.0, fmt="csv")) as sim:
        data = read_raw(sim.port, 3)
    header, first, _ = data.split(b"\r\n", 2)
    assert header == b"temp,hum,pressure,light"
    assert re.match(rf"^{NUMBER},{NUMBER},{NUMBER},{NUMBER}$", first.decode())


def test_csv_header_comes_again_after_a_replug(tmp_path):
    link = str(tmp_path / "tty")
    with PtyBoard(Board(rate=20.0, fmt="csv"), link=link) as sim:
        sim.unplug()
        sim.replug()
        data = read_raw(link, 2)
    assert data.startswith(b"temp,hum,pressure,light\r\n")


def test_nobody_reading_drops_lines_and_counts_them():
    sim = PtyBoard(Board(rate=20000.0, faults=()))
    sim.start()
    try:
        assert wait_for(lambda: sim.dropped > 0, timeout=5.0)
    finally:
        sim.stop()
    assert sim.lines_written > 0
    assert sim.lines_written + sim.dropped == sim.samples


def test_unplug_breaks_the_reader_and_removes_the_link(tmp_path):
    link = str(tmp_path / "ttyVIRT0")
    with PtyBoard(Board(rate=50.0), link=link) as sim:
        with serial.Serial(link, 115200, timeout=0.5) as ser:
            assert ser.readline()
            sim.unplug()
            assert sim.unplugged
            assert not os.path.lexists(link)
            with pytest.raises((serial.SerialException, OSError)):
                for _ in range(100):
                    ser.read(4096)


def test_replug_comes_back_on_a_new_pty_behind_the_same_link(tmp_path):
    link = str(tmp_path / "ttyVIRT0")
    with PtyBoard(Board(rate=50.0), link=link) as sim:
        old = os.readlink(link)
        # The old reader keeps its fd, as a program that has not noticed yet would, so the
        # kernel cannot hand the same pts number back.
        with serial.Serial(link, 115200, timeout=0.5):
            sim.unplug()
            time.sleep(0.1)
            sim.replug()
            new = os.readlink(link)
            assert new != old
            assert re.match(r"^/dev/pts/\d+$", new)
            assert not sim.unplugged
            assert read_lines(link, 0.4)
    assert sim.replugs == 1
    assert sim.outages[0][1] is not None


def test_lines_due_while_unplugged_are_skipped_not_queued(tmp_path):
    with PtyBoard(Board(rate=100.0), link=str(tmp_path / "tty")) as sim:
        time.sleep(0.1)
        sim.unplug()
        before = sim.lines_written + sim.dropped
        time.sleep(0.3)
        assert sim.lines_written + sim.dropped == before
        assert sim.samples > before + 20


def test_unplug_at_unplugs_then_replugs_by_itself(tmp_path):
    link = str(tmp_path / "ttyVIRT0")
    with PtyBoard(Board(rate=50.0), link=link, unplug_at=0.2, replug_after=0.3) as sim:
        first = os.readlink(link)
        with serial.Serial(link, 115200, timeout=0.5):
            assert wait_for(lambda: sim.unplugged, timeout=1.0)
            assert not os.path.lexists(link)
            assert wait_for(lambda: sim.replugs == 1, timeout=1.0)
            assert os.readlink(link) != first
            assert read_lines(link, 0.3)
    (start, end) = sim.outages[0]
    assert start == pytest.approx(0.2, abs=0.1)
    assert end - start == pytest.approx(0.3, abs=0.1)


def test_ground_truth_leaves_out_faults_nobody_could_see(tmp_path):
    board = Board(rate=20.0, first_fault=0.1, fault_every=0.1, faults=("spike",))
    with PtyBoard(board, unplug_at=0.3, replug_after=0.6) as sim:
        time.sleep(1.2)
    truth = sim.ground_truth()
    assert truth
    assert all(not (0.35 < f.start and f.end < 0.85) for f in truth)
    assert all(f.end <= sim.elapsed() for f in truth)


# run_simulator


def test_run_simulator_reports_the_port_and_writes_labels(tmp_path):
    said: list[str] = []
    labels = tmp_path / "run.labels.jsonl"
    status = run_simulator(
        link=str(tmp_path / "tty"),
        rate=50.0,
        duration=0.6,
        fault_every=0.1,
        first_fault=0.1,
        labels_path=str(labels),
        out=said.append,
    )
    assert status == 0
    assert said[0] == f"port: {tmp_path / 'tty'}"
    match = re.match(r"^labels: (.+) \((\d+) faults\)$", said[1])
    assert match and match[1] == str(labels)
    records = [json.loads(line) for line in labels.read_text().splitlines()]
    assert len(records) == int(match[2]) >= 3
    assert all(set(r) == LABEL_KEYS for r in records)
    assert not os.path.lexists(tmp_path / "tty")


def test_run_simulator_names_the_labels_file_after_the_time(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert run_simulator(duration=0.1, out=lambda _: None) == 0
    (path,) = Path(tmp_path).glob("sim-*.labels.jsonl")
    assert re.match(r"^sim-\d{8}-\d{6}\.labels\.jsonl$", path.name)


def test_sigterm_stops_the_simulator_cleanly(tmp_path):
    said: list[str] = []

    def out(text: str) -> None:
        said.append(text)
        if text.startswith("port: "):
            threading.Timer(0.2, os.kill, (os.getpid(), signal.SIGTERM)).start()

    before = signal.getsignal(signal.SIGTERM)
    started = time.monotonic()
    status = run_simulator(labels_path=str(tmp_path / "l.labels.jsonl"), out=out)
    assert status == 0
    assert time.monotonic() - started < 3.0
    assert said[-2].startswith("labels: ")
    assert signal.getsignal(signal.SIGTERM) == before


def test_an_impossible_link_path_is_one_line_and_exit_2(cli, tmp_path):
    proc = cli("simulate", "--link", str(tmp_path / "no" / "such" / "tty"), "--duration", "0.1")
    assert proc.returncode == 2
    err = proc.stderr.decode()
    assert err.startswith("sensorscope: error: cannot create the simulated port")
    assert err.count("\n") == 1


def test_bad_arguments_are_a_user_error():
    with pytest.raises(UserError, match="unknown format 'xml'"):
        run_simulator(fmt="xml", duration=0.1)


def test_run_simulator_says_how_many_lines_the_port_took(tmp_path):
    """The summary counts every line a reader could have got, so a recorder's loss is exact."""
    said: list[str] = []
    got: list[bytes] = []
    link = tmp_path / "tty"

    def read_all() -> None:
        # Opened before the board's first line is due, so the reader misses nothing.
        with os.fdopen(os.open(link, os.O_RDONLY | os.O_NOCTTY), "rb", buffering=0) as f:
            buf = b""
            while True:
                try:
                    data = f.read(4096)
                except OSError:  # EIO: the simulator closed its side
                    break
                if not data:
                    break
                buf += data
        got.extend(buf.splitlines())

    def out(text: str) -> None:
        said.append(text)
        if text.startswith("port: "):
            reader.start()

    reader = threading.Thread(target=read_all)
    status = run_simulator(
        link=str(link), fmt="csv", rate=50.0, duration=1.0, labels_path=str(tmp_path / "l"), out=out
    )
    reader.join(timeout=5)
    assert status == 0
    match = re.match(r"^sent: (\d+) lines \+ (\d+) headers, (\d+) dropped \(port full\)$", said[-1])
    assert match, said
    assert int(match[1]) + int(match[2]) == len(got) > 40
    assert int(match[2]) == 1 and int(match[3]) == 0


# Board: fault severity (bench/protocol.py measures how small a fault is still caught)


def excursion(kind: str, severity: float, seed: int) -> tuple[Fault, list[float]]:
    """A fault's values minus what the same board prints without it, sample by sample."""
    shape = {"rate": 10.0, "seed": seed, "fmt": "json", "first_fault": 20.0, "fault_every": 100.0}
    board = Board(**shape, faults=(kind,), severity=severity)
    clean = Board(**shape, faults=())
    (fault,) = board.faults_until(21.0)
    hit = samples_of(board, fault)
    got = [json.loads(board.line(i))[fault.channel] for i in hit]
    normal = [json.loads(clean.line(i))[fault.channel] for i in hit]
    return fault, [g - n for g, n in zip(got, normal, strict=True)]


@pytest.mark.parametrize("kind", ["spike", "drift", "noise"])
@pytest.mark.parametrize("seed", range(3))
def test_severity_scales_how_far_a_fault_takes_the_signal(kind, seed):
    fault, full = excursion(kind, 1.0, seed)
    same, part = excursion(kind, 0.25, seed)
    assert same == fault  # the schedule does not depend on the severity
    # Values print with two decimals: allow their rounding on both boards.
    for f, p in zip(full, part, strict=True):
        assert abs(p - 0.25 * f) <= 0.011, (f, p)
    assert max(abs(p) for p in part) < 0.3 * max(abs(f) for f in full)


def test_a_stuck_sensor_is_stuck_at_any_severity():
    shape = {"rate": 10.0, "fmt": "json", "first_fault": 5.0, "fault_every": 100.0}
    full = Board(**shape, faults=("stuck",))
    mild = Board(**shape, faults=("stuck",), severity=0.2)
    assert [full.line(i) for i in range(200)] == [mild.line(i) for i in range(200)]


def test_severity_one_is_the_classic_board():
    classic = Board(channels=6, rate=10.0, seed=5, fault_every=2.0, first_fault=1.0)
    same = Board(channels=6, rate=10.0, seed=5, fault_every=2.0, first_fault=1.0, severity=1.0)
    assert [classic.line(i) for i in range(600)] == [same.line(i) for i in range(600)]


@pytest.mark.parametrize("severity", [0.0, -1.0, math.nan])
def test_a_severity_that_is_not_positive_is_refused(severity):
    with pytest.raises(ValueError, match="severity"):
        Board(severity=severity)
