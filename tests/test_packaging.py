"""The distribution installs one top-level package, ``sensorscope``, with the monitor inside it."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_the_wheel_holds_one_top_level_package(tmp_path):
    # A copy, so that the build's own folders never land in the checkout.
    src = tmp_path / "src"
    src.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, src / name)
    for name in ("core", "tui"):
        shutil.copytree(ROOT / name, src / name, ignore=shutil.ignore_patterns("__pycache__"))
    out = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "-w", str(tmp_path), "."],
        capture_output=True,
        text=True,
        cwd=src,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    (wheel,) = tmp_path.glob("sensorscope-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    top = {n.split("/")[0] for n in names if not n.split("/")[0].endswith((".dist-info", ".data"))}
    assert top == {"sensorscope"}
    assert {
        "sensorscope/cli/__init__.py",
        "sensorscope/tui/app.py",
        "sensorscope/tui/app.tcss",
    } <= set(names)
    assert "sensorscope/tui/widgets/channel_table.py" in names
