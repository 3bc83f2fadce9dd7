"""Per-line cost of the I/O around scoring: reading files, parsing lines, writing scores.

Reads a recording made like bench/throughput.py's (4-channel plotter lines) and NAB-style
and wide CSV series at max speed, parses plotter, kv and csv lines with one LineParser per
format (``feed`` line by line, and ``feed_many`` in batches of FILE_BATCH lines), and
writes ScoredBatches to CSV and JSONL with ScoreWriter (``write_batch``, and per-row
``__call__`` for comparison): the demo recording's own scored batches, repeated, and a
worst case of 4 channels per line where every value and score is distinct.

Figures are CPU time (``time.process_time``), so that other processes on a shared machine
do not count: the median (p50) of --repeat runs and the slowest (worst; with a handful of
runs that is the p99). Beside each read and parse, the floor, with the p50/floor ratio: for
a read, the file's records decoded by one ``json.loads`` (recording) or its lines split and its
time column made datetime64 by numpy (CSV); for a parse, the same lines split and made
float by a plain loop. Writes have no floor shown (no plain way writes the same text).

    python bench/io.py                  # 100k lines
    python bench/io.py --lines 20000
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from throughput import CHANNELS, make_recording  # noqa: E402

from sensorscope.formats import LineParser  # noqa: E402
from sensorscope.model import ScoredBatch, Settings  # noqa: E402
from sensorscope.pipeline import Pipeline  # noqa: E402
from sensorscope.simulate import Board  # noqa: E402
from sensorscope.sources import FILE_BATCH, CsvSource, RecordingSource  # noqa: E402

try:
    from sensorscope.output import ScoreWriter
except ImportError:  # before ScoreWriter moved out of the CLI
    from sensorscope.cli import ScoreWriter  # type: ignore[no-redef]


class Timed(NamedTuple):
    p50: float  # CPU seconds of the median run
    worst: float
    n: int  # items the run reported


def timed(fn: Callable[[], int], repeat: int) -> Timed:
    """Median and slowest CPU time of ``repeat`` runs, and the item count a run reported."""
    times = []
    n = 0
    for _ in range(repeat):
        t = time.process_time()
        n = fn()
        times.append(time.process_time() - t)
    return Timed(statistics.median(times), max(times), n)


def show(label: str, t: Timed, unit: str = "line", floor: Timed | None = None) -> None:
    per = 1e6 / max(t.n, 1)
    text = f"{label:44s} p50 {t.p50 * per:7.2f}  worst {t.worst * per:7.2f} us/{unit}"
    if floor is not None:
        f = floor.p50 * 1e6 / max(floor.n, 1)
        text += f"   floor {f:6.2f}  p50/floor {t.p50 * per / f if f else float('inf'):5.1f}"
    print(text + f"   ({t.n} {unit}s)")


def floor_read_recording(path: Path) -> Callable[[], int]:
    """Every record decoded, as a recording's reader must (the lines are not parsed): one
    ``json.loads`` of the whole file as an array, cheaper than one a line."""

    def run() -> int:
        with open(path) as fh:
            fh.readline()
            return len(json.loads("[" + ",".join(fh.read().splitlines()) + "]"))

    return run


def floor_read_csv(path: Path) -> Callable[[], int]:
    """The lines, and the time column as datetime64, as a CSV series' reader must."""

    def run() -> int:
        with open(path) as fh:
            fh.readline()
            lines = fh.read().splitlines()
        stamps = [x.partition(",")[0].rstrip("Z") for x in lines]
        return len(np.array(stamps, dtype="M8[s]"))

    return run


SPLITS = {
    "plotter": lambda line: [float(f.rpartition(":")[2] or "nan") for f in line.split()],
    "kv": lambda line: [float(f.partition("=")[2] or "nan") for f in line.split(", ")],
    "csv": lambda line: [float(x or "nan") for x in line.split(",")],
}


def floor_split(lines: list[str], fmt: str) -> Callable[[], int]:
    split = SPLITS[fmt]
    body = lines[1:] if fmt == "csv" else lines

    def run() -> int:
        for line in body:
            split(line)
        return len(lines)

    return run


def read_all(make) -> Callable[[], int]:
    def run() -> int:
        n = 0
        for batch in make().batches(threading.Event()):
            n += len(batch)
        return n

    return run


def write_csvs(tmp: Path, lines: int) -> tuple[Path, Path]:
    t0 = np.datetime64("2014-04-01T00:00:00")
    stamps = (t0 + np.arange(lines) * np.timedelta64(300, "s")).astype(str)
    rng = np.random.default_rng(0)
    nab = tmp / "nab.csv"
    with open(nab, "w") as fh:
        fh.write("timestamp,value\n")
        for s, v in zip(stamps, rng.normal(20, 3, lines).round(3), strict=True):
            fh.write(f"{s.replace('T', ' ')},{v}\n")
    wide = tmp / "wide.csv"
    vals = rng.normal(20, 3, (lines, CHANNELS)).round(2)
    with open(wide, "w") as fh:
        fh.write("time,temp,hum,pressure,light\n")
        for s, row in zip(stamps, vals, strict=True):
            fh.write(f"{s}Z," + ",".join(map(str, row)) + "\n")
    return nab, wide


def parse_lines(fmt: str, lines: int) -> list[str]:
    board = Board(channels=CHANNELS, rate=50.0, seed=1, fmt=fmt, fault_every=60.0)
    out = [board.line(i) for i in range(lines)]
    return (["temp,hum,pressure,light"] + out) if fmt == "csv" else out


def feed_each(lines: list[str], make=lambda: LineParser("bench", "auto")) -> Callable[[], int]:
    def run() -> int:
        p = make()
        feed = p.feed
        for i, line in enumerate(lines):
            feed(line, 1.7e9 + i)
        return len(lines)

    return run


def feed_many(lines: list[str], make=lambda: LineParser("bench", "auto")) -> Callable[[], int]:
    ts = [1.7e9 + i for i in range(len(lines))]
    step = FILE_BATCH

    def run() -> int:
        p = make()
        for i in range(0, len(lines), step):
            p.feed_many(lines[i : i + step], ts[i : i + step])
        return len(lines)

    return run


def demo_batch(rows: int) -> ScoredBatch:
    """The demo recording's scored rows as the pipeline hands them over, repeated."""
    batches: list[ScoredBatch] = []
    src = RecordingSource(str(ROOT / "recordings" / "demo.jsonl"))
    pipeline = Pipeline(Settings(), src.names, on_batch=batches.append)
    for frames in src.batches(threading.Event()):
        pipeline.process(frames)
    cols = {
        k: np.concatenate([getattr(b, k) for b in batches])
        for k in ("t", "channel", "value", "imputed", "score", "alert", "reading")
    }
    reps = -(-rows // len(cols["t"]))
    span = cols["t"][-1] - cols["t"][0] + 1.0
    cols = {k: np.tile(v, reps)[:rows] for k, v in cols.items()}
    cols["t"] = cols["t"] + np.repeat(np.arange(reps) * span, len(cols["t"]) // reps + 1)[:rows]
    return ScoredBatch(names=batches[-1].names, readings=[], **cols)


def distinct_batch(lines: int) -> ScoredBatch:
    """4 channels a line, every value (full precision) and every score distinct."""
    rng = np.random.default_rng(0)
    n = lines * CHANNELS
    value = rng.normal(20, 5, n)
    value[rng.random(n) < 0.01] = np.nan
    return ScoredBatch(
        names=["temp", "hum", "pressure", "light"],
        t=np.repeat(1.7e9 + np.arange(lines) / 50.0, CHANNELS),
        channel=np.tile(np.arange(CHANNELS, dtype=np.int32), lines),
        value=value,
        imputed=rng.random(n) < 0.01,
        score=rng.random(n),
        alert=rng.random(n) < 0.05,
        reading=np.repeat(np.arange(lines, dtype=np.int32), CHANNELS),
        readings=[],
    )


def write_scores(path: Path, batch: ScoredBatch, per_row: bool) -> Callable[[], int]:
    # The pipeline hands over one batch per FILE_BATCH frames; write in slices that size.
    step = 2048 * CHANNELS
    parts = [
        ScoredBatch(
            batch.names,
            *(
                getattr(batch, k)[i : i + step]
                for k in ("t", "channel", "value", "imputed", "score", "alert", "reading")
            ),
            readings=[],
        )  # fmt: skip
        for i in range(0, len(batch), step)
    ]

    rows = [list(part.rows()) for part in parts] if per_row else []

    def run() -> int:
        w = ScoreWriter(str(path))
        if per_row:
            for part in rows:
                for row in part:
                    w(row)
        else:
            for part in parts:
                w.write_batch(part)
        w.close()
        return len(batch)

    return run


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--lines", type=int, default=100_000)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    n, rep = args.lines, args.repeat
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        rec = tmp / "bench.jsonl"
        make_recording(rec, n * CHANNELS)
        nab, wide = write_csvs(tmp, n)
        print(f"{n} lines, {CHANNELS} channels; CPU time, median and worst of {rep}")
        show("read recording (RecordingSource.batches)", timed(read_all(
            lambda: RecordingSource(str(rec))), rep),
            floor=timed(floor_read_recording(rec), rep))  # fmt: skip
        show("read NAB csv (CsvSource.batches)", timed(read_all(
            lambda: CsvSource(str(nab))), rep), floor=timed(floor_read_csv(nab), rep))  # fmt: skip
        show("read wide csv (CsvSource.batches)", timed(read_all(
            lambda: CsvSource(str(wide))), rep),
            floor=timed(floor_read_csv(wide), rep))  # fmt: skip
        has_many = hasattr(LineParser, "feed_many")
        for fmt in ("plotter", "kv", "csv"):
            lines = parse_lines(fmt, n)
            floor = timed(floor_split(lines, fmt), rep)
            show(f"parse {fmt} (LineParser.feed)", timed(feed_each(lines), rep), floor=floor)
            if has_many:
                show(f"parse {fmt} (LineParser.feed_many)", timed(feed_many(lines), rep),
                     floor=floor)  # fmt: skip
        rows = nab.read_text().splitlines()[1:]
        nab_parser = lambda: LineParser("bench", "csv", header=["timestamp", "value"])  # noqa: E731
        show("parse NAB rows (LineParser.feed)", timed(feed_each(rows, nab_parser), rep))
        if has_many:
            show("parse NAB rows (LineParser.feed_many)", timed(feed_many(rows, nab_parser), rep))
        for label, batch in (("demo", demo_batch(n * CHANNELS)), ("distinct", distinct_batch(n))):
            for name in ("out.csv", "out.jsonl"):
                kind = name.split(".")[1]
                if hasattr(ScoreWriter, "write_batch"):
                    show(f"write {kind}, {label} rows (write_batch)", timed(
                        write_scores(tmp / name, batch, False), rep), unit="row")  # fmt: skip
                show(f"write {kind}, {label} rows (per row)", timed(
                    write_scores(tmp / name, batch, True), rep), unit="row")  # fmt: skip


if __name__ == "__main__":
    main()
