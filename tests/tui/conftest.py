"""Fixtures for the monitor UI tests: real Monitors on real recordings and a pty board.

The async tests run on asyncio through the hook below (no async plugin needed): Textual's
Pilot is used inside ``async with app.run_test(...)``.
"""

from __future__ import annotations

import asyncio
import inspect
from pathlib import Path

import pytest

from sensorscope.model import Frame, Settings
from sensorscope.monitor import build_monitor
from sensorscope.recording import RecordingWriter
from sensorscope.simulate import Board, PtyBoard, write_board_recording

T0 = 1_763_884_800.0
# Lines the parser cannot take, appended after the board's two minutes.
BAD_LINES = ("Failed to read from DHT sensor!", "temp:abc hum:40.1 pressure:1013")


@pytest.hookimpl(tryfirst=True)
def pytest_pyfunc_call(pyfuncitem):
    """Run ``async def`` tests in a fresh event loop."""
    if inspect.iscoroutinefunction(pyfuncitem.obj):
        names = pyfuncitem._fixtureinfo.argnames
        asyncio.run(pyfuncitem.obj(**{n: pyfuncitem.funcargs[n] for n in names}))
        return True
    return None


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch):
    """A developer's terminal settings must not change what the tests see."""
    for name in ("NO_COLOR", "TEXTUAL", "TEXTUAL_THEME", "COLUMNS", "LINES"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture(scope="session")
def board_rec(tmp_path_factory) -> Path:
    """Two minutes of a 3-channel board at 10 Hz: alerts #1 pressure spike (30 s), #2 temp
    stuck (60 s), #3 temp drift (90 s); then two lines that do not parse."""
    path = tmp_path_factory.mktemp("rec") / "board.jsonl"
    board = Board(channels=3, rate=10, seed=1, fault_every=30, first_fault=30)
    write_board_recording(str(path), board, 120, T0)
    writer = RecordingWriter(str(path))
    writer.write([Frame(T0 + 120 + i * 0.1, "sim", line) for i, line in enumerate(BAD_LINES)])
    writer.close()
    return path


@pytest.fixture
def monitors():
    """Build monitors with ``monitors(specs, settings=..., **kw)``; every one is stopped
    after the test."""
    made = []

    def make(specs, **kw):
        kw.setdefault("speed", None)
        settings = kw.pop("settings", None) or Settings()
        m = build_monitor([str(s) for s in specs], settings, **kw)
        made.append(m)
        return m

    yield make
    for m in made:
        m.stop()


@pytest.fixture
def replay(monitors, board_rec, tmp_path):
    """A monitor replaying the board recording as fast as it can, labels in tmp_path."""
    return monitors([board_rec], labels=str(tmp_path / "labels.jsonl"))


@pytest.fixture
def live_board(tmp_path):
    """A simulated board printing 3 channels at 50 Hz on a pseudo-terminal."""
    with PtyBoard(Board(channels=3, rate=50, seed=2, faults=())) as sim:
        yield sim
