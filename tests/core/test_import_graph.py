"""The layering of the package, read from its source with ``ast``.

The sources build on the recording format and on the MQTT client, which build on what every
source shares (``sensorscope.sources.base``): no cycle may run between them, not even through
an import made inside a function, since such an import only hides the cycle until the day
someone moves it to the top. The full-screen UI is a leaf: core code reaches it only where
the user asked for it (``watch``, ``demo`` and ``serve``).
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

import sensorscope
import sensorscope.tui

LAYERED = ("sensorscope.sources", "sensorscope.recording", "sensorscope.mqtt")


@dataclass(frozen=True)
class Edge:
    importer: str
    target: str
    function: str | None  # the function the import is made in; None at import time
    line: int


def _modules() -> dict[str, Path]:
    """Every module of the package by dotted name (a package by its own name)."""
    out: dict[str, Path] = {}
    for root, prefix in (
        (Path(sensorscope.__path__[0]), "sensorscope"),
        (Path(sensorscope.tui.__path__[0]), "sensorscope.tui"),
    ):
        for path in root.rglob("*.py"):
            parts = list(path.relative_to(root).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            out[".".join([prefix, *parts])] = path
    return out


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imports(name: str, path: Path, modules: dict[str, Path]) -> list[Edge]:
    """Every import ``name`` makes of a module of the package: at import time or inside a
    function. An import of ``a.b.c`` runs ``a.b`` first, so it is an import of that too.
    Imports under ``if TYPE_CHECKING:`` never run and are left out."""
    is_package = path.name == "__init__.py"
    edges: list[Edge] = []

    def targets(node: ast.Import | ast.ImportFrom) -> list[str]:
        if isinstance(node, ast.Import):
            return [a.name for a in node.names]
        base = node.module or ""
        if node.level:
            here = name.split(".") if is_package else name.split(".")[:-1]
            here = here[: len(here) - node.level + 1]
            base = ".".join([*here, base] if base else here)
        # ``from pkg import mod`` imports the module, ``from mod import name`` the module.
        return [f"{base}.{a.name}" if f"{base}.{a.name}" in modules else base for a in node.names]

    def visit(node: ast.AST, function: str | None) -> None:
        if isinstance(node, ast.If) and _is_type_checking(node):
            for child in node.orelse:
                visit(child, function)
            return
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            for target in targets(node):
                parts = target.split(".")
                for i in range(1, len(parts) + 1):
                    mod = ".".join(parts[:i])
                    # A module's own packages run before it whatever it imports: reaching
                    # a sibling through them is no dependency on their code.
                    own = i < len(parts) and name.startswith(mod + ".")
                    if mod in modules and mod not in (name, "sensorscope") and not own:
                        edges.append(Edge(name, mod, function, node.lineno))
            return
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            function = function or node.name
        for child in ast.iter_child_nodes(node):
            visit(child, function)

    visit(ast.parse(path.read_text(encoding="utf-8")), None)
    return edges


def _graph() -> list[Edge]:
    modules = _modules()
    return [e for name, path in modules.items() for e in _imports(name, path, modules)]


def _cycles(edges: list[Edge]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan)."""
    succ: dict[str, set[str]] = {}
    for e in edges:
        succ.setdefault(e.importer, set()).add(e.target)
        succ.setdefault(e.target, set())
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    out: list[list[str]] = []

    def connect(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(succ[v]):
            if w not in index:
                connect(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                out.append(sorted(component))

    for v in sorted(succ):
        if v not in index:
            connect(v)
    return out


def _layered(name: str) -> bool:
    return any(name == m or name.startswith(m + ".") for m in LAYERED)


def test_the_graph_sees_the_imports_it_is_about():
    """A reader that found no imports would find no cycles either."""
    edges = {(e.importer, e.target) for e in _graph()}
    assert ("sensorscope.runner", "sensorscope.recording") in edges
    assert ("sensorscope.cli.monitor", "sensorscope.tui.app") in edges


def test_no_import_cycle_between_the_sources_the_recording_and_mqtt():
    cycles = [c for c in _cycles(_graph()) if any(_layered(m) for m in c)]
    assert cycles == []


def test_the_base_of_the_sources_builds_on_nothing_but_errors_and_the_records():
    """Recordings and MQTT import the base; it must stay below both of them."""
    assert "sensorscope.sources.base" in _modules()
    edges = [e for e in _graph() if e.importer == "sensorscope.sources.base"]
    assert {e.target for e in edges} <= {"sensorscope", "sensorscope.errors", "sensorscope.model"}


def test_the_records_import_nothing_of_the_project():
    """Everything may import the records, so they may import nothing back."""
    assert "sensorscope.model" in _modules()
    edges = [e for e in _graph() if e.importer == "sensorscope.model"]
    assert edges == []


def test_only_the_commands_that_show_the_ui_import_it():
    outside = [
        e
        for e in _graph()
        if e.target.startswith("sensorscope.tui") and not e.importer.startswith("sensorscope.tui")
    ]
    assert outside, "cli's watch and serve import the UI"
    where = {(e.importer, e.function) for e in outside}
    assert where <= {
        ("sensorscope.cli.monitor", "run_monitor"),
        ("sensorscope.cli.monitor", "serve"),
        ("sensorscope.cli.monitor", "user_keys"),  # the [keys] table, checked by the UI's table
    }


# The layers: records <- core packages <- the command line and the UI.
# What the UI may ask the core for: the records, the errors it shows, the monitor (its one
# doorway to sources, scoring and the label store) and the span arithmetic of `m`.
FILE_WRITES = {"write_text", "write_bytes", "unlink", "rename", "mkdir", "touch"}
UI_DOORWAYS = {
    "sensorscope",
    "sensorscope.errors",
    "sensorscope.model",
    "sensorscope.monitor",
    "sensorscope.spans",
}


def _is_ui(module: str) -> bool:
    return module == "sensorscope.tui" or module.startswith("sensorscope.tui.")


def _is_cli(module: str) -> bool:
    return module == "sensorscope.cli" or module.startswith("sensorscope.cli.")


def test_no_import_cycle_anywhere_in_the_package():
    assert _cycles(_graph()) == []


def test_the_core_never_imports_the_command_line():
    """The command line composes the core; nothing below it may reach back up."""
    up = [
        e for e in _graph() if _is_cli(e.target) and not (_is_cli(e.importer) or _is_ui(e.importer))
    ]
    assert up == []


def test_the_ui_asks_the_core_only_through_its_doorways():
    """The UI never parses, scores or keeps files itself: it imports no parser, detector,
    engine, recording or label store, only the records and the monitor that runs them."""
    asked = {e.target for e in _graph() if _is_ui(e.importer) and not _is_ui(e.target)}
    assert "sensorscope.monitor" in asked
    assert asked <= UI_DOORWAYS


def test_the_ui_writes_no_files():
    """Recordings, labels and settings are written by the core; a widget that opened a file
    would block the UI thread and bypass the core's writers (fsync, torn-line recovery). The
    one exception is `serve`, which hands textual-serve a copy of its page templates."""
    writes = []
    for name, path in _modules().items():
        if not _is_ui(name) or name == "sensorscope.tui.serve":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Call):
                continue
            f = node.func
            if isinstance(f, ast.Name) and f.id == "open":
                writes.append(f"{name}:{node.lineno} open()")
            elif isinstance(f, ast.Attribute) and f.attr in FILE_WRITES:
                writes.append(f"{name}:{node.lineno} .{f.attr}()")
    assert writes == []
