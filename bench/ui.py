"""The monitor under a flood: frames per second, key-to-screen latency, the UI's CPU share.

A separate process writes 64-channel CSV lines at 1000 lines/s (64,000 values/s) into a
pty; the real app (make_app + build_monitor, as `sensorscope watch` builds it) runs
headless on that port. For --seconds it counts the snapshots the UI applied, presses `+`
and `-` in turn and times each press until the threshold it changed is on screen, and
reads the UI thread's CPU time.

In-process and headless: its "frames" are the snapshots the app applied, not repaints, and
its keys are posted into the app's queue, not typed. bench/ui_pty.py measures the same
through a real terminal (`sensorscope watch` in a pty, keys written to it, the screen's
bytes read back), which is what issue 15's goals are measured by.

    python bench/ui.py                      # 64 x 1000 Hz for 20 s
    python bench/ui.py --channels 16 --rate 200 --seconds 10
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import time
import tty
from pathlib import Path

from textual import events

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sensorscope.model import Settings  # noqa: E402
from sensorscope.monitor import build_monitor  # noqa: E402
from sensorscope.tui.app import make_app  # noqa: E402

WRITER = r"""
import math, os, random, sys, time
fd, channels, rate = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3])
os.write(fd, (",".join(f"c{i:02d}" for i in range(channels)) + "\r\n").encode())
rng = random.Random(1)
t0 = time.monotonic()
i = 0
while True:
    due = t0 + i / rate
    delay = due - time.monotonic()
    if delay > 0:
        time.sleep(delay)
    vals = ",".join(
        f"{20 + math.sin(i / 500 + c) + rng.gauss(0, 0.1):.3f}" for c in range(channels)
    )
    try:
        os.write(fd, (vals + "\r\n").encode())
    except BlockingIOError:
        pass  # nobody is keeping up: a real board's bytes would be lost too
    i += 1
"""


async def run(channels: int, rate: float, seconds: float) -> None:
    master, slave = os.openpty()
    tty.setraw(slave)
    os.set_blocking(master, False)
    port = os.ttyname(slave)
    writer = subprocess.Popen([sys.executable, "-c", WRITER, str(master), str(channels),
                               str(rate)], pass_fds=(master,))  # fmt: skip
    labels = f"/tmp/bench-ui-{os.getpid()}.labels.jsonl"
    monitor = build_monitor([port], Settings(), labels=labels)
    app = make_app(monitor)
    frames = 0
    original_apply = app.apply

    def counting_apply(snap, **kw):
        nonlocal frames
        frames += 1
        return original_apply(snap, **kw)

    app.apply = counting_apply  # type: ignore[method-assign]
    latencies: list[float] = []
    try:
        async with app.run_test(size=(160, 48), headless=True):
            await asyncio.sleep(3.0)  # connect, header, warm-up
            frames = 0
            cpu0, wall0 = time.thread_time(), time.perf_counter()
            lines0 = monitor.snapshot(points=0).counters.lines
            deadline = wall0 + seconds
            step = 1
            while time.perf_counter() < deadline:
                channel = app.selected
                if channel is None:
                    await asyncio.sleep(0.1)
                    continue
                before = monitor.threshold(channel)
                t = time.perf_counter()
                # As the terminal driver does: the key event goes into the app's queue.
                key = ("plus", "+") if step > 0 else ("minus", "-")
                app.post_message(events.Key(*key))
                # On screen: the table cell for the selected channel shows the new value.
                want = f"{min(1.0, max(0.0, before + 0.01 * step)):.2f}"
                while time.perf_counter() - t < 5:
                    cell = app.channel_table.get_cell(channel, "thr")
                    if getattr(cell, "plain", str(cell)).strip() == want:
                        break
                    await asyncio.sleep(0.001)
                latencies.append(time.perf_counter() - t)
                step = -step
                await asyncio.sleep(0.25)
            wall = time.perf_counter() - wall0
            cpu = time.thread_time() - cpu0
            snap = monitor.snapshot(points=0)
            lines = snap.counters.lines - lines0
    finally:
        writer.kill()
        monitor.stop()
        if os.path.exists(labels):
            os.unlink(labels)
        os.close(master)
        os.close(slave)
    ms = sorted(x * 1000 for x in latencies)
    print(f"flood: {channels} channels x {rate:g} Hz = {channels * rate:,.0f} values/s offered")
    print(f"scored: {lines / wall:,.0f} lines/s = {lines * channels / wall:,.0f} values/s")
    print(f"frames: {frames / wall:.1f} per second ({frames} in {wall:.1f} s)")
    print(
        f"key-to-screen latency: median {statistics.median(ms):.1f} ms, "
        f"worst {ms[-1]:.1f} ms over {len(ms)} presses"
    )
    print(f"UI thread CPU: {100 * cpu / wall:.0f}% of one core")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--channels", type=int, default=64)
    ap.add_argument("--rate", type=float, default=1000.0)
    ap.add_argument("--seconds", type=float, default=20.0)
    args = ap.parse_args()
    asyncio.run(run(args.channels, args.rate, args.seconds))


if __name__ == "__main__":
    main()
