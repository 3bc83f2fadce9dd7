"""``sensorscope export``: the parsed values wide, as a user runs it (a subprocess, real files)."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from sensorscope.simulate import Board, write_board_recording

ROOT = Path(__file__).resolve().parents[2]
T0 = 1_763_884_800.0


def export(*args: str, env_extra: dict | None = None) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + (env_extra or {}).get("pre", ""))
    env.pop("COLUMNS", None)
    return subprocess.run(
        [sys.executable, "-m", "sensorscope.cli", "export", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )


@pytest.fixture(scope="module")
def rec(tmp_path_factory) -> Path:
    """Two minutes of a 2-channel board at 10 Hz, then three lines with a missing value."""
    path = tmp_path_factory.mktemp("export") / "board.jsonl"
    write_board_recording(str(path), Board(channels=2, rate=10, seed=5, faults=()), 120, T0)
    with open(path, "a", encoding="utf-8") as fh:
        for i, line in enumerate(["temp:21.50 hum:nan", "temp:21.60 hum:40.00", "temp:21.70"]):
            fh.write(json.dumps({"t": T0 + 120 + 0.1 * i, "src": "sim", "line": line}) + "\n")
    return path


def lines_of(path: Path) -> list[str]:
    with open(path, encoding="utf-8") as fh:
        return [json.loads(r)["line"] for r in list(fh)[1:] if '"line"' in r]


def test_a_recording_becomes_one_row_per_reading_with_a_column_per_channel(rec, tmp_path):
    out = tmp_path / "wide.csv"
    got = export(str(rec), "-o", str(out))
    assert got.returncode == 0, got.stderr
    rows = list(csv.reader(out.open()))
    assert rows[0] == ["time", "temp", "hum"]
    data = [line for line in lines_of(rec) if line.startswith("temp:")]
    assert len(rows) - 1 == len(data)
    # Values as the board printed them, time as ISO 8601 UTC.
    first = dict(pair.split(":") for pair in data[0].split())
    assert rows[1][0] == "2025-11-23T08:00:00.000Z"
    assert float(rows[1][1]) == float(first["temp"]) and float(rows[1][2]) == float(first["hum"])
    # A missing value and a channel the reading did not hold are both empty.
    assert rows[-3][1:] == ["21.5", ""]
    assert rows[-1][1:] == ["21.7", ""]
    assert f"{len(data)} rows, 2 channels written to {out}" in got.stderr


def test_filled_values_are_the_monitors_and_flagged(rec, tmp_path):
    got = export(str(rec), "-o", "-", "--filled", "--time", "epoch")
    assert got.returncode == 0, got.stderr
    rows = list(csv.reader(io.StringIO(got.stdout)))
    assert rows[0] == ["time", "temp", "hum", "temp.imputed", "hum.imputed"]
    assert float(rows[1][0]) == T0
    hum_missing = rows[-3]
    assert hum_missing[2] != "" and hum_missing[3:] == ["0", "1"]
    assert rows[-2][3:] == ["0", "0"]
    # A channel the reading did not hold is not a sample: nothing to fill.
    assert rows[-1][2] == "" and rows[-1][3:] == ["0", "0"]


def test_a_csv_series_round_trips(tmp_path):
    src = tmp_path / "series.csv"
    src.write_text(
        "timestamp,value\n" + "".join(f"2025-11-23 08:{i // 60:02d}:{i % 60:02d},{i * 0.5}\n"
                                      for i in range(300))
    )  # fmt: skip
    out = tmp_path / "out.csv"
    got = export(str(src), "-o", str(out))
    assert got.returncode == 0, got.stderr
    rows = list(csv.reader(out.open()))
    assert rows[0] == ["time", "value"] and len(rows) == 301
    assert rows[1] == ["2025-11-23T08:00:00.000Z", "0.0"]
    assert rows[-1] == ["2025-11-23T08:04:59.000Z", "149.5"]


def test_parquet_holds_the_same_table(rec, tmp_path):
    pq = pytest.importorskip("pyarrow.parquet", reason="the [parquet] extra is not installed")
    out = tmp_path / "wide.parquet"
    got = export(str(rec), "-o", str(out), "--filled")
    assert got.returncode == 0, got.stderr
    table = pq.read_table(out)
    assert table.column_names == ["time", "temp", "hum", "temp.imputed", "hum.imputed"]
    cols = table.to_pydict()
    assert cols["time"][0].timestamp() == T0
    assert cols["hum.imputed"][-3] is True and cols["hum"][-1] is None


def test_parquet_without_pyarrow_is_one_line_and_exit_2(rec, tmp_path):
    blocker = tmp_path / "blocked"
    (blocker / "pyarrow").mkdir(parents=True)
    (blocker / "pyarrow" / "__init__.py").write_text("raise ImportError('no pyarrow here')\n")
    out = tmp_path / "wide.parquet"
    got = export(str(rec), "-o", str(out), env_extra={"pre": str(blocker)})
    assert got.returncode == 2
    assert got.stderr.strip().splitlines() == [
        "sensorscope: error: Parquet needs pyarrow: pip install 'sensorscope[parquet]' "
        "(or write .csv)"
    ]
    assert not out.exists()


@pytest.mark.parametrize(
    ("target", "message"),
    [
        ("x.txt", "cannot tell the format from its suffix (use .csv or .parquet)"),
        ("nodir/x.csv", "cannot write"),
    ],
)
def test_an_output_it_cannot_write_is_said_before_reading(rec, tmp_path, target, message):
    got = export(str(rec), "-o", str(tmp_path / target))
    assert got.returncode == 2
    lines = got.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0] and "Traceback" not in got.stderr
    assert not list(tmp_path.glob(".export-*"))


def test_an_old_file_is_replaced_whole_or_left_as_it_was(rec, tmp_path):
    out = tmp_path / "wide.csv"
    out.write_text("old\n")
    got = export(str(tmp_path / "missing.jsonl"), "-o", str(out))
    assert got.returncode == 2 and "no such file or port" in got.stderr
    assert out.read_text() == "old\n"
    assert export(str(rec), "-o", str(out)).returncode == 0
    assert out.read_text().startswith("time,temp,hum\n")
    assert not list(tmp_path.glob(".export-*"))
