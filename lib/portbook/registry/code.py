"""Find and fix hardcoded ports in a service's source; write the source of a new service.

A service must take its port from ``get_port("NAME")`` (``backend.core.port_config``).
:func:`find_hardcoded_ports` flags integer literals used as a port, and literals equal to
any registered port; :func:`fix_hardcoded_ports` rewrites them to ``SERVICE_PORT`` with a
libcst transformation that leaves every other byte alone.

:func:`parse_python`, :func:`get_port_names` and :func:`rename_get_port` (list and rename the
names given to ``get_port`` calls) live in :mod:`portbook.registry.get_port_calls` and are
exported here.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass

import libcst as cst
from libcst.helpers import get_full_name_for_node
from libcst.metadata import MetadataWrapper, PositionProvider

from portbook.errors import InvalidInput
from portbook.registry.get_port_calls import (
    get_port_names,
    get_port_use,
    parse_python,
    rename_get_port,
)

__all__ = [
    "HardcodedPort",
    "calls_get_port",
    "find_hardcoded_ports",
    "fix_hardcoded_ports",
    "get_port_names",
    "parse_python",
    "rename_get_port",
    "service_template",
]

_VAR = "SERVICE_PORT"
_IMPORT = "from backend.core.port_config import get_port"
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


def _constants(module: cst.Module) -> Iterator[tuple[str, cst.BaseExpression]]:
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
    for name, value in _constants(module):
        if name in finder.names and isinstance(value, cst.Integer):
            flagged.setdefault(value, f"constant {name} {finder.names[name]}")
    for node in finder.integers:
        if node not in flagged and int(node.evaluated_value) in registry_ports:
            flagged[node] = "literal equal to a registered port"
    return flagged


def _scan(
    text: str, path: str, registry_ports: frozenset[int]
) -> tuple[cst.Module, dict[cst.Integer, HardcodedPort]]:
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
    _, found = _scan(text, path, registry_ports)
    return sorted(found.values(), key=lambda hit: (hit.line, hit.col))


def calls_get_port(text: str, name: str) -> bool:
    """True if the module calls ``get_port("name")`` (directly, aliased or as an attribute)."""
    return name in get_port_use(parse_python(text, "<source>")).called


def _quoted(name: str) -> str:
    if not name or not name.isprintable():
        raise InvalidInput(f"service name {name!r} cannot be written into source code")
    return json.dumps(name, ensure_ascii=False)


class _Rewrite(cst.CSTTransformer):
    """Replace flagged literals by ``SERVICE_PORT`` (or by the get_port call it stands for)."""

    def __init__(self, flagged: set[cst.Integer], own: cst.Integer | None, call: str) -> None:
        self.flagged, self.own, self.call = flagged, own, call

    def leave_Integer(
        self, original_node: cst.Integer, updated_node: cst.Integer
    ) -> cst.BaseExpression:
        if original_node is self.own:
            return cst.parse_expression(self.call)
        if original_node in self.flagged:
            return cst.Name(_VAR, lpar=updated_node.lpar, rpar=updated_node.rpar)
        return updated_node


def _walk(node: cst.CSTNode, into_defs: bool) -> Iterator[cst.CSTNode]:
    """``node`` and its descendants, entering function and class bodies only if asked."""
    yield node
    for child in node.children:
        if into_defs or not isinstance(child, cst.FunctionDef | cst.ClassDef):
            yield from _walk(child, into_defs)


def _has_import(stmt: cst.BaseStatement) -> bool:
    """An import statement, or a ``try:`` block of imports (not ``if __name__ ...`` blocks)."""
    if not isinstance(stmt, cst.SimpleStatementLine | cst.Try):
        return False
    return any(isinstance(node, cst.Import | cst.ImportFrom) for node in _walk(stmt, False))


def _insertion_index(module: cst.Module, flagged: set[cst.Integer]) -> int:
    """After the last module-level import (else the docstring), but before any flagged use."""
    imports = [i for i, stmt in enumerate(module.body) if _has_import(stmt)]
    index = imports[-1] + 1 if imports else int(module.get_docstring() is not None)
    for i, stmt in enumerate(module.body[:index]):
        if any(node in flagged for node in _walk(stmt, True)):
            return i
    return index


def _own_literal(module: cst.Module, flagged: set[cst.Integer]) -> cst.Integer | None:
    """The flagged literal of a module-level ``SERVICE_PORT = N``, if any."""
    for name, value in _constants(module):
        if name == _VAR and isinstance(value, cst.Integer) and value in flagged:
            return value
    return None


def _additions(
    module: cst.Module, path: str, name: str, rewrites_own: bool, needs_var: bool
) -> tuple[bool, bool]:
    """Whether the fix must add the get_port import and the ``SERVICE_PORT`` line."""
    use = get_port_use(module)
    if needs_var and any(var == _VAR for var, _ in _constants(module)):
        if name not in use.called:
            raise InvalidInput(f"{path}: {_VAR} is set without get_port({name!r}); fix by hand")
        needs_var = False
    return (needs_var or rewrites_own) and not use.imported, needs_var


def _new_lines(
    module: cst.Module, index: int, name: str, import_: bool, var: bool
) -> list[cst.BaseStatement]:
    """The added statements, with a blank line before each unless it joins imports or tops."""
    blank, added = [cst.EmptyLine()], list[cst.BaseStatement]()
    if import_:
        joins = index == 0 or _has_import(module.body[index - 1])
        stmt = cst.parse_statement(_IMPORT + "\n")
        added.append(stmt.with_changes(leading_lines=[] if joins else blank))
    if var:
        stmt = cst.parse_statement(f"{_VAR} = get_port({_quoted(name)})\n")
        added.append(stmt.with_changes(leading_lines=blank if added or index else []))
    return added


def fix_hardcoded_ports(text: str, path: str, name: str, registry_ports: frozenset[int]) -> str:
    """Rewrite every hardcoded port to ``SERVICE_PORT = get_port("name")``, importing get_port."""
    call = f"get_port({_quoted(name)})"
    module, found = _scan(text, path, registry_ports)
    called = name in get_port_use(module).called
    if not found and called:
        return text
    flagged = set(found)
    own = _own_literal(module, flagged)
    needs_var = own is None and (bool(flagged) or not called)
    import_, var = _additions(module, path, name, own is not None, needs_var)
    index = _insertion_index(module, flagged)
    added = _new_lines(module, index, name, import_, var)
    rewritten = module.visit(_Rewrite(flagged, own, call))
    assert isinstance(rewritten, cst.Module)
    body = [*rewritten.body[:index], *added, *rewritten.body[index:]]
    return rewritten.with_changes(body=body).code


_TEMPLATE = '''"""A minimal ASGI service managed by supervisord (generated by portbook).

supervisor runs it from the system's root with PYTHONPATH=".", so ``backend.`` imports
resolve without touching sys.path; by hand: ``PYTHONPATH=. python <this file>`` there.
"""

import json
from http import HTTPStatus
from typing import Any

from backend.core.port_config import get_port

SERVICE_NAME = {quoted}
SERVICE_PORT = get_port({quoted})


async def _lifespan(receive: Any, send: Any) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({{"type": "lifespan.startup.complete"}})
        elif message["type"] == "lifespan.shutdown":
            await send({{"type": "lifespan.shutdown.complete"}})
            return


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """Answer GET /health with the service's name and status; 404 for anything else."""
    if scope["type"] == "lifespan":
        await _lifespan(receive, send)
        return
    if scope["type"] != "http":
        return
    if scope["method"] == "GET" and scope["path"] == "/health":
        status, payload = HTTPStatus.OK, {{"service": SERVICE_NAME, "status": "ok"}}
    else:
        status, payload = HTTPStatus.NOT_FOUND, {{"error": "not found"}}
    body = json.dumps(payload).encode()
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
    ]
    await send({{"type": "http.response.start", "status": int(status), "headers": headers}})
    await send({{"type": "http.response.body", "body": body}})


if __name__ == "__main__":
    import uvicorn

    uvicorn.run(app, host="127.0.0.1", port=SERVICE_PORT, log_level="warning")
'''


def service_template(name: str) -> str:
    """Source of a new service: a dependency-free ASGI app on ``get_port(name)``."""
    return _TEMPLATE.format(quoted=_quoted(name))
