"""Channels are born only from lines that vouch for them or that repeat; ghosts never reach
the scores, and a board reflashed to another format is followed within a few lines.

Each test pipes lines into ``sensorscope score -`` as a user would and reads the scores file.
"""

from __future__ import annotations

import csv
import subprocess
import sys
from collections import Counter
from pathlib import Path


def score(lines: list[str], tmp_path: Path) -> tuple[Counter[str], str]:
    """Rows per channel in the scores file, and the summary printed."""
    out = tmp_path / "scores.csv"
    done = subprocess.run(
        [sys.executable, "-m", "sensorscope.cli", "score", "-", "-o", str(out)],
        input="".join(line + "\n" for line in lines).encode("latin-1"),
        capture_output=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr.decode()
    with out.open(newline="") as f:
        rows = Counter(row["channel"] for row in csv.DictReader(f))
    return rows, " ".join(done.stdout.decode().split())


def board(n: int, start: int = 0) -> list[str]:
    return [f"temp:{20 + (i % 7) / 10:.1f} hum:{40 + (i % 5)}" for i in range(start, start + n)]


def test_a_garbage_burst_holding_value1_makes_no_channel(tmp_path):
    burst = ["\x8f\x03#@value1:23 \xfe\xff", "x7value1:5", "\x13\xa7value1:3.2\x99", "Zvalue2:1"]
    rows, summary = score(board(40) + burst + board(40, 40), tmp_path)
    assert rows == {"temp": 80, "hum": 80}
    assert "values of no channel" in summary


def test_a_text_column_in_a_csv_is_no_channel(tmp_path):
    lines = ["time,temp,status,hum"]
    lines += [f"{i},{20 + i / 100:.2f},{'ok' if i % 9 else 'warn'},{40 + i % 3}" for i in range(60)]
    rows, _ = score(lines, tmp_path)
    assert set(rows) == {"temp", "hum"}


def test_a_board_reflashed_to_another_format_loses_no_line(tmp_path):
    after = [f"pres={1000 + i % 4}, alt={120 + i % 3}" for i in range(50)]
    rows, summary = score(board(50) + after, tmp_path)
    assert rows == {"temp": 50, "hum": 50, "pres": 50, "alt": 50}
    assert "100 lines, 100 parsed" in summary
    assert " 0 text" in summary


def test_a_channel_printed_on_lines_of_its_own_keeps_its_first_readings(tmp_path):
    # A sketch that prints "pres" every third line, alone: it is on probation until it has
    # come back, and then its held readings are scored too.
    lines = []
    for i in range(60):
        lines.append(f"temp:{20 + i % 3} hum:{40 + i % 4}")
        if i % 3 == 0:
            lines.append(f"pres:{1000 + i % 5}")
    rows, summary = score(lines, tmp_path)
    assert rows == {"temp": 60, "hum": 60, "pres": 20}
    assert "values of no channel" not in summary


def test_a_new_channel_beside_known_ones_is_born_at_once(tmp_path):
    lines = board(20) + [f"temp:21 hum:41 pres:{1000 + i}" for i in range(5)]
    rows, _ = score(lines, tmp_path)
    assert rows["pres"] == 5
