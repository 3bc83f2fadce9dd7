"""What the Pilot tests share: waiting for the monitor to get somewhere, with a deadline."""

from __future__ import annotations

import os
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


async def wait_for(pilot, cond, timeout: float = 10.0, what: str = "the condition") -> None:
    """Let the app run until ``cond()`` holds; fail naming ``what`` after ``timeout`` s.

    The monitor polls its scorer on a timer, so what a key or a replay changes reaches the
    screen some ticks later; a fixed pause would be either flaky or slow."""
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await pilot.pause(0.03)


def replay_ended(app) -> bool:
    """The replay's end has reached the app's snapshot."""
    snap = app.snapshot
    return snap is not None and snap.replay is not None and snap.replay.done


def replay_shown(app) -> bool:
    """The replay ended and its final state is on screen: every alert in the log."""
    return replay_ended(app) and app.alert_log.row_count == len(app.snapshot.alerts)


def terminal_env() -> dict[str, str]:
    """The environment for a `sensorscope` run on a pty: this checkout, a real TERM, and no
    size from the developer's own terminal."""
    env = dict(os.environ)
    env.pop("COLUMNS", None)
    env.pop("LINES", None)
    env["PYTHONPATH"] = str(ROOT)
    env["TERM"] = "xterm-256color"
    return env


def drain(fd: int, sink: bytearray) -> None:
    """Read what the monitor draws, so that it never blocks writing to its terminal."""
    while True:
        try:
            data = os.read(fd, 65536)
        except OSError:
            return
        if not data:
            return
        sink += data
