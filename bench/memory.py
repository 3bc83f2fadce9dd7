"""Peak memory of `sensorscope score` fed faster than it scores: stdin versus a file.

The same 4-channel plotter lines are scored twice, each in a process of its own: piped in
from a process that writes them as fast as the pipe takes them (`gen | sensorscope score
-`), and from a recording on disk. A stdin reader that runs ahead of scoring should wait
for it (the pipe then holds the writer back), so both peaks should stay near the size of
the process itself rather than grow with the input.

Figures: peak resident set size of the scoring process (``ru_maxrss`` from ``wait4``)
and its wall time; shown, not asserted.

    python bench/memory.py                  # 2M samples
    python bench/memory.py --values 5000000
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from sensorscope.model import Frame  # noqa: E402
from sensorscope.recording import RecordingWriter  # noqa: E402
from sensorscope.simulate import Board  # noqa: E402

# Writes the lines of a text file to stdout in big blocks, as fast as the pipe takes them.
GENERATOR = """
import sys
with open(sys.argv[1], "rb") as fh:
    while block := fh.read(1 << 20):
        sys.stdout.buffer.write(block)
"""


def make_inputs(rec: Path, text: Path, values: int) -> None:
    """The same lines as a recording and as plain text. A board without faults: the alert
    table printed at the end is then short, and its rendering does not set the peak."""
    board = Board(channels=4, rate=50.0, seed=1, fmt="plotter", fault_every=1e12)
    n = values // 4
    w = RecordingWriter(str(rec), {"bench": {"kind": "serial"}})
    t0 = 1_700_000_000.0
    with text.open("w") as fh:
        for start in range(0, n, 10_000):
            lines = [board.line(i) for i in range(start, min(n, start + 10_000))]
            w.write([Frame(t0 + (start + i) / 50.0, "bench", x) for i, x in enumerate(lines)])
            fh.write("".join(x + "\n" for x in lines))
    w.close()


def peak_of(args: list[str], stdin_from: list[str] | None) -> tuple[float, float]:
    """Run `sensorscope ARGS` (fed by the command ``stdin_from``, if any); return its
    peak RSS in MB and its wall time in seconds."""
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    env.pop("COLUMNS", None)
    feeder = None
    if stdin_from is not None:
        feeder = subprocess.Popen(stdin_from, stdout=subprocess.PIPE)
    t = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-m", "sensorscope.cli", *args],
        stdin=feeder.stdout if feeder is not None else subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=env,
    )
    if feeder is not None:
        assert feeder.stdout is not None
        feeder.stdout.close()
    _pid, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t
    proc.returncode = os.waitstatus_to_exitcode(status)
    if feeder is not None:
        feeder.wait()
    if proc.returncode != 0:
        raise SystemExit(f"sensorscope {' '.join(args)} exited with {proc.returncode}")
    return usage.ru_maxrss / 1024, wall


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--values", type=int, default=2_000_000, help="channel samples in all")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        rec = Path(tmp) / "bench.jsonl"
        text = Path(tmp) / "bench.txt"
        make_inputs(rec, text, args.values)
        print(f"{args.values} samples ({args.values // 4} lines of 4 channels)")
        for label, cmd, feed in [
            ("score FILE.jsonl", ["score", str(rec), "--no-progress"], None),
            (
                "fast generator | score -",
                ["score", "-", "--no-progress"],
                [sys.executable, "-c", GENERATOR, str(text)],
            ),
        ]:
            peak, wall = peak_of(cmd, feed)
            print(f"{label:28s} peak RSS {peak:7.1f} MB   {wall:6.1f} s")


if __name__ == "__main__":
    main()
