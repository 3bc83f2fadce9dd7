from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def run_cli(*args: str, input: bytes | None = None, timeout: float = 60, cwd=None):
    """Run the real `sensorscope` entry point in a subprocess, as a user would."""
    env = dict(os.environ)
    env.pop("COLUMNS", None)
    env["PYTHONPATH"] = str(ROOT)
    return subprocess.run(
        [sys.executable, "-m", "core.cli", *args],
        input=input,
        capture_output=True,
        timeout=timeout,
        env=env,
        cwd=cwd,
    )


@pytest.fixture
def cli():
    return run_cli
