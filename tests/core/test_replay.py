"""Replaying a file: every pass of a looping replay is paced by its own time stamps."""

from __future__ import annotations

import threading
import time

from sensorscope.model import Frame
from sensorscope.recording import RecordingWriter
from sensorscope.sources import RecordingSource

T0 = 1_763_884_800.0


def spaced_recording(path, lines: int = 40, step: float = 0.25) -> None:
    """A recording whose lines are ``step`` seconds apart."""
    w = RecordingWriter(str(path), {"dev": {"kind": "serial"}})
    w.write([Frame(T0 + i * step, "dev", f"temp:{20 + i % 7}.5") for i in range(lines)])
    w.close()


def passes(src: RecordingSource, count: int) -> list[list[tuple[float, float]]]:
    """``(data t, wall t when emitted)`` of every line of the first ``count`` passes."""
    stop = threading.Event()
    out: list[list[tuple[float, float]]] = [[]]
    for batch in src.batches(stop):
        now = time.monotonic()
        for frame in batch:
            if frame.event == "reset":
                if len(out) == count:
                    stop.set()
                    break
                out.append([])
            elif frame.event is None:
                out[-1].append((frame.t, now))
        if stop.is_set():
            break
    return out


def test_a_looping_replay_paces_its_second_pass_like_its_first(tmp_path):
    path = tmp_path / "spaced.jsonl"
    spaced_recording(path)  # 9.75 s of data
    src = RecordingSource(str(path), speed=16, loop=True)  # about 0.6 s a pass
    first, second = passes(src, 2)
    span = first[-1][0] - first[0][0]
    assert [t for t, _ in second] == [t for t, _ in first]
    wall_first = first[-1][1] - first[0][1]
    wall_second = second[-1][1] - second[0][1]
    assert wall_first >= 0.5 * span / 16
    # Generous: what matters is that the second pass waits between its lines at all.
    assert wall_second >= 0.5 * wall_first
    # And within the pass, lines go out at their own times, not in a burst at the end.
    half = len(second) // 2
    assert second[half][1] - second[0][1] >= 0.25 * wall_first
