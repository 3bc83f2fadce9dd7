"""Lines a recorder loses around connects: a simulated 50 Hz board through start-up, an
unplug and a replug.

A board on a pseudo-terminal prints CSV (its header first) from before `sensorscope record`
starts; it is unplugged after 6 s and comes back on a new tty behind the same link 2 s
later. Lines the board wrote are counted against the lines in the recording. The goal is
at most one partial line lost at each connect; the board prints its header again when it
comes back, which the simulator does not count, so a few more can be recorded than counted.

Figures: lines written, lines recorded, lines lost, and the first line recorded (the
header, when what the port held before it was opened is kept); shown, not asserted.

    python bench/connect.py
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from sensorscope.simulate import Board, PtyBoard  # noqa: E402


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        link, rec = Path(tmp) / "ttyBOARD", Path(tmp) / "board.jsonl"
        board = Board(channels=4, rate=50, seed=1, fmt="csv", faults=())
        with PtyBoard(board, link=str(link)) as sim:
            command = [sys.executable, "-m", "sensorscope.cli", "record", str(link), "-o",
                       str(rec), "--duration", "14"]  # fmt: skip
            proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            time.sleep(6)
            sim.unplug()
            time.sleep(2)
            sim.replug()
            time.sleep(5)
            sim.stop()
            written = sim.lines_written - sim.dropped
        proc.wait()
        records = [json.loads(x) for x in rec.read_text().splitlines()[1:]]
    lines = [r["line"] for r in records if "line" in r]
    events = [r["event"] for r in records if "event" in r]
    print(f"events: {', '.join(events)}")
    print(f"lines written by the board: {written}")
    print(f"lines recorded:             {len(lines)}")
    print(f"lines lost:                 {max(0, written - len(lines))}")
    print(f"first line recorded:        {lines[0] if lines else None!r}")


if __name__ == "__main__":
    main()
