"""Fleet test support. A real mosquitto broker: on 127.0.0.1, a free port, a config the test
writes; board recordings; a local webhook receiver.

Without mosquitto installed the tests that need one are skipped with the reason, unless
SENSORSCOPE_REQUIRE_MOSQUITTO=1 (CI sets it), which makes the missing broker a failure.
"""

from __future__ import annotations

import getpass
import json
import os
import shutil
import socket
import subprocess
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

MOSQUITTO = shutil.which("mosquitto") or (
    "/usr/sbin/mosquitto" if os.path.exists("/usr/sbin/mosquitto") else None
)
PASSWD = shutil.which("mosquitto_passwd")


def require_mosquitto() -> str:
    if MOSQUITTO is None:
        reason = "mosquitto is not installed (apt-get install mosquitto)"
        if os.environ.get("SENSORSCOPE_REQUIRE_MOSQUITTO") == "1":
            pytest.fail(reason + " and SENSORSCOPE_REQUIRE_MOSQUITTO=1")
        pytest.skip(reason)
    return MOSQUITTO


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(condition, timeout: float = 10.0, what: str = "condition", interval=0.02):
    """Poll ``condition`` until it is true; fail the test with ``what`` if it never is."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")
        time.sleep(interval)


class Broker:
    """One mosquitto process; ``restart()`` brings it back on the same port."""

    def __init__(
        self,
        directory: Path,
        users: dict[str, str] | None = None,
        tls: dict[str, str] | None = None,
    ) -> None:
        self.exe = require_mosquitto()
        self.dir = directory
        self.dir.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.host = "127.0.0.1"
        self.log = self.dir / "mosquitto.log"
        lines = [
            f"listener {self.port} {self.host}",
            # Run as whoever runs the tests, so the broker can read the files they wrote.
            f"user {getpass.getuser()}",
            "persistence false",
            # Agents replaying files as fast as they can outrun a watch for a moment; the
            # default queue (1000 per client) would drop what these tests count.
            "max_queued_messages 100000",
            f"log_dest file {self.log}",
            "log_type error",
            "log_type warning",
            "log_type notice",
            "log_type information",
        ]
        if users:
            if PASSWD is None:
                pytest.fail("mosquitto_passwd is missing (it comes with mosquitto)")
            pwfile = self.dir / "passwords"
            for i, (user, password) in enumerate(users.items()):
                args = [PASSWD, "-b", *(["-c"] if i == 0 else []), str(pwfile), user, password]
                subprocess.run(args, check=True, capture_output=True)
            lines += ["allow_anonymous false", f"password_file {pwfile}"]
        else:
            lines.append("allow_anonymous true")
        if tls:
            lines += [f"{key} {value}" for key, value in tls.items()]
        self.config = self.dir / "mosquitto.conf"
        self.config.write_text("\n".join(lines) + "\n")
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"mqtt://{self.host}:{self.port}"

    def start(self) -> Broker:
        self.proc = subprocess.Popen(
            [self.exe, "-c", str(self.config)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        deadline = time.monotonic() + 10
        while True:
            if self.proc.poll() is not None:
                err = self.proc.stderr.read().decode() if self.proc.stderr else ""
                log = self.log.read_text() if self.log.exists() else ""
                raise AssertionError(f"mosquitto exited {self.proc.returncode}: {err}{log}")
            try:
                with socket.create_connection((self.host, self.port), timeout=0.5):
                    return self
            except OSError:
                if time.monotonic() > deadline:
                    raise AssertionError("mosquitto never listened on its port") from None
                time.sleep(0.02)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        if self.proc is not None and self.proc.stderr is not None:
            self.proc.stderr.close()
        self.proc = None

    def restart(self) -> None:
        self.stop()
        self.start()


def make_certs(directory: Path) -> dict[str, Path]:
    """A CA, a server certificate for 127.0.0.1 and localhost, and a client certificate,
    made with the openssl command line; plus a second CA that signed none of them."""
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.fail("the openssl command is needed to make test certificates")
    d = directory
    d.mkdir(parents=True, exist_ok=True)

    def run(*args: str) -> None:
        subprocess.run([openssl, *args], check=True, capture_output=True, cwd=d)

    for ca in ("ca", "other-ca"):
        subject = f"/CN=sensorscope test {ca}"
        run(
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "2",
            "-subj",
            subject,
            "-keyout",
            f"{ca}.key",
            "-out",
            f"{ca}.crt",
        )
    (d / "server.ext").write_text("subjectAltName=IP:127.0.0.1,DNS:localhost\n")
    for name, ext in (("server", ["-extfile", "server.ext"]), ("client", [])):
        run(
            "req",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-subj",
            f"/CN={name}",
            "-keyout",
            f"{name}.key",
            "-out",
            f"{name}.csr",
        )
        run(
            "x509",
            "-req",
            "-in",
            f"{name}.csr",
            "-CA",
            "ca.crt",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-days",
            "2",
            "-out",
            f"{name}.crt",
            *ext,
        )
    names = {
        "ca": "ca.crt",
        "other_ca": "other-ca.crt",
        "server_cert": "server.crt",
        "server_key": "server.key",
        "client_cert": "client.crt",
        "client_key": "client.key",
    }
    return {key: d / name for key, name in names.items()}


def subscriber(broker: Broker, topic: str, on_message):
    """A paho client subscribed to ``topic`` (QoS 1), its network loop running; the caller
    calls ``loop_stop()``. ``on_message(message)`` gets each message."""
    import paho.mqtt.client as mqtt
    from paho.mqtt.enums import CallbackAPIVersion

    sub = mqtt.Client(CallbackAPIVersion.VERSION2)
    sub.on_message = lambda c, u, m: on_message(m)
    subscribed = threading.Event()
    sub.on_subscribe = lambda *a: subscribed.set()
    sub.connect(broker.host, broker.port)
    sub.subscribe(topic, qos=1)
    sub.loop_start()
    if not subscribed.wait(5):
        sub.loop_stop()
        raise AssertionError(f"no subscription to {topic} within 5 s")
    return sub


def write_board(
    path: Path,
    src: str = "board1",
    n: int = 600,
    rate: float = 50.0,
    spike_at: int | None = 400,
    t0: float = 1700000000.0,
    seed: int = 5,
) -> Path:
    """A recording of a two-channel board at ``rate`` Hz with one spike on temp."""
    import random

    from sensorscope.model import Frame
    from sensorscope.recording import RecordingWriter

    rng = random.Random(seed)
    w = RecordingWriter(str(path), {src: {"kind": "serial"}})
    frames = []
    for i in range(n):
        temp = 35.0 if i == spike_at else 21.5 + rng.gauss(0, 0.1)
        line = f"temp:{temp:.2f} hum:{40 + rng.gauss(0, 0.2):.2f}"
        frames.append(Frame(t0 + i / rate, src, line))
    w.write(frames)
    w.close()
    return path


class Lines:
    """Collects a process's stderr lines in a thread, so a test can wait for one."""

    def __init__(self, stream) -> None:
        self.lines: list[str] = []
        self._thread = threading.Thread(target=self._read, args=(stream,), daemon=True)
        self._thread.start()

    def _read(self, stream) -> None:
        for raw in iter(stream.readline, b""):
            self.lines.append(raw.decode("utf-8", "replace").rstrip("\n"))

    def wait_for(self, text: str, timeout: float = 15.0) -> str:
        try:
            return wait_until(
                lambda: next((line for line in self.lines if text in line), None), timeout
            )
        except AssertionError:
            raise AssertionError(f"{text!r} never came; lines: {self.lines!r}") from None

    @property
    def text(self) -> str:
        self._thread.join(5)
        return "\n".join(self.lines)


class Receiver:
    """A local webhook endpoint: answers with ``statuses`` in turn (then 200s), keeps bodies."""

    def __init__(self, statuses=()) -> None:
        self.requests: list[tuple[int, dict, dict]] = []
        self.statuses = list(statuses)
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - http.server's name
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                status = receiver.statuses.pop(0) if receiver.statuses else 200
                receiver.requests.append((status, dict(self.headers), body))
                self.send_response(status)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hook?token=secret"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
