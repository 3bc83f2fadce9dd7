"""`watch --record R --state auto` on a live stream: quitting saves the detectors beside
the recording (R's stem + ``.state``), for the next run to go on from."""

from __future__ import annotations

import fcntl
import os
import struct
import subprocess
import sys
import termios
import threading
import time

from tui_support import drain, terminal_env

from sensorscope.model import Settings
from sensorscope.pipeline import Pipeline
from sensorscope.state_file import StateFile

LINE = "Humidity: 45.00 %  Temperature: 23.50 *C"


def test_quitting_watch_saves_the_state_beside_the_recording(tmp_path):
    recording = tmp_path / "lab1.jsonl"
    env = terminal_env()
    master, slave = os.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 30, 100, 0, 0))
    data_r, data_w = os.pipe()

    def own_terminal() -> None:
        fcntl.ioctl(slave, termios.TIOCSCTTY, 0)

    proc = subprocess.Popen(
        [sys.executable, "-m", "sensorscope.cli", "watch", "-", "--record", str(recording),
         "--state", "auto", "--labels", str(tmp_path / "l.jsonl")],
        stdin=data_r, stdout=slave, stderr=slave, env=env, cwd=tmp_path,
        start_new_session=True, preexec_fn=own_terminal, pass_fds=(slave,),
    )  # fmt: skip
    os.close(data_r)
    os.close(slave)
    screen = bytearray()
    drainer = threading.Thread(target=drain, args=(master, screen), daemon=True)
    drainer.start()
    try:
        with os.fdopen(data_w, "wb", buffering=0) as pipe:
            for i in range(600):
                pipe.write((LINE.replace("45.00", f"{45 + (i % 7) / 10:.2f}") + "\n").encode())
                if i % 50 == 0:
                    time.sleep(0.01)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and (
            not recording.exists() or recording.read_text().count("\n") < 601
        ):
            time.sleep(0.1)
        time.sleep(0.5)  # the last lines scored (the state saved on quit holds them all)
        deadline = time.monotonic() + 20
        while proc.poll() is None and time.monotonic() < deadline:
            os.write(master, b"q")
            try:
                proc.wait(0.5)
            except subprocess.TimeoutExpired:
                pass
        assert proc.returncode == 0, bytes(screen[-2000:]).decode(errors="replace")
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
        os.close(master)
        drainer.join(5)
    state = tmp_path / "lab1.state"
    assert f"state: {state}" in bytes(screen).decode(errors="replace")
    restored = Pipeline(Settings())
    assert StateFile(str(state), Settings()).load(restored) is None
    engines = restored.registry.engines
    assert sorted(engines) == ["Humidity", "Temperature"]
    assert not any(e.warming_up for e in engines.values())
