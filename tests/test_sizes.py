"""Sizes a reader can hold in their head: modules, classes and functions stay small.

A module over 600 lines, a class over 300 or a function over 80 is a room doing the work of
several. One may be bigger when its docstring says why, on a line starting ``Size:`` (a hot
loop that would pay a call per sample if split, a table that is one thing); the reason is
then read by whoever opens it, and this test keeps the exceptions visible.
"""

from __future__ import annotations

import ast
from pathlib import Path

import sensorscope
import sensorscope.tui

MODULE_LINES = 600
CLASS_LINES = 300
FUNCTION_LINES = 80


def _files() -> list[Path]:
    roots = {Path(sensorscope.__path__[0]), Path(sensorscope.tui.__path__[0])}
    return sorted(p for root in roots for p in root.rglob("*.py"))


def _excused(node: ast.AST) -> bool:
    doc = ast.get_docstring(node) or ""  # type: ignore[arg-type]
    return any(line.startswith("Size:") and len(line) > 20 for line in doc.splitlines())


def _lines(node: ast.AST) -> int:
    """Lines from the ``def`` or ``class`` line to the end, a function's docstring not
    counted: documentation is not what makes a function hard to hold."""
    n = node.end_lineno - node.lineno + 1  # type: ignore[attr-defined]
    body = getattr(node, "body", [])
    if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and ast.get_docstring(node):
        doc = body[0]
        n -= doc.end_lineno - doc.lineno + 1
    return n


def _too_big() -> list[str]:
    out = []
    for path in _files():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        where = path.relative_to(Path(sensorscope.__path__[0]).parent)
        n = len(path.read_text(encoding="utf-8").splitlines())
        if n > MODULE_LINES and not _excused(tree):
            out.append(f"{where}: module of {n} lines")
        for node in ast.walk(tree):
            if isinstance(node, ast.ClassDef) and _lines(node) > CLASS_LINES:
                if not _excused(node):
                    out.append(f"{where}:{node.lineno} class {node.name} of {_lines(node)} lines")
            elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                if _lines(node) > FUNCTION_LINES and not _excused(node):
                    out.append(
                        f"{where}:{node.lineno} function {node.name} of {_lines(node)} lines"
                    )
    return out


def test_no_module_class_or_function_is_too_big_without_saying_why():
    assert _too_big() == []


def test_the_size_check_sees_the_package():
    """A check that found no files would pass on anything."""
    names = {p.name for p in _files()}
    assert {"model.py", "app.py"} <= names
