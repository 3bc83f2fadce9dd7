"""What a false-positive label buys: `sensorscope evaluate` on a replay, with and without
`--feedback`.

A simulated 4-channel board at 10 Hz for 30 minutes with its injected faults (the ground
truth), and on `temp` a benign event every two minutes that the detector flags: a fridge
door opened, the temperature rising by a degree for three seconds. Someone watching labels
the first of those alerts a false positive (one press of `f`). The script scores the
recording once to find that alert, writes the truth and that one label to a labels file,
then runs `sensorscope evaluate` on the same recording without and with `--feedback` and
prints the event metrics of each.

    python bench/feedback.py
    python bench/feedback.py --minutes 60 --every 90
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sensorscope.labels import append_labels, new_label, read_labels  # noqa: E402
from sensorscope.model import Frame, Settings  # noqa: E402
from sensorscope.recording import RecordingWriter  # noqa: E402
from sensorscope.series import score_file  # noqa: E402
from sensorscope.simulate import Board, label_records  # noqa: E402

T0 = 1_763_884_800.0
RATE = 10.0


def make(path: Path, truth: Path, minutes: float, every: float) -> list[tuple[float, float]]:
    """The recording with benign door events on temp; returns their spans."""
    board = Board(channels=4, rate=RATE, seed=5, fault_every=150.0, first_fault=95.0)
    n = int(minutes * 60 * RATE)
    # Doors on temp, but not within 20 s of a fault on temp (that would hide the fault, or
    # the door, whatever the detector).
    temp_faults = [f for f in board.faults_until(n / RATE) if f.channel == "temp"]
    doors = []
    start = 120.0
    while start < minutes * 60 - 10:
        if not any(f.start - 20 < start < f.end + 20 for f in temp_faults):
            doors.append((start, start + 3.0))
        start += every
    w = RecordingWriter(str(path), {"board": {"kind": "simulator"}})
    frames = []
    for i in range(n):
        t = i / RATE
        line = board.line(i)
        if any(a <= t < b for a, b in doors):
            name, _, rest = line.partition(" ")
            key, _, v = name.partition(":")
            line = f"{key}:{float(v) + 1.0:.2f} {rest}"
        frames.append(Frame(T0 + t, "board", line))
    w.write(frames)
    w.close()
    append_labels(str(truth), label_records(board.faults_until(n / RATE), T0))
    return [(T0 + a, T0 + b) for a, b in doors]


def evaluate(rec: Path, labels: Path, *extra: str) -> dict:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    out = subprocess.run(
        [sys.executable, "-m", "sensorscope.cli", "evaluate", str(rec), "--labels", str(labels),
         "--json", *extra],
        check=True, capture_output=True, env=env,
    )  # fmt: skip
    return json.loads(out.stdout)["total"]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--minutes", type=float, default=30.0)
    ap.add_argument("--every", type=float, default=120.0, help="seconds between door events")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        rec, labels = Path(tmp) / "fridge.jsonl", Path(tmp) / "fridge.labels.jsonl"
        doors = make(rec, labels, args.minutes, args.every)
        series = score_file(str(rec), Settings())
        temp = next(s for s in series if s.channel == "temp")
        first = next(
            (a for a in temp.alerts if any(s - 1 <= a.start <= e + 1 for s, e in doors)), None
        )
        if first is None:
            print("the detector did not flag the door events: nothing to label")
            return
        append_labels(str(labels), [new_label("temp", first.start, first.end,
                                              "false_positive", alert=first.id)])  # fmt: skip
        flagged = sum(any(s - 1 <= a.start <= e + 1 for s, e in doors) for a in temp.alerts)
        print(f"{args.minutes:g} min, 4 channels at {RATE:g} Hz; {len(doors)} door events on "
              f"temp, {flagged} of them alerted; faults: "
              f"{sum(r.kind == 'anomaly' for r in read_labels(str(labels)))}; "
              f"one false-positive label (alert #{first.id})")  # fmt: skip
        cols = ("alerts", "false alerts", "faults caught", "precision", "recall", "false/h")
        print(f"{'':22s}" + "".join(f"{c:>15s}" for c in cols))
        for name, extra in (("without --feedback", ()), ("with --feedback", ("--feedback",))):
            tot = evaluate(rec, labels, *extra)
            ev = tot["events"]
            row = (tot["alerts"], ev["fp"], f"{ev['tp']}/{tot['windows']}",
                   f"{ev['precision']:.2f}", f"{ev['recall']:.2f}",
                   f"{ev['false_alerts_per_hour']:.1f}")  # fmt: skip
            print(f"{name:22s}" + "".join(f"{str(c):>15s}" for c in row))


if __name__ == "__main__":
    main()
