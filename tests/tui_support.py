"""What the Pilot tests share: waiting for the monitor to get somewhere, with a deadline."""

from __future__ import annotations

import time


async def wait_for(pilot, cond, timeout: float = 10.0, what: str = "the condition") -> None:
    """Let the app run until ``cond()`` holds; fail naming ``what`` after ``timeout`` s.

    The monitor polls its scorer on a timer, so what a key or a replay changes reaches the
    screen some ticks later; a fixed pause would be either flaky or slow."""
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await pilot.pause(0.03)
