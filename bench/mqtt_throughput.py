"""Readings per second from a board's recording through agent -> mosquitto -> a watch.

Generates a recording of N readings (4 channels of plotter lines from the simulator's
board), starts mosquitto on a free port, and a watch's pipeline subscribed to ``lab/#`` in
this process (the MqttSource, Runner and Pipeline ``watch`` runs, without the screen). Then
runs ``sensorscope agent REC --speed max --buffer N --mqtt mqtt://127.0.0.1:PORT/lab`` and
times until the watch has scored every reading; for scale, also ``sensorscope score REC``
alone. The broker queues without limit here (``max_queued_messages 0``): a file replayed as
fast as possible outruns any subscriber, and mosquitto's default drops QoS 1 messages for a
client more than 1000 behind.

    python bench/mqtt_throughput.py                  # 20000 readings, QoS 1
    python bench/mqtt_throughput.py --readings 50000 --qos 0
"""

from __future__ import annotations

import argparse
import getpass
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sensorscope.model import Frame, Settings  # noqa: E402
from sensorscope.monitor import build_monitor  # noqa: E402
from sensorscope.recording import RecordingWriter  # noqa: E402
from sensorscope.simulate import Board  # noqa: E402

CHANNELS = 4


def make_recording(path: Path, n: int) -> None:
    board = Board(channels=CHANNELS, rate=50.0, seed=1, fmt="plotter", fault_every=60.0)
    w = RecordingWriter(str(path), {"board1": {"kind": "serial"}})
    t0 = 1_700_000_000.0
    w.write([Frame(t0 + i / 50.0, "board1", board.line(i)) for i in range(n)])
    w.close()


def start_broker(tmp: Path) -> tuple[subprocess.Popen, int]:
    exe = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    conf = tmp / "mosquitto.conf"
    conf.write_text(
        f"listener {port} 127.0.0.1\nallow_anonymous true\nuser {getpass.getuser()}\n"
        "persistence false\nlog_type none\nmax_queued_messages 0\n"
    )
    proc = subprocess.Popen([exe, "-c", str(conf)], stderr=subprocess.DEVNULL)
    for _ in range(200):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return proc, port
        except OSError:
            time.sleep(0.02)
    raise SystemExit("mosquitto did not start")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--readings", type=int, default=20000)
    ap.add_argument("--qos", type=int, choices=(0, 1), default=1)
    args = ap.parse_args()
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        rec = tmp / "board1.jsonl"
        make_recording(rec, args.readings)
        t = time.perf_counter()
        command = [sys.executable, "-m", "sensorscope.cli", "score", str(rec), "-o", "/dev/null"]
        subprocess.run(command, check=True, env=env, capture_output=True)
        alone = time.perf_counter() - t
        broker, port = start_broker(tmp)
        monitor = build_monitor([f"mqtt://127.0.0.1:{port}/lab/#"], Settings(),
                                labels=str(tmp / "l.jsonl"))  # fmt: skip
        monitor.start()
        try:
            t = time.perf_counter()
            agent = subprocess.Popen(
                [sys.executable, "-m", "sensorscope.cli", "agent", str(rec), "--speed", "max",
                 "--qos", str(args.qos), "--buffer", str(args.readings),
                 "--mqtt", f"mqtt://127.0.0.1:{port}/lab"],
                env=env, stderr=subprocess.PIPE,
            )  # fmt: skip
            want = args.readings * CHANNELS
            src = monitor.sources[0]
            while True:
                snap = monitor.snapshot(points=0)
                if snap.counters.samples + src.lost * CHANNELS >= want:
                    break
                if agent.poll() not in (None, 0):
                    raise SystemExit(agent.stderr.read().decode())
                if time.perf_counter() - t > 300:
                    raise SystemExit(f"stuck: {snap.counters.samples} samples, {src.summary()}")
                time.sleep(0.01)
            relayed = time.perf_counter() - t
            _, err = agent.communicate(timeout=60)
        finally:
            monitor.stop()
            broker.terminate()
            broker.wait(5)
    n = args.readings
    summary = next(line for line in err.decode().splitlines() if "readings published" in line)
    print(f"{n} readings x {CHANNELS} channels, readings QoS {args.qos}")
    print(f"  score alone (process start included):   {alone:6.2f} s  {n / alone:8.0f} readings/s")
    print(
        f"  agent -> mosquitto -> watch pipeline:   {relayed:6.2f} s  {n / relayed:8.0f} readings/s"
    )
    print(f"  agent: {summary.split(' ', 1)[1]}")
    print(f"  watch: {src.summary()}")


if __name__ == "__main__":
    main()
