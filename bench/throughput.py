"""End-to-end throughput of `sensorscope score` beside the floor of reading the same file.

Issue 15's goals: `sensorscope score` end to end at >= 1M values/s on a 1M x 4 CSV and on a
plotter recording (default detector, one scoring core), >= 400k values/s for one channel;
`hst-raw` and alert-heavy streams within 10 % of the default's speed.

Inputs, made in a temporary directory from the simulator's board (4 channels, faults every
60 s of board time, 50 Hz):

- a plotter recording (JSONL) of --values values;
- the same recording with a fault every 2 s (alert-heavy: an episode opens and closes
  every few hundred samples);
- a wide CSV ``timestamp,a,b,c,d`` of --values values (ISO times to the second);
- a one-channel CSV ``timestamp,value`` (NAB's layout) of --one-values values.

Each is scored ``--runs`` times by `sensorscope score FILE -o OUT.csv --no-progress` in a
subprocess, as a user runs it (start-up, reading, parsing, imputing, scoring, episodes,
writing the scores CSV). Shown per row: the median (p50) and the slowest run (worst; with
few runs the p99 is the worst) in values/s; the CPU the process used over its wall time
(cores: "one scoring core" is about 1.0-1.2 with the reader thread); the floor; the ratio
of the median to the floor. The start-up alone (`score` of a 10-line file) is shown once,
since at 1M values it is a good part of a second.

The floor is the cheapest plain way to read and parse the same file in this process, no
scoring: for a CSV the faster of ``numpy.loadtxt`` (times as datetime64, values as float)
and a split-and-float loop over the lines; for a recording, one ``json.loads`` of all its
records and a split-and-float of each one's text. It is the median of --runs too.

Then the hst-raw/default ratio and the alert-heavy/default ratio (goal: >= 0.9 each), and
river's HalfSpaceTrees alone (river defaults) on the recording's values, one detector per
channel, nothing around it.

    python bench/throughput.py                      # 1M values a file, 3 runs: ~2-4 min
    python bench/throughput.py --values 200000 --runs 1
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sensorscope.formats import LineParser  # noqa: E402
from sensorscope.model import Frame  # noqa: E402
from sensorscope.recording import RecordingWriter  # noqa: E402
from sensorscope.simulate import Board  # noqa: E402

CHANNELS = 4
RATE = 50.0
T0 = 1_700_000_000.0


def make_recording(path: Path, values: int, fault_every: float = 60.0) -> list[str]:
    board = Board(channels=CHANNELS, rate=RATE, seed=1, fmt="plotter", fault_every=fault_every)
    n = values // CHANNELS
    lines = [board.line(i) for i in range(n)]
    w = RecordingWriter(str(path), {"bench": {"kind": "serial"}})
    for start in range(0, n, 10_000):
        w.write(
            [Frame(T0 + i / RATE, "bench", lines[i]) for i in range(start, min(n, start + 10_000))]
        )
    w.close()
    return lines


def make_csv(path: Path, values: int, channels: int) -> int:
    """A CSV of ``values`` values in ``channels`` columns after ISO times one second apart
    (the shape parse_times takes whole-column); returns its rows. One channel is NAB's
    ``timestamp,value``; four are ``timestamp,a,b,c,d`` with the board's four channels."""
    board = Board(channels=CHANNELS, rate=RATE, seed=2, fmt="csv", fault_every=60.0)
    rows = values // channels
    stamps = (np.datetime64("2014-04-01T00:00:00") + np.arange(rows)).astype(str)
    names = ["value"] if channels == 1 else list("abcd")[:channels]
    with path.open("w") as fh:
        fh.write("timestamp," + ",".join(names) + "\n")
        for start in range(0, rows, 10_000):
            out = []
            for i in range(start, min(rows, start + 10_000)):
                cells = board.line(i).split(",")[:channels]
                out.append(f"{stamps[i].replace('T', ' ')},{','.join(cells)}\n")
            fh.write("".join(out))
    return rows


def run_score(src: Path, out: Path, extra: list[str]) -> tuple[float, float]:
    """Wall time and CPU time (user + system, all threads) of one `sensorscope score`."""
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    cmd = [sys.executable, "-m", "sensorscope.cli", "score", str(src), "-o", str(out)]
    t = time.perf_counter()
    proc = subprocess.Popen(
        cmd + ["--no-progress"] + extra, stdout=subprocess.DEVNULL, env=env
    )  # fmt: skip
    _pid, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"sensorscope score {src} {' '.join(extra)} failed")
    return wall, usage.ru_utime + usage.ru_stime


def median_time(fn: Callable[[], object], runs: int) -> float:
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def floor_loadtxt(path: Path, channels: int) -> Callable[[], object]:
    dtype = [("t", "M8[s]")] + [(f"v{i}", "f8") for i in range(channels)]
    # The board's dropouts leave empty cells, which loadtxt's own float parser refuses.
    conv = {i + 1: lambda s: float(s or "nan") for i in range(channels)}
    return lambda: np.loadtxt(path, delimiter=",", skiprows=1, dtype=dtype, converters=conv)


def floor_split_csv(path: Path) -> Callable[[], object]:
    def run() -> object:
        stamps: list[str] = []
        values: list[float] = []
        add, extend = stamps.append, values.extend
        with path.open() as fh:
            fh.readline()
            for line in fh:
                parts = line.split(",")
                add(parts[0])
                mark = len(values)
                try:
                    extend(map(float, parts[1:]))
                except ValueError:  # a dropout's empty cell (rare): this row the slow way
                    del values[mark:]
                    extend(float(x.strip() or "nan") for x in parts[1:])
        return np.array(stamps, dtype="M8[s]"), np.array(values)

    return run


def floor_split_recording(path: Path) -> Callable[[], object]:
    def run() -> object:
        with path.open() as fh:
            fh.readline()  # the header record
            # One json.loads of the whole file as an array: cheaper than one a line.
            records = json.loads("[" + ",".join(fh.read().splitlines()) + "]")
        times: list[float] = []
        values: list[float] = []
        add, extend = times.append, values.extend
        for rec in records:
            add(rec["t"])
            extend(float(f.rpartition(":")[2] or "nan") for f in rec["line"].split())
        return np.array(times), np.array(values)

    return run


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


HEAD = " ".join(
    [f"{'':40s}", *(f"{h:>10s}" for h in ("p50 v/s", "worst v/s")), "cores"]
    + [f"{'floor v/s':>10s}", "p50/floor"]
)


def row(label: str, values: int, runs: list[tuple[float, float]], floor: float) -> float:
    """Print one score row; return its median values/s."""
    walls = sorted(w for w, _ in runs)
    p50 = values / statistics.median(walls)
    worst = values / walls[-1]
    cores = statistics.median(c / w for w, c in runs)
    fl = values / floor
    print(f"{label:40s} {p50:10,.0f} {worst:10,.0f} {cores:5.2f} {fl:10,.0f} {p50 / fl:9.2f}")
    return p50


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--values", type=int, default=1_000_000, help="values of each 4-channel file")
    ap.add_argument(
        "--one-values", type=int, default=None, help="values of the one-channel CSV (--values/4)"
    )
    ap.add_argument("--runs", type=int, default=3, help="runs of each score and floor")
    args = ap.parse_args()
    one_values = args.one_values or max(1000, args.values // 4)
    runs = args.runs
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        out = tmp / "out.csv"
        rec = tmp / "plotter.jsonl"
        lines = make_recording(rec, args.values)
        heavy = tmp / "heavy.jsonl"
        make_recording(heavy, args.values, fault_every=2.0)
        wide = tmp / "wide.csv"
        wide_rows = make_csv(wide, args.values, CHANNELS)
        one = tmp / "one.csv"
        one_rows = make_csv(one, one_values, 1)
        tiny = tmp / "tiny.jsonl"
        make_recording(tiny, 10 * CHANNELS)
        rec_values = len(lines) * CHANNELS

        startup = statistics.median(run_score(tiny, out, [])[0] for _ in range(runs))
        print(f"{runs} runs each; `score` start-up alone (10 lines): {startup:.2f} s")
        print("goals: >= 1,000,000 values/s (4 channels), >= 400,000 (one channel)\n")
        print(HEAD)

        def floor_of(path: Path, channels: int) -> float:
            ways = {
                "numpy.loadtxt": median_time(floor_loadtxt(path, channels), runs),
                "split-and-float": median_time(floor_split_csv(path), runs),
            }
            way = min(ways, key=ways.__getitem__)
            print(f"  (floor: {way}; " + ", ".join(f"{k} {v:.2f} s" for k, v in ways.items()) + ")")
            return ways[way]

        mb = rec.stat().st_size / 1e6
        print(f"plotter recording: {len(lines):,} lines, {rec_values:,} values, {mb:.1f} MB")
        rec_floor = median_time(floor_split_recording(rec), runs)
        default = [run_score(rec, out, []) for _ in range(runs)]
        p_default = row("  score (default detector)", rec_values, default, rec_floor)
        raw = [run_score(rec, out, ["--detector", "hst-raw"]) for _ in range(runs)]
        p_raw = row("  score --detector hst-raw", rec_values, raw, rec_floor)
        heavy_floor = median_time(floor_split_recording(heavy), runs)
        alerts = [run_score(heavy, out, []) for _ in range(runs)]
        p_heavy = row("  score, alert-heavy (fault every 2 s)", rec_values, alerts, heavy_floor)

        mb = wide.stat().st_size / 1e6
        wide_values = wide_rows * CHANNELS
        print(
            f"wide CSV timestamp,a,b,c,d: {wide_rows:,} rows, {wide_values:,} values, {mb:.1f} MB"
        )
        wide_floor = floor_of(wide, CHANNELS)
        row("  score (default detector)", wide_values, [
            run_score(wide, out, []) for _ in range(runs)], wide_floor)  # fmt: skip

        mb = one.stat().st_size / 1e6
        print(f"one channel CSV timestamp,value: {one_rows:,} values, {mb:.1f} MB")
        one_floor = floor_of(one, 1)
        row("  score (default detector)", one_rows, [
            run_score(one, out, []) for _ in range(runs)], one_floor)  # fmt: skip

        print()
        print(f"hst-raw / default (recording, p50):     {p_raw / p_default:.2f}  (goal >= 0.90)")
        print(f"alert-heavy / default (recording, p50): {p_heavy / p_default:.2f}  (goal >= 0.90)")
        secs, n = time_river(lines)
        label = "river HalfSpaceTrees alone (1 feature)"
        print(f"{label:40s} {n / secs:10,.0f} values/s  ({n:,} values, one run)")


if __name__ == "__main__":
    main()
