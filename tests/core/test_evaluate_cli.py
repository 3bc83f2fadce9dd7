"""`sensorscope evaluate` as a user runs it: labels in, metrics and a report out."""

from __future__ import annotations

import csv
import json
from datetime import datetime, timedelta, timezone

import pytest

from sensorscope.labels import append_labels, new_label
from sensorscope.simulate import Board, write_board_recording

T0 = 1_763_884_800.0


@pytest.fixture
def board(tmp_path):
    rec = tmp_path / "board.jsonl"
    truth = tmp_path / "truth.labels.jsonl"
    write_board_recording(
        str(rec), Board(channels=2, rate=10, seed=1, fault_every=40, first_fault=60), 300, T0,
        str(truth),
    )  # fmt: skip
    return rec, truth


def run_json(cli, *args):
    proc = cli("evaluate", *args, "--json")
    assert proc.returncode == 0, proc.stderr.decode()
    return json.loads(proc.stdout)


def test_evaluate_a_recording_against_its_ground_truth(cli, board):
    rec, truth = board
    result = run_json(cli, str(rec), "--labels", str(truth))
    total = result["total"]
    windows = len(truth.read_text().splitlines())
    assert total["windows"] == windows
    assert total["events"]["tp"] == windows  # every simulated fault is caught
    assert total["events"]["recall"] == 1.0
    assert {c["channel"] for c in result["channels"]} == {"temp", "hum"}
    assert result["nab"]["shipped"]["standard"]["score"] > 50


def test_a_false_positive_label_turns_its_alert_into_a_false_alert(cli, board, tmp_path):
    rec, truth = board
    labels = tmp_path / "mine.labels.jsonl"
    labels.write_text(truth.read_text())
    before = run_json(cli, str(rec), "--labels", str(labels))
    assert before["total"]["events"]["fp"] == 0
    first = json.loads(truth.read_text().splitlines()[0])
    append_labels(
        str(labels), [new_label(first["channel"], first["start"], first["end"], "false_positive")]
    )
    after = run_json(cli, str(rec), "--labels", str(labels))
    assert after["total"]["events"]["fp"] == 1
    assert after["total"]["events"]["precision"] < 1.0


def nab_series(path, n=1000, step=300):
    t0 = datetime(2014, 4, 1, tzinfo=timezone.utc)
    times = [(t0 + timedelta(seconds=step * i)).strftime("%Y-%m-%d %H:%M:%S") for i in range(n)]
    with open(path, "w") as fh:
        fh.write("timestamp,value\n")
        fh.writelines(f"{ts},{i % 7}\n" for i, ts in enumerate(times))
    return times


def test_nab_windows_and_nab_result_files_give_the_nab_score(cli, tmp_path):
    """A detector that fires on the first row of every window scores 100, one that never fires 0."""
    data = tmp_path / "data" / "artificial"
    data.mkdir(parents=True)
    times = nab_series(data / "series.csv")
    spans = [[times[a] + ".000000", times[b] + ".000000"] for a, b in ((400, 450), (800, 850))]
    windows = {"artificial/series.csv": spans}
    (tmp_path / "windows.json").write_text(json.dumps(windows))
    for name, hits in (("perfect", {400, 800}), ("silent", set())):
        out = tmp_path / name / "artificial"
        out.mkdir(parents=True)
        with open(out / "series.csv", "w", newline="") as fh:
            w = csv.writer(fh)
            w.writerow(["timestamp", "value", "anomaly_score"])
            w.writerows([ts, i % 7, 1.0 if i in hits else 0.0] for i, ts in enumerate(times))
        result = run_json(
            cli, str(data / "series.csv"), "--labels", str(tmp_path / "windows.json"),
            "--scores", str(tmp_path / name),
        )  # fmt: skip
        expected = 100.0 if hits else 0.0
        for profile in ("standard", "reward_low_FP_rate", "reward_low_FN_rate"):
            assert result["nab"]["raw"][profile]["score"] == pytest.approx(expected)


def test_score_output_files_can_be_evaluated_instead_of_rescoring(cli, board, tmp_path):
    rec, truth = board
    out = tmp_path / "scores" / "board.csv"
    out.parent.mkdir()
    assert cli("score", str(rec), "-o", str(out)).returncode == 0
    from_file = run_json(cli, str(rec), "--labels", str(truth), "--scores", str(out))
    rescored = run_json(cli, str(rec), "--labels", str(truth))
    assert from_file["total"]["events"] == rescored["total"]["events"]
    assert from_file["nab"]["shipped"] == rescored["nab"]["shipped"]


def test_report_is_one_self_contained_html_file_with_a_chart_per_channel(cli, board, tmp_path):
    rec, truth = board
    report = tmp_path / "report.html"
    proc = cli("evaluate", str(rec), "--labels", str(truth), "--report", str(report))
    assert proc.returncode == 0, proc.stderr.decode()
    text = report.read_text()
    assert text.count("<svg") == 2
    assert "NAB score" in text and "board.jsonl : temp" in text
    assert "src=" not in text and "href=" not in text.replace('href="#', "")


def test_evaluate_errors_are_one_line(cli, board, tmp_path):
    rec, truth = board
    proc = cli("evaluate", str(rec), "--labels", str(tmp_path / "nope.jsonl"))
    assert proc.returncode == 2 and b"cannot read labels" in proc.stderr
    proc = cli("evaluate", str(rec), "--labels", str(truth), "--scores", str(tmp_path / "x"))
    assert proc.returncode == 2 and b"no such score file" in proc.stderr


def test_feedback_makes_false_positive_labels_act_in_the_replay(cli, tmp_path):
    """A compressor blip every minute: labelled a false positive once, it is not alerted
    again when evaluate replays with --feedback; without it every blip is a false alert."""
    import random

    from sensorscope.model import Frame
    from sensorscope.recording import RecordingWriter

    rng = random.Random(4)
    rec = tmp_path / "fridge.jsonl"
    w = RecordingWriter(str(rec), {"fridge": {"kind": "serial"}})
    frames = []
    for i in range(6000):
        v = 4.0 + rng.gauss(0, 0.1) + (1.0 if i >= 1500 and (i - 1500) % 600 == 0 else 0.0)
        frames.append(Frame(T0 + 0.1 * i, "fridge", f"temp:{v:.3f}"))
    w.write(frames)
    w.close()
    scores = tmp_path / "s.csv"
    assert cli("score", str(rec), "-o", str(scores)).returncode == 0
    rows = list(csv.DictReader(scores.open()))
    first = next(r for r in rows if r["alert"] == "1")
    start = datetime.fromisoformat(first["timestamp"].replace("Z", "+00:00")).timestamp()
    labels = tmp_path / "fridge.labels.jsonl"
    append_labels(str(labels), [new_label("temp", start, start + 0.1, "false_positive")])
    plain = run_json(cli, str(rec), "--labels", str(labels))["total"]["events"]
    taught = run_json(cli, str(rec), "--labels", str(labels), "--feedback")["total"]["events"]
    assert plain["fp"] == 8 and taught["fp"] == 1


def test_feedback_needs_a_labels_file(cli, board):
    rec, _ = board
    nab = rec.with_suffix(".json")
    nab.write_text("{}")
    proc = cli("evaluate", str(rec), "--labels", str(nab), "--feedback")
    assert proc.returncode == 2 and b"--feedback needs a labels file" in proc.stderr
