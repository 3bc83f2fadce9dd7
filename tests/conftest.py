from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
# Test support modules beside this file (mqtt_broker.py) import by their own names.
sys.path.insert(0, str(Path(__file__).resolve().parent))


def run_cli(*args: str, input: bytes | None = None, timeout: float = 60, cwd=None):
    """Run the real `sensorscope` entry point in a subprocess, as a user would."""
    env = dict(os.environ)
    env.pop("COLUMNS", None)
    env["PYTHONPATH"] = str(ROOT)
    return subprocess.run(
        [sys.executable, "-m", "sensorscope.cli", *args],
        input=input,
        capture_output=True,
        timeout=timeout,
        env=env,
        cwd=cwd,
    )


@pytest.fixture
def cli():
    return run_cli


@pytest.fixture
def mosquitto(tmp_path):
    """Start real mosquitto brokers (``mosquitto(users=..., tls=...)``); all stopped after."""
    from mqtt_broker import Broker

    brokers = []

    def start(**config):
        broker = Broker(tmp_path / f"broker{len(brokers)}", **config)
        brokers.append(broker)
        return broker.start()

    yield start
    for broker in brokers:
        broker.stop()


@pytest.fixture
def procs():
    """Popen through this and the processes are killed if the test leaves them running."""
    started: list[subprocess.Popen] = []

    def popen(*args: str, **kwargs) -> subprocess.Popen:
        env = dict(os.environ)
        env.pop("COLUMNS", None)
        env["PYTHONPATH"] = str(ROOT)
        env.update(kwargs.pop("env", {}))
        kwargs.setdefault("stdout", subprocess.PIPE)
        kwargs.setdefault("stderr", subprocess.PIPE)
        proc = subprocess.Popen([sys.executable, "-m", "sensorscope.cli", *args], env=env, **kwargs)
        started.append(proc)
        return proc

    yield popen
    for proc in started:
        if proc.poll() is None:
            proc.kill()
        proc.communicate(timeout=10)
