"""Find hardcoded ports in a service's source: integer literals used as a port.

:func:`find_hardcoded_ports` flags integer literals used as a port (passed as ``port=``, in
a ``bind``/server address, as a ``--port`` default...), constants used that way, and
literals equal to any registered port. :func:`scan_hardcoded_ports` also returns the parsed
module, for :mod:`portbook.registry.port_fix` to rewrite.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import libcst as cst
from libcst.helpers import get_full_name_for_node
from libcst.metadata import MetadataWrapper, PositionProvider

from portbook.registry.get_port_calls import parse_python

__all__ = ["HardcodedPort", "find_hardcoded_ports", "module_constants", "scan_hardcoded_ports"]

_SERVER_CLASSES = ("HTTPServer", "TCPServer", "UDPServer", "ThreadingHTTPServer")


@dataclass(frozen=True)
class HardcodedPort:
    """An integer literal that hardcodes a port: where it is (1-based line and column) and why."""

    path: str
    line: int
    col: int
    value: int
    reason: str


def _is_str(node: cst.BaseExpression) -> bool:
    return isinstance(node, cst.SimpleString | cst.ConcatenatedString | cst.FormattedString)


def _positional(call: cst.Call, index: int) -> cst.BaseExpression | None:
    args = [arg.value for arg in call.args if arg.keyword is None and not arg.star]
    return args[index] if index < len(args) else None


def _address_port(call: cst.Call) -> cst.BaseExpression | None:
    """The port of an ``(host, port)`` tuple given as the first positional argument."""
    address = _positional(call, 0)
    if isinstance(address, cst.Tuple) and len(address.elements) == 2:
        return address.elements[1].value
    return None


def _keyword(call: cst.Call, name: str) -> list[cst.BaseExpression]:
    return [arg.value for arg in call.args if arg.keyword and arg.keyword.value == name]


def _positional_port(call: cst.Call, callee: str) -> tuple[cst.BaseExpression, str] | None:
    """The positional argument ``call`` takes as a port, with how it is used."""
    short, first = callee.rsplit(".", 1)[-1], _positional(call, 0)
    port: cst.BaseExpression | None = None
    if callee in ("uvicorn.run", "uvicorn.Config"):
        port = _positional(call, 2)
    elif short == "run" and first is not None and _is_str(first):
        port = _positional(call, 1)
    elif short == "bind" or short in _SERVER_CLASSES:
        return (
            (port, f"in the address given to {callee}") if (port := _address_port(call)) else None
        )
    return (port, f"passed to {callee}") if port is not None else None


def _port_args(call: cst.Call) -> Iterator[tuple[cst.BaseExpression, str]]:
    """Every expression ``call`` uses as a port, with how it is used."""
    callee = get_full_name_for_node(call.func) or "a call"
    yield from ((value, f"given as port= to {callee}") for value in _keyword(call, "port"))
    positional = _positional_port(call, callee)
    if positional is not None:
        yield positional
    first = _positional(call, 0)
    option = first.evaluated_value if isinstance(first, cst.SimpleString) else None
    if callee.endswith("add_argument") and option == "--port":
        yield from ((value, "default of the --port option") for value in _keyword(call, "default"))


class _Finder(cst.CSTVisitor):
    """Collect integer literals used as ports, and names of constants used as ports."""

    def __init__(self) -> None:
        self.literals: dict[cst.Integer, str] = {}
        self.names: dict[str, str] = {}
        self.integers: list[cst.Integer] = []

    def _use(self, node: cst.BaseExpression, how: str) -> None:
        if isinstance(node, cst.Integer):
            self.literals.setdefault(node, f"port {how}")
        elif isinstance(node, cst.Name):
            self.names.setdefault(node.value, how)

    def visit_Call(self, node: cst.Call) -> None:
        for value, how in _port_args(node):
            self._use(value, how)

    def visit_Param(self, node: cst.Param) -> None:
        if node.name.value == "port" and node.default is not None:
            self._use(node.default, "given as the default of parameter port")

    def visit_Integer(self, node: cst.Integer) -> None:
        self.integers.append(node)


def module_constants(module: cst.Module) -> Iterator[tuple[str, cst.BaseExpression]]:
    """``(name, value)`` of every module-level ``NAME = value`` / ``NAME: T = value``."""
    for stmt in module.body:
        for small in stmt.body if isinstance(stmt, cst.SimpleStatementLine) else ():
            if isinstance(small, cst.Assign):
                for target in small.targets:
                    if isinstance(target.target, cst.Name):
                        yield target.target.value, small.value
            elif isinstance(small, cst.AnnAssign) and isinstance(small.target, cst.Name):
                yield from [(small.target.value, small.value)] if small.value else []


def _flagged(module: cst.Module, registry_ports: frozenset[int]) -> dict[cst.Integer, str]:
    finder = _Finder()
    module.visit(finder)
    flagged = dict(finder.literals)
    for name, value in module_constants(module):
        if name in finder.names and isinstance(value, cst.Integer):
            flagged.setdefault(value, f"constant {name} {finder.names[name]}")
    for node in finder.integers:
        if node not in flagged and int(node.evaluated_value) in registry_ports:
            flagged[node] = "literal equal to a registered port"
    return flagged


def scan_hardcoded_ports(
    text: str, path: str, registry_ports: frozenset[int]
) -> tuple[cst.Module, dict[cst.Integer, HardcodedPort]]:
    """The parsed module of ``text`` and its hardcoded ports, keyed by their literal."""
    module = parse_python(text, path)
    positions = MetadataWrapper(module, unsafe_skip_copy=True).resolve(PositionProvider)
    found: dict[cst.Integer, HardcodedPort] = {}
    for node, reason in _flagged(module, registry_ports).items():
        start = positions[node].start
        value = int(node.evaluated_value)
        found[node] = HardcodedPort(path, start.line, start.column + 1, value, reason)
    return module, found


def find_hardcoded_ports(
    text: str, path: str, registry_ports: frozenset[int]
) -> list[HardcodedPort]:
    """Every integer literal in ``text`` that hardcodes a port, in source order."""
    _, found = scan_hardcoded_ports(text, path, registry_ports)
    return sorted(found.values(), key=lambda hit: (hit.line, hit.col))
