"""The command line as a user runs it: real subprocesses, real files, real ptys."""

from __future__ import annotations

import csv
import json
import os
import random
import signal
import subprocess
import sys
import time
import tty
from datetime import datetime, timedelta, timezone

import pytest

from sensorscope.model import Frame
from sensorscope.recording import RecordingWriter


def write_recording(path, n=1500, spike_at=1000, src="ttyACM0"):
    rng = random.Random(5)
    w = RecordingWriter(str(path), {src: {"kind": "serial"}})
    frames = [Frame(1700000000.0, src, event="connect", detail="/dev/pts/9")]
    for i in range(n):
        temp = 35.0 if i == spike_at else 21.5 + rng.gauss(0, 0.1)
        frames.append(
            Frame(1700000000.0 + i * 0.1, src, f"temp:{temp:.2f} hum:{40 + rng.gauss(0, 0.2):.2f}")
        )
    w.write(frames)
    w.close()


def write_nab(path, n=600):
    rng = random.Random(6)
    t0 = datetime(2014, 4, 1, tzinfo=timezone.utc)
    with open(path, "w") as fh:
        fh.write("timestamp,value\n")
        for i in range(n):
            v = 80.0 if i == 500 else 50 + rng.gauss(0, 1)
            ts = (t0 + timedelta(minutes=5 * i)).strftime("%Y-%m-%d %H:%M:%S")
            fh.write(f"{ts},{v:.3f}\n")


def wait_for_text(path, text, timeout=60.0, proc=None):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.exists() and text in path.read_text():
            return
        if proc is not None and proc.poll() is not None:
            raise AssertionError(f"exited {proc.returncode}: {proc.stderr.read().decode()}")
        time.sleep(0.05)
    if proc is not None:
        proc.kill()
        raise AssertionError(f"{text!r} never appeared in {path}: {proc.communicate()[1]!r}")
    raise AssertionError(f"{text!r} never appeared in {path}")


def assert_one_line_error(proc, text):
    err = proc.stderr.decode()
    assert proc.returncode == 2, err
    assert "Traceback" not in err
    assert len(err.strip().splitlines()) == 1, err
    assert text in err


def test_score_writes_one_csv_row_per_channel_sample_and_summarises_alerts(cli, tmp_path):
    rec = tmp_path / "rec.jsonl"
    write_recording(rec)
    out = tmp_path / "scores.csv"
    proc = cli("score", str(rec), "-o", str(out))
    assert proc.returncode == 0, proc.stderr.decode()
    rows = list(csv.DictReader(out.open()))
    assert list(rows[0]) == ["timestamp", "channel", "value", "imputed", "score", "alert"]
    assert len(rows) == 3000
    assert [r["channel"] for r in rows[:4]] == ["temp", "hum", "temp", "hum"]
    spike = rows[2000]
    assert (spike["channel"], spike["value"], spike["alert"]) == ("temp", "35.0", "1")
    stdout = proc.stdout.decode()
    assert "alert episode" in stdout and "1500 lines" in stdout


def test_score_jsonl_output(cli, tmp_path):
    rec = tmp_path / "rec.jsonl"
    write_recording(rec, n=300)
    out = tmp_path / "scores.jsonl"
    assert cli("score", str(rec), "-o", str(out)).returncode == 0
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(rows) == 600
    assert {"timestamp", "channel", "value", "imputed", "score", "alert"} <= rows[0].keys()


def test_score_of_a_nab_series_gives_exactly_one_row_per_input_row(cli, tmp_path):
    series = tmp_path / "nab.csv"
    write_nab(series)
    lines = series.read_text().splitlines()
    lines[300] = lines[300].split(",")[0] + ","  # a missing value keeps its row
    series.write_text("\n".join(lines) + "\n")
    out = tmp_path / "scores.csv"
    proc = cli("score", str(series), "-o", str(out))
    assert proc.returncode == 0, proc.stderr.decode()
    rows = list(csv.DictReader(out.open()))
    assert len(rows) == 600
    assert rows[0]["timestamp"] == "2014-04-01T00:00:00Z"
    assert rows[299]["imputed"] == "1"
    assert rows[500]["alert"] == "1"


def test_score_reads_stdin(cli):
    data = "".join(f"{20 + (i % 5) * 0.1:.1f},{40 + (i % 3) * 0.1:.1f}\n" for i in range(100))
    proc = cli("score", "-", "-o", "-", input=("temp,hum\n" + data).encode())
    assert proc.returncode == 0, proc.stderr.decode()
    rows = list(csv.DictReader(proc.stdout.decode().splitlines()))
    assert len(rows) == 200 and rows[0]["channel"] == "temp"


def test_score_missing_port_is_one_line_and_exit_2(cli):
    assert_one_line_error(cli("score", "/dev/ttyNOPE"), "no such port: /dev/ttyNOPE")


def test_score_not_a_serial_device(cli):
    assert_one_line_error(cli("score", "/dev/null"), "not a serial device")


def test_score_busy_port(cli):
    master, slave = os.openpty()
    port = os.ttyname(slave)
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            f"import serial, time; s = serial.Serial({port!r}, exclusive=True); "
            "print('ok', flush=True); time.sleep(30)",
        ],
        stdout=subprocess.PIPE,
    )
    try:
        assert holder.stdout.readline().strip() == b"ok"
        assert_one_line_error(cli("score", port), "port busy")
    finally:
        holder.kill()
        os.close(master)
        os.close(slave)


ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def run_as_nobody(*args):
    env = dict(os.environ, PYTHONPATH=ROOT)
    return subprocess.run(
        [sys.executable, *args], capture_output=True, env=env, cwd="/", user=65534, timeout=60
    )


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to run as another user")
def test_permission_denied_names_the_group(tmp_path):
    try:
        importable = run_as_nobody("-c", "import sensorscope.cli").returncode == 0
    except PermissionError:
        importable = False
    if not importable:
        pytest.skip("this checkout is not readable by an unprivileged user")
    master, slave = os.openpty()
    port = os.ttyname(slave)
    os.chmod(port, 0o600)
    try:
        proc = run_as_nobody("-m", "sensorscope.cli", "score", port)
    finally:
        os.close(master)
        os.close(slave)
    assert_one_line_error(proc, f"permission denied on {port}")
    assert "group" in proc.stderr.decode()


def test_unreadable_or_malformed_files(cli, tmp_path):
    bad = tmp_path / "notes.jsonl"
    bad.write_text("just some text\n")
    assert_one_line_error(cli("score", str(bad)), "not a sensorscope recording")
    assert_one_line_error(cli("score", str(tmp_path / "nope.jsonl")), "no such file or port")
    assert_one_line_error(cli("score", str(tmp_path)), "is a directory")
    nocol = tmp_path / "x.csv"
    nocol.write_text("a,b\n1,2\n")
    assert_one_line_error(cli("score", str(nocol)), "no time column")


def test_unknown_format_detector_and_param(cli, tmp_path):
    rec = tmp_path / "rec.jsonl"
    write_recording(rec, n=10)
    assert_one_line_error(cli("score", str(rec), "--format", "xml"), "unknown format 'xml'")
    assert_one_line_error(cli("score", str(rec), "--detector", "magic"), "unknown detector 'magic'")
    assert_one_line_error(
        cli("score", str(rec), "--param", "trees=3"), "the default scorer has no parameter 'trees'"
    )
    assert_one_line_error(
        cli("score", str(rec), "--detector", "hst", "--param", "trees=3"),
        "HalfSpaceTrees has no parameter 'trees'",
    )
    assert_one_line_error(
        cli("score", str(rec), "--param", "hst_trees=many"), "bad value 'many' for hst_trees"
    )
    assert_one_line_error(cli("score", str(rec), "--features", "value,zz"), "unknown HST feature")
    assert_one_line_error(cli("score", str(rec), "--range", "temp=5"), "bad --range")
    assert_one_line_error(cli("score", str(rec), "--range", "temp=5:1"), "LOW must be below")
    assert_one_line_error(cli("score", str(rec), "--sentinel", "x"), "bad --sentinel")
    assert_one_line_error(cli("score", str(rec), "--speed", "fast"), "bad --speed")


def test_other_detector_by_name_with_params(cli, tmp_path):
    rec = tmp_path / "rec.jsonl"
    write_recording(rec, n=400)
    out = tmp_path / "s.csv"
    proc = cli("score", str(rec), "--detector", "OneClassSVM", "--param", "nu=0.05", "-o", str(out))
    assert proc.returncode == 0, proc.stderr.decode()
    scores = [float(r["score"]) for r in csv.DictReader(out.open())]
    assert len(scores) == 800 and all(0 <= s <= 1 for s in scores)


def test_record_from_a_pty_then_score_the_recording(cli, tmp_path):
    master, slave = os.openpty()
    tty.setraw(slave)
    port = os.ttyname(slave)
    rec = tmp_path / "rec.jsonl"
    env = dict(os.environ, PYTHONPATH=os.getcwd())
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "sensorscope.cli",
            "record",
            port,
            "-o",
            str(rec),
            "--duration",
            "6",
        ],
        stderr=subprocess.PIPE,
        env=env,
    )
    try:
        wait_for_text(rec, '"event": "connect"', proc=proc)
        for i in range(50):
            os.write(master, f"temp:{21 + i % 3}\r\n".encode())
        _, err = proc.communicate(timeout=60)
    finally:
        proc.kill()  # never leave a reader behind to grab the next test's pty
        os.close(master)
        os.close(slave)
    assert proc.returncode == 0, err.decode()
    records = [json.loads(line) for line in rec.read_text().splitlines()]
    assert records[0]["sensorscope"] == 1
    assert records[1]["event"] == "connect"
    assert sum(1 for r in records if "line" in r) == 50
    proc = cli("score", str(rec))
    assert proc.returncode == 0
    assert "50 lines" in proc.stdout.decode()


def sigint_default():
    # A job started in the background by a non-interactive shell (as CI may run us)
    # inherits SIGINT ignored, and Python then never raises KeyboardInterrupt. A user at a
    # terminal has the default; give the child that.
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def test_interrupt_flushes_and_exits_130(cli, tmp_path):
    master, slave = os.openpty()
    tty.setraw(slave)
    port = os.ttyname(slave)
    out = tmp_path / "s.csv"
    rec = tmp_path / "r.jsonl"
    env = dict(os.environ, PYTHONPATH=os.getcwd())
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "sensorscope.cli",
            "score",
            port,
            "-o",
            str(out),
            "--record",
            str(rec),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
        preexec_fn=sigint_default,
    )
    try:
        # Lines written before the port is open would be flushed by the open: wait for it.
        wait_for_text(rec, '"event": "connect"', proc=proc)
        for i in range(20):
            os.write(master, f"temp:{i}\r\n".encode())
        wait_for_text(rec, '"line": "temp:19"', proc=proc)
        time.sleep(0.3)
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=60)
    finally:
        proc.kill()
        os.close(master)
        os.close(slave)
    assert proc.returncode == 130, err.decode()
    assert "Traceback" not in err.decode()
    assert len(out.read_text().splitlines()) == 1 + 19  # the first line may be partial
    assert rec.read_text().count('"line"') == 20


def test_ports_lists_without_error(cli):
    proc = cli("ports")
    assert proc.returncode == 0
    assert proc.stdout.strip()


def test_record_a_simulated_board_through_unplug_and_replug_then_score_its_faults(cli, tmp_path):
    """The new user's first session: a board on a pty, recorded while unplugged, scored."""
    env = dict(os.environ, PYTHONPATH=ROOT)
    link = tmp_path / "board"
    truth = tmp_path / "truth.labels.jsonl"
    sim = subprocess.Popen(
        [sys.executable, "-m", "sensorscope.cli", "simulate", "--link", str(link), "--rate", "50",
         "--first-fault", "7", "--fault-every", "3", "--unplug-at", "4", "--replug-after", "1",
         "--duration", "16", "--labels", str(truth)],
        stdout=subprocess.PIPE,
        env=env,
    )  # fmt: skip
    try:
        assert sim.stdout.readline().decode().strip() == f"port: {link}"
        rec = tmp_path / "rec.jsonl"
        proc = cli("record", str(link), "-o", str(rec), "--duration", "14")
        assert proc.returncode == 0, proc.stderr.decode()
        assert "1 reconnects" in proc.stderr.decode()
    finally:
        sim.wait(30)
    events = [json.loads(x).get("event") for x in rec.read_text().splitlines()[1:]]
    assert [e for e in events if e] == ["connect", "disconnect", "connect"]
    out = tmp_path / "scores.csv"
    proc = cli("score", str(rec), "-o", str(out))
    assert proc.returncode == 0
    assert "1 reconnects" in proc.stdout.decode()
    rows = list(csv.DictReader(out.open()))

    def t(row):
        return datetime.fromisoformat(row["timestamp"].replace("Z", "+00:00")).timestamp()

    alerts = [(r["channel"], t(r)) for r in rows if r["alert"] == "1"]
    labels = [json.loads(x) for x in truth.read_text().splitlines()]
    seen = [lab for lab in labels if lab["end"] < t(rows[-1]) - 1]
    assert {lab["kind"] for lab in seen} >= {"spike", "stuck"}
    for lab in seen:
        assert any(
            ch == lab["channel"] and lab["start"] - 1 <= at <= lab["end"] + 2 for ch, at in alerts
        ), lab


def test_headless_demo_prints_the_alert_episodes_of_the_bundled_recording(cli):
    proc = cli("demo", "--headless")
    assert proc.returncode == 0, proc.stderr.decode()
    out = proc.stdout.decode()
    assert "alert episodes" in out and "stuck at" in out
    assert "6000 lines" in out


def test_simulate_straight_into_a_recording_with_its_labels(cli, tmp_path):
    rec = tmp_path / "sim.jsonl"
    proc = cli("simulate", "-o", str(rec), "--duration", "30", "--rate", "20", "--seed", "4")
    assert proc.returncode == 0, proc.stderr.decode()
    lines = rec.read_text().splitlines()
    assert json.loads(lines[0])["sensorscope"] == 1
    assert sum('"line"' in x for x in lines) == 600
    labels = [json.loads(x) for x in (tmp_path / "sim.labels.jsonl").read_text().splitlines()]
    assert [lab["kind"] for lab in labels] == ["spike", "stuck"]
    # Again into the same file: refused, and the first run's recording is left as it was.
    before = rec.read_bytes()
    again = cli("simulate", "-o", str(rec), "--duration", "30", "--rate", "20", "--seed", "5")
    assert_one_line_error(again, f"{rec} exists: simulate -o writes a new recording")
    assert rec.read_bytes() == before


def test_simulate_without_duration_for_a_recording_is_refused(cli, tmp_path):
    assert_one_line_error(cli("simulate", "-o", str(tmp_path / "x.jsonl")), "-o needs --duration")


def test_record_sends_on_each_connect_and_records_what_it_sent(tmp_path):
    # A board that starts streaming when told to: record tells it at every connect (the
    # replug included), and the recording says what was sent, when.
    import threading

    from sensorscope.simulate import Board, PtyBoard

    board = Board(channels=1, rate=20, seed=4, faults=())
    link = tmp_path / "ttyBOARD"
    rec = tmp_path / "rec.jsonl"
    with PtyBoard(board, link=str(link), unplug_at=1.5, replug_after=0.5) as sim:
        done = {}

        def run() -> None:
            done["proc"] = subprocess.run(
                [sys.executable, "-m", "sensorscope.cli", "record", str(link), "-o", str(rec),
                 "--duration", "4", "--send-on-connect", "start\\x01", "--line-ending", "crlf"],
                capture_output=True, timeout=60,
            )  # fmt: skip

        worker = threading.Thread(target=run)
        worker.start()
        worker.join(60)
        received = bytes(sim.received)
    assert done["proc"].returncode == 0, done["proc"].stderr.decode()
    assert received.count(b"start\x01\r\n") == 2  # the connect and the reconnect
    rows = [json.loads(x) for x in rec.read_text().splitlines()[1:]]
    sent = [r for r in rows if "tx" in r or "tx_b64" in r]
    assert len(sent) == 2 and all(r.get("tx") == "start\x01\r\n" for r in sent)
    events = [r.get("event") for r in rows if r.get("event")]
    assert events == ["connect", "disconnect", "connect"]


def test_record_send_on_connect_needs_a_port(cli, tmp_path):
    proc = cli("record", "-", "-o", str(tmp_path / "r.jsonl"), "--send-on-connect", "hi")
    assert_one_line_error(proc, "--send-on-connect needs a port to send to")


def test_record_needs_a_live_source(cli, tmp_path):
    rec = tmp_path / "rec.jsonl"
    write_recording(rec, n=5)
    proc = cli("record", str(rec), "-o", str(tmp_path / "copy.jsonl"))
    assert_one_line_error(proc, "record reads ports, URLs or '-'")


def test_labels_export_to_nab_windows_and_import_back_round_trips(cli, tmp_path):
    from sensorscope.labels import append_labels, new_label, read_labels
    from sensorscope.model import Retract

    labels = tmp_path / "series.labels.jsonl"
    (tmp_path / "series.csv").write_text("timestamp,value\n")
    t0 = datetime(2014, 4, 10, 7, 15, tzinfo=timezone.utc).timestamp()
    first = new_label("value", t0, t0 + 3600)
    fp = new_label("value", t0 + 7200, t0 + 7300, "false_positive")
    gone = new_label("value", t0 + 9000, t0 + 9100)
    append_labels(str(labels), [first, fp, gone, Retract(gone.id)])
    out = tmp_path / "windows.json"
    proc = cli("labels", "export", str(labels), "--nab", str(out))
    assert proc.returncode == 0, proc.stderr.decode()
    assert json.loads(out.read_text()) == {
        "series.csv": [["2014-04-10 07:15:00.000000", "2014-04-10 08:15:00.000000"]]
    }
    back = tmp_path / "back.labels.jsonl"
    assert cli("labels", "import", str(out), "-o", str(back)).returncode == 0
    (rec,) = read_labels(str(back))
    assert (rec.channel, rec.start, rec.end, rec.kind) == (
        "value",
        t0,
        t0 + 3600,
        "anomaly",
    )
    shown = cli("labels", "show", str(back))
    assert shown.returncode == 0 and "2014-04-10 07:15:00" in shown.stdout.decode()


def test_labels_import_needs_a_file_when_the_json_has_several(cli, tmp_path):
    nab = tmp_path / "w.json"
    nab.write_text(json.dumps({"a.csv": [], "b.csv": []}))
    assert_one_line_error(
        cli("labels", "import", str(nab), "-o", str(tmp_path / "x.jsonl")), "choose one with --file"
    )
    bad = tmp_path / "bad.json"
    bad.write_text("{nope")
    assert_one_line_error(cli("labels", "import", str(bad), "-o", str(tmp_path / "x")), "not JSON")


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full")
def test_a_scores_file_that_cannot_be_written_is_one_line_and_exit_2(cli):
    """A full disk while scoring: the reason in one line after the summary, no traceback,
    and no claim of rows written."""
    proc = cli("score", os.path.join(ROOT, "recordings", "demo.jsonl"), "-o", "/dev/full")
    out, err = proc.stdout.decode(), proc.stderr.decode()
    assert proc.returncode == 2, err
    assert "Traceback" not in out + err
    assert "cannot write /dev/full: No space left on device" in out + err
    assert "rows written" not in out
    assert "alert episodes" in out  # the summary is still shown


def test_a_long_score_written_by_the_child_process_is_the_whole_file(cli, tmp_path):
    """Past the first rows the scores file is written by a child process; every row of a
    long replay reaches the file, in order, and the count says so."""
    from sensorscope.output import BACKGROUND_ROWS
    from sensorscope.simulate import Board

    board = Board(channels=4, rate=50.0, seed=3, fmt="plotter")
    rec = tmp_path / "long.jsonl"
    w = RecordingWriter(str(rec), {"b": {"kind": "serial"}})
    n = BACKGROUND_ROWS // 4 + 5000
    w.write([Frame(1_700_000_000.0 + i / 50.0, "b", board.line(i)) for i in range(n)])
    w.close()
    out = tmp_path / "s.csv"
    proc = cli("score", str(rec), "-o", str(out), timeout=120)
    assert proc.returncode == 0, proc.stderr.decode()
    with out.open(newline="") as fh:
        rows = list(csv.reader(fh))
    assert len(rows) - 1 == 4 * n
    assert f"{4 * n} rows written" in proc.stdout.decode()
    from sensorscope.output import iso

    assert [r[0] for r in rows[1::4]] == [iso(1_700_000_000.0 + i / 50.0) for i in range(n)]


def test_piped_score_prints_its_summary_whole_not_cropped_at_80_columns(cli):
    """`score ... | less` or `> log`: no terminal to fit, so the table's rows and the counts
    line are printed whole (long channel names and reasons included)."""
    from sensorscope.cli.monitor import demo_recording

    proc = cli("score", str(demo_recording()), "-o", "/dev/null")
    assert proc.returncode == 0, proc.stderr.decode()
    lines = proc.stdout.decode().splitlines()
    rows = [line for line in lines if line.startswith("│")]
    assert rows and all(line.rstrip().endswith("│") for line in rows)  # the right edge is there
    (counts,) = [line for line in lines if " lines, " in line]
    assert counts.endswith("reconnects")  # one line, not wrapped at 80 columns


def record_from_pty(rec, lines: int) -> None:
    """`sensorscope record PTY -o rec` while a board prints ``lines`` lines."""
    master, slave = os.openpty()
    tty.setraw(slave)
    env = dict(os.environ, PYTHONPATH=os.getcwd())
    args = ["record", os.ttyname(slave), "-o", str(rec), "--duration", "4"]
    proc = subprocess.Popen([sys.executable, "-m", "sensorscope.cli", *args],
                            stderr=subprocess.PIPE, env=env)  # fmt: skip
    connects = rec.read_text(errors="replace").count('"event": "connect"') if rec.exists() else 0
    try:
        deadline = time.monotonic() + 60
        while rec.read_text(errors="replace").count('"event": "connect"') <= connects:
            assert proc.poll() is None, proc.stderr.read().decode()
            assert time.monotonic() < deadline, "record never connected"
            time.sleep(0.05)
        for i in range(lines):
            os.write(master, f"temp:{21 + i % 3}\r\n".encode())
        _, err = proc.communicate(timeout=60)
    finally:
        proc.kill()  # never leave a reader behind to grab the next test's pty
        os.close(master)
        os.close(slave)
    assert proc.returncode == 0, err.decode()


def test_record_onto_a_recording_torn_at_its_end_keeps_every_line_and_replays_them_all(
    cli, tmp_path
):
    from sensorscope.recording import RecordingReader

    rec = tmp_path / "rec.jsonl"
    write_recording(rec, n=100, spike_at=50)
    rec.write_bytes(
        rec.read_bytes() + '{"t": 1700000100.0, "src": "ttyACM0", "line": "°'.encode()[:-1]
    )
    record_from_pty(rec, 30)
    reader = RecordingReader(str(rec))
    lines = [f.line for f in reader if f.line is not None]
    assert len(lines) == 100 + 30 and lines[-1] == "temp:23"
    assert reader.skipped == 1
    proc = cli("score", str(rec))
    assert proc.returncode == 0, proc.stderr.decode()
    assert "130 lines" in proc.stdout.decode()


def test_record_onto_a_recording_cut_inside_its_header_starts_it_again(tmp_path):
    from sensorscope.recording import RecordingReader

    rec = tmp_path / "rec.jsonl"
    rec.write_text('{"sensorscope": 1, "sources": {"ttyA')  # the recorder died at once
    record_from_pty(rec, 30)
    lines = [f.line for f in RecordingReader(str(rec)) if f.line is not None]
    assert len(lines) == 30


def test_record_through_an_unplug_and_replug_loses_at_most_a_partial_line_per_connect(
    tmp_path, procs
):
    """50 lines/s through start-up, an unplug and a replug: every line the board wrote is
    recorded but for at most one partial line at each of the two connects."""
    from sensorscope.simulate import Board, PtyBoard

    link = tmp_path / "ttyBOARD"
    rec = tmp_path / "board.jsonl"
    board = Board(channels=3, rate=50, seed=5, fmt="csv", faults=())
    with PtyBoard(board, link=str(link)) as sim:
        time.sleep(0.3)  # the board prints (its header too) before the recorder opens
        proc = procs("record", str(link), "-o", str(rec), "--duration", "5")
        time.sleep(2.0)
        sim.unplug()
        time.sleep(0.6)
        sim.replug()
        time.sleep(1.5)
        sim.stop()
        written = sim.lines_written + sim.headers_written
    proc.communicate(timeout=30)
    records = [json.loads(x) for x in rec.read_text().splitlines()[1:]]
    lines = [r["line"] for r in records if "line" in r]
    assert [r["event"] for r in records if "event" in r][:3] == ["connect", "disconnect", "connect"]
    assert lines[0] == board.header()  # printed before the port opened, and kept
    assert len(lines) >= written - 2, (len(lines), written)
