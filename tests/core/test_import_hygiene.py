"""core/ must stay free of UI code: importing all of it loads neither Textual nor rich."""

from __future__ import annotations

import pkgutil
import subprocess
import sys

import core


def test_core_modules_import_without_textual():
    names = [m.name for m in pkgutil.iter_modules(core.__path__, "core.")]
    assert "core.pipeline" in names
    code = (
        "import importlib, sys\n"
        f"for n in {names!r}: importlib.import_module(n)\n"
        "bad = [m for m in ('textual', 'rich') if m in sys.modules]\n"
        "print(','.join(bad))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
