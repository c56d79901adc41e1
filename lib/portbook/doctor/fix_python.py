"""Rewrite hardcoded Python ports to ``get_port("NAME")`` when the port is one service's.

A pure function of source text (no host access). Only integer literals *used as a port*
are candidates (what :func:`portbook.registry.code.find_hardcoded_ports` reports with no
registry: ``port=8001``, ``uvicorn.run(app, "h", 8001)``, ``bind(("h", 8001))``, a
``--port`` default, a ``port`` parameter default, a module constant used as a port). A
literal merely equal to a registered port (``timeout = 8001``) is never touched. A
candidate is rewritten only when exactly one manifest service has that port; the others
are returned as left over (findings, not fixes).

Each rewritten literal becomes ``get_port("NAME")`` in place (its parentheses kept), and
``from <fallback module> import get_port`` is added after the last module-level import
(before any module-level statement that uses it) unless the module already imports it.
Every other byte stays as it was.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass

import libcst as cst
from libcst.metadata import MetadataWrapper, PositionProvider

from portbook.registry.code import HardcodedPort, find_hardcoded_ports, parse_python
from portbook.registry.get_port_calls import get_port_use

__all__ = ["PythonFix", "port_owners", "port_prefilter", "rewrite_python_ports"]


@dataclass(frozen=True)
class PythonFix:
    """One file's outcome: its new text, each literal rewritten (with its service), those left."""

    text: str
    fixed: tuple[tuple[HardcodedPort, str], ...]
    left: tuple[HardcodedPort, ...]


def port_owners(ports: Mapping[str, int]) -> dict[int, tuple[str, ...]]:
    """``{port: (service, ...)}``: which services claim each port (``{name: port}`` input)."""
    owners: dict[int, list[str]] = {}
    for name, port in ports.items():
        owners.setdefault(port, []).append(name)
    return {port: tuple(names) for port, names in owners.items()}


def port_prefilter(ports: Iterable[int]) -> re.Pattern[str] | None:
    """A cheap regex finding any of ``ports`` as a whole number in text; None for no ports."""
    numbers = sorted({str(port) for port in ports})
    if not numbers:
        return None
    return re.compile(r"(?<![\w.])(?:" + "|".join(numbers) + r")(?![\w.])")


def rewrite_python_ports(
    text: str, path: str, owners: Mapping[int, tuple[str, ...]], module: str
) -> PythonFix:
    """Rewrite the port literals of ``text`` that belong to exactly one service.

    ``owners`` maps each manifest port to its services; ``module`` is the dotted module
    ``get_port`` is imported from. ParseError if ``text`` is not valid Python.
    """
    hits = find_hardcoded_ports(text, path, frozenset())
    fixable = {
        (hit.line, hit.col): (hit, owners[hit.value][0])
        for hit in hits
        if len(owners.get(hit.value, ())) == 1
    }
    left = tuple(hit for hit in hits if (hit.line, hit.col) not in fixable)
    if not fixable:
        return PythonFix(text, (), left)
    tree = parse_python(text, path)
    use = get_port_use(tree)
    if not use.imported and _binds_get_port(tree):
        return PythonFix(text, (), tuple(hits))  # its own get_port: not ours to shadow
    positions = MetadataWrapper(tree, unsafe_skip_copy=True).resolve(PositionProvider)
    targets: dict[cst.Integer, str] = {}
    for node, where in positions.items():
        key = (where.start.line, where.start.column + 1)
        if isinstance(node, cst.Integer) and key in fixable:
            targets[node] = fixable[key][1]
    rewritten = tree.visit(_ToGetPort(targets))
    assert isinstance(rewritten, cst.Module)
    if not use.imported:
        index = _insertion_index(tree, set(targets))
        body = list(rewritten.body)
        body.insert(index, _import_line(tree, index, module))
        rewritten = rewritten.with_changes(body=body)
    fixed = tuple(sorted(fixable.values(), key=lambda pair: (pair[0].line, pair[0].col)))
    return PythonFix(rewritten.code, fixed, left)


class _ToGetPort(cst.CSTTransformer):
    """Replace the given integer literals with ``get_port("NAME")``, keeping their parentheses."""

    def __init__(self, targets: dict[cst.Integer, str]) -> None:
        self.targets = targets

    def leave_Integer(
        self, original_node: cst.Integer, updated_node: cst.Integer
    ) -> cst.BaseExpression:
        name = self.targets.get(original_node)
        if name is None:
            return updated_node
        call = cst.parse_expression(f"get_port({json.dumps(name, ensure_ascii=False)})")
        return call.with_changes(lpar=updated_node.lpar, rpar=updated_node.rpar)


def _binds_get_port(tree: cst.Module) -> bool:
    """True if the module itself defines or assigns a top-level ``get_port``."""
    for stmt in tree.body:
        if isinstance(stmt, cst.FunctionDef | cst.ClassDef) and stmt.name.value == "get_port":
            return True
        for small in stmt.body if isinstance(stmt, cst.SimpleStatementLine) else ():
            if isinstance(small, cst.Assign) and any(
                isinstance(t.target, cst.Name) and t.target.value == "get_port"
                for t in small.targets
            ):
                return True
    return False


def _is_import(stmt: cst.BaseStatement) -> bool:
    """An import line, or a ``try:`` whose body imports (``try: import x / except ...``)."""
    if isinstance(stmt, cst.Try):
        return any(
            isinstance(inner, cst.Import | cst.ImportFrom)
            or (isinstance(inner, cst.BaseStatement) and _is_import(inner))
            for inner in stmt.body.body
        )
    return isinstance(stmt, cst.SimpleStatementLine) and any(
        isinstance(small, cst.Import | cst.ImportFrom) for small in stmt.body
    )


def _nodes(node: cst.CSTNode) -> Iterator[cst.CSTNode]:
    yield node
    for child in node.children:
        yield from _nodes(child)


def _insertion_index(tree: cst.Module, targets: set[cst.Integer]) -> int:
    """After the last module-level import (else the docstring), before any statement using it."""
    imports = [i for i, stmt in enumerate(tree.body) if _is_import(stmt)]
    index = imports[-1] + 1 if imports else int(tree.get_docstring() is not None)
    for i, stmt in enumerate(tree.body[:index]):
        if any(node in targets for node in _nodes(stmt)):
            return i
    return index


def _import_line(tree: cst.Module, index: int, module: str) -> cst.SimpleStatementLine:
    """``from MODULE import get_port``, after a blank line unless it joins imports or tops."""
    stmt = cst.parse_statement(f"from {module} import get_port\n")
    assert isinstance(stmt, cst.SimpleStatementLine)
    joins = index == 0 or _is_import(tree.body[index - 1])
    return stmt.with_changes(leading_lines=[] if joins else [cst.EmptyLine()])
