"""End-to-end throughput of `sensorscope score`, and river's HST alone on the same values.

Generates a recording of N values (4 channels of plotter lines from the simulator's board),
times `sensorscope score REC -o OUT.csv` in a subprocess (reading, parsing, imputing,
scoring, alert episodes and writing the CSV), for the default detector and for
`--detector hst-raw`, then times river's HalfSpaceTrees (river defaults) alone on the same
values, one detector per channel, with nothing else around it. Each `score` is run
``--runs`` times (3) and the median is printed with the fastest and slowest, since a shared
2-core machine varies by 10% from run to run. Issue 5's goal for the default: at least
250,000 values/s on this 2-core machine.

    python bench/throughput.py            # 1M values
    python bench/throughput.py --values 200000 --runs 1
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sensorscope.formats import LineParser  # noqa: E402
from sensorscope.model import Frame  # noqa: E402
from sensorscope.recording import RecordingWriter  # noqa: E402
from sensorscope.simulate import Board  # noqa: E402

CHANNELS = 4


def make_recording(path: Path, values: int) -> list[str]:
    board = Board(channels=CHANNELS, rate=50.0, seed=1, fmt="plotter", fault_every=60.0)
    n = values // CHANNELS
    lines = [board.line(i) for i in range(n)]
    w = RecordingWriter(str(path), {"bench": {"kind": "serial"}})
    t0 = 1_700_000_000.0
    for start in range(0, n, 10_000):
        w.write(
            [Frame(t0 + i / 50.0, "bench", lines[i]) for i in range(start, min(n, start + 10_000))]
        )
    w.close()
    return lines


def time_score(rec: Path, out: Path, extra: list[str]) -> float:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    t = time.perf_counter()
    subprocess.run(
        [
            sys.executable,
            "-m",
            "sensorscope.cli",
            "score",
            str(rec),
            "-o",
            str(out),
            "--no-progress",
        ]
        + extra,
        check=True,
        stdout=subprocess.DEVNULL,
        env=env,
    )
    return time.perf_counter() - t


def time_river(lines: list[str]) -> tuple[float, int]:
    from river.anomaly import HalfSpaceTrees

    parser = LineParser("bench", "plotter")
    columns: dict[str, list[float]] = {}
    for i, line in enumerate(lines):
        r = parser.feed(line, float(i))
        if r is None:
            continue
        for k, v in r.values.items():
            if v is not None:
                columns.setdefault(k, []).append(v)
    n = 0
    t = time.perf_counter()
    for seed, vals in enumerate(columns.values()):
        lo, hi = min(vals), max(vals)
        span = (hi - lo) or 1.0
        hst = HalfSpaceTrees(seed=seed)
        for v in vals:
            x = {"value": (v - lo) / span}
            hst.score_one(x)
            hst.learn_one(x)
            n += 1
    return time.perf_counter() - t, n


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--values", type=int, default=1_000_000)
    ap.add_argument("--runs", type=int, default=3, help="runs of each score (median shown)")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        rec = Path(tmp) / "bench.jsonl"
        lines = make_recording(rec, args.values)
        values = len(lines) * CHANNELS
        size = rec.stat().st_size / 1e6
        print(f"recording: {len(lines)} lines, {values} values, {size:.1f} MB")
        for label, extra in (
            ("score (default detector)", []),
            ("score --detector hst-raw", ["--detector", "hst-raw"]),
        ):
            runs = sorted(time_score(rec, Path(tmp) / "out.csv", extra) for _ in range(args.runs))
            secs = statistics.median(runs)
            spread = f"  (runs {values / runs[-1]:.0f} to {values / runs[0]:.0f})"
            print(f"{label:40s} {secs:8.2f} s  {values / secs:10.0f} values/s" + spread)
        secs, n = time_river(lines)
        label = "river HalfSpaceTrees alone (1 feature)"
        print(f"{label:40s} {secs:8.2f} s  {n / secs:10.0f} values/s")


if __name__ == "__main__":
    main()
