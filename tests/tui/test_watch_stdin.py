"""`producer | sensorscope watch -`: the data comes on stdin, the keys from the terminal.

The monitor runs as a real process whose controlling terminal is a pseudo-terminal (what
an SSH session gives it) and whose standard input is a pipe carrying sensor lines, as
`less` and `fzf` are used. Every line piped in must arrive intact, and a `q` typed at the
terminal must quit.
"""

from __future__ import annotations

import fcntl
import json
import os
import struct
import subprocess
import sys
import termios
import threading
import time
from pathlib import Path

from tui_support import drain, terminal_env

LINE = "Humidity: 45.00 %  Temperature: 23.50 *C"


def _recorded(path: Path) -> list[dict]:
    if not path.exists():
        return []
    rows = []
    for raw in path.read_text().splitlines()[1:]:
        try:
            rows.append(json.loads(raw))
        except ValueError:
            break  # a line being written
    return rows


def test_watch_stdin_gets_every_line_and_quits_on_a_key_from_the_terminal(tmp_path):
    recording = tmp_path / "piped.jsonl"
    master, slave = os.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 30, 100, 0, 0))
    data_r, data_w = os.pipe()

    def own_terminal() -> None:
        # In the child, after setsid: the pty becomes its controlling terminal.
        fcntl.ioctl(slave, termios.TIOCSCTTY, 0)

    proc = subprocess.Popen(
        [sys.executable, "-m", "sensorscope.cli", "watch", "-", "--record", str(recording),
         "--labels", str(tmp_path / "piped.labels.jsonl")],
        stdin=data_r, stdout=slave, stderr=slave, env=terminal_env(), cwd=tmp_path,
        start_new_session=True, preexec_fn=own_terminal, pass_fds=(slave,),
    )  # fmt: skip
    os.close(data_r)
    os.close(slave)
    screen = bytearray()
    drainer = threading.Thread(target=drain, args=(master, screen), daemon=True)
    drainer.start()
    written = 600
    try:
        with os.fdopen(data_w, "wb", buffering=0) as pipe:
            for i in range(written):
                pipe.write((LINE + "\n").encode())
                if i % 20 == 0:
                    time.sleep(0.01)  # a board's pace, not one burst
        deadline = time.monotonic() + 30
        while len(_recorded(recording)) < written and time.monotonic() < deadline:
            time.sleep(0.1)
        rows = _recorded(recording)
        lines = [r["line"] for r in rows if "line" in r]
        assert lines == [LINE] * written, f"{len(lines)} of {written} lines arrived intact"

        deadline = time.monotonic() + 20
        while proc.poll() is None and time.monotonic() < deadline:
            os.write(master, b"q")
            try:
                proc.wait(0.5)
            except subprocess.TimeoutExpired:
                pass
        assert proc.poll() is not None, "q typed at the terminal did not quit the monitor"
        assert proc.returncode == 0, bytes(screen[-2000:]).decode(errors="replace")
        drainer.join(5)
        # It ends saying what it read and scored, as `score` does: every line piped in.
        said = bytes(screen).decode(errors="replace")
        assert f"{written} lines, {written} parsed, 2 channels, {2 * written} samples" in said
        assert "not scored" not in said
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
        os.close(master)
        drainer.join(5)
    # The monitor's own view of the stream: only the device's two channels.
    scored = subprocess.run(
        [sys.executable, "-m", "sensorscope.cli", "score", str(recording), "-o", "-"],
        capture_output=True, env=terminal_env(), timeout=60,
    )  # fmt: skip
    channels = {row.split(",")[1] for row in scored.stdout.decode().splitlines()[1:] if row}
    assert channels == {"Humidity", "Temperature"}


def test_watch_stdin_without_a_terminal_says_so_in_one_line(tmp_path):
    proc = subprocess.run(
        [sys.executable, "-m", "sensorscope.cli", "watch", "-"],
        input=(LINE + "\n").encode() * 10, capture_output=True, env=terminal_env(), cwd=tmp_path,
        start_new_session=True, timeout=30,
    )  # fmt: skip
    err = proc.stderr.decode()
    assert proc.returncode == 2, err
    assert "Traceback" not in err
    assert len(err.strip().splitlines()) == 1, err
    assert "terminal" in err


def test_watch_stdin_that_is_the_terminal_asks_for_a_pipe(tmp_path):
    # `sensorscope watch -` typed with nothing piped in: the terminal cannot be both.
    master, slave = os.openpty()
    try:
        proc = subprocess.run(
            [sys.executable, "-m", "sensorscope.cli", "watch", "-"],
            stdin=slave, capture_output=True, env=terminal_env(), cwd=tmp_path, timeout=30,
        )  # fmt: skip
    finally:
        os.close(slave)
        os.close(master)
    err = proc.stderr.decode()
    assert proc.returncode == 2, err
    assert "Traceback" not in err
    assert len(err.strip().splitlines()) == 1, err
    assert "pipe the data in" in err
