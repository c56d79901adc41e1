"""The layout's rules: imports go one way, no cycles, no private names across packages.

The layers, lowest first (docs/architecture.md draws them); a module may import
its own layer or lower ones, never a higher one:

    base (errors, model, config, secrets) -> target -> registry -> host -> engine
    -> doctor -> steps -> procedures -> commands -> report -> fleet, sim -> cli

``lib/portbook`` never imports ``playbooks``.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

LIB = Path(__file__).resolve().parents[2] / "lib" / "portbook"
PLAYBOOKS = Path(__file__).resolve().parents[2] / "playbooks"

LAYERS: dict[str, int] = {
    "errors": 0,
    "model": 0,
    "config": 0,
    "secrets": 0,
    "target": 1,
    "registry": 2,
    "host": 3,
    "engine": 4,
    "doctor": 5,
    "steps": 6,
    "procedures": 7,
    "commands": 8,
    "report": 9,
    "fleet": 10,
    "sim": 10,
    "cli": 11,
    "__main__": 12,
    "__init__": 12,
}


def module_name(path: Path) -> str:
    """``portbook.host.supervisor`` for lib/portbook/host/supervisor.py."""
    parts = list(path.relative_to(LIB.parent).with_suffix("").parts)
    if parts[-1] == "__init__" and len(parts) > 2:
        parts.pop()
    return ".".join(parts)


def imports_of(path: Path) -> Iterator[tuple[str, list[str], int]]:
    """(absolute module, names imported from it, line) for every import in ``path``."""
    tree = ast.parse(path.read_text())
    package = module_name(path).split(".")
    if path.name != "__init__.py" or len(package) == 1:
        package = package[:-1] if path.name != "__init__.py" else package
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            base = package[: len(package) - node.level + 1] if node.level else []
            module = ".".join([*base, *([node.module] if node.module else [])])
            names = [alias.name for alias in node.names]
            if not node.module:  # "from . import x": x is a module
                for name in names:
                    yield f"{module}.{name}", [], node.lineno
            else:
                yield module, names, node.lineno
        elif isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, [], node.lineno


def layer_of(module: str) -> tuple[str, int]:
    """The layer a ``portbook.*`` module belongs to, and its rank."""
    top = module.split(".")[1] if "." in module else "__init__"
    return top, LAYERS[top]


def lib_files() -> list[Path]:
    """Every module of the library."""
    return sorted(LIB.rglob("*.py"))


def edges() -> Iterator[tuple[str, str, list[str], Path, int]]:
    """(importer, imported, names, file, line) for imports between portbook modules."""
    for path in lib_files():
        for module, names, line in imports_of(path):
            if module == "portbook" or module.startswith("portbook."):
                yield module_name(path), module, names, path, line


def test_every_top_level_module_and_package_has_a_layer() -> None:
    tops = {p.stem if p.is_file() else p.name for p in LIB.iterdir() if p.name != "py.typed"}
    tops.discard("__pycache__")
    assert tops <= set(LAYERS), f"no layer for {sorted(tops - set(LAYERS))}"


def test_lib_never_imports_the_task_layer() -> None:
    found = [
        f"{path.relative_to(LIB.parent)}:{line} imports {module}"
        for path in lib_files()
        for module, _, line in imports_of(path)
        if module == "playbooks" or module.startswith("playbooks.")
    ]
    assert not found, found


def test_imports_go_down_the_layers_only() -> None:
    upward = []
    for importer, imported, _, path, line in edges():
        (low, rank), (high, target_rank) = layer_of(importer), layer_of(imported)
        if target_rank > rank:
            where = f"{path.relative_to(LIB.parent)}:{line}"
            upward.append(f"{where}: {low} imports {imported} ({high} is above it)")
    assert not upward, "\n".join(upward)


def test_no_import_cycle_between_modules() -> None:
    graph: dict[str, set[str]] = {}
    known = {module_name(p) for p in lib_files()}
    for importer, imported, names, _, _ in edges():
        targets = {imported} | {f"{imported}.{n}" for n in names}
        graph.setdefault(importer, set()).update(t for t in targets if t in known)
    cycle = find_cycle(graph)
    assert cycle is None, " -> ".join(cycle or [])


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One cycle of ``graph`` (a package's ``__init__`` re-exports excluded), or None."""
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if nxt == node or is_parent_package(nxt, node):
                continue
            if state.get(nxt) == 1:
                return [*stack[stack.index(nxt) :], nxt]
            if state.get(nxt) is None and (found := visit(nxt)):
                return found
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if state.get(node) is None and (found := visit(node)):
            return found
    return None


def is_parent_package(candidate: str, module: str) -> bool:
    """True when ``candidate`` is a package containing ``module`` (its ``__init__``)."""
    return module.startswith(candidate + ".")


def test_no_private_name_is_imported_from_another_package() -> None:
    private = []
    for importer, imported, names, path, line in edges():
        own = importer.rsplit(".", 1)[0]
        theirs = imported.rsplit(".", 1)[0]
        for name in names:
            if name.startswith("_") and own != theirs and not imported.startswith(own):
                private.append(f"{path.relative_to(LIB.parent)}:{line}: {imported}.{name}")
    assert not private, private


@pytest.mark.parametrize("path", lib_files(), ids=lambda p: str(p.relative_to(LIB)))
def test_no_module_is_over_300_lines(path: Path) -> None:
    lines = len(path.read_text().splitlines())
    assert lines <= 300, f"{path.relative_to(LIB.parent)} has {lines} lines"
