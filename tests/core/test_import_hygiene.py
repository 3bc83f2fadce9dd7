"""core/ must stay free of UI code: importing all of it loads neither Textual nor rich."""

from __future__ import annotations

import pkgutil
import subprocess
import sys

import sensorscope


def test_core_modules_import_without_textual():
    names = [m.name for m in pkgutil.walk_packages(sensorscope.__path__, "sensorscope.")]
    assert "sensorscope.pipeline" in names
    code = (
        "import importlib, sys\n"
        f"for n in {names!r}: importlib.import_module(n)\n"
        "bad = [m for m in ('textual', 'rich') if m in sys.modules]\n"
        "print(','.join(bad))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_no_core_module_imports_textual_even_inside_a_function():
    """Imports made only when a command runs (the browser monitor) escape the test above;
    the source says what a module will ever import."""
    import ast
    from pathlib import Path

    bad = []
    for path in sorted(Path(sensorscope.__path__[0]).rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                mods = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                mods = [node.module]
            else:
                continue
            bad += [
                f"{path.name}:{node.lineno} {m}"
                for m in mods
                if m.split(".")[0].startswith("textual")
            ]
    assert bad == []
