"""Facts about one Python file, read with Python's ``ast`` (a pure function of its text).

:func:`python_facts` finds what the Python checks report on, in one walk of the tree:

* hardcoded ports, by the rules of :func:`portbook.registry.code.find_hardcoded_ports`
  (same literals, same reasons; that libcst version is kept for ``--fix``): an int literal
  given as ``port=``, as uvicorn's third positional argument, as ``X.run("host", N)``'s
  second, in the ``(host, N)`` address of ``bind``/``*Server``, as the default of a
  ``port`` parameter or of ``add_argument("--port")``, a module constant used in those
  places, and any int literal equal to a registered port; plus ``localhost:NNNN``
  (``127.0.0.1``, ``0.0.0.0``) inside a string that is not a docstring;
* the names passed to ``get_port`` (called by name, by an import alias or as ``X.get_port``);
* absolute imports (module and line) and changes to ``sys.path`` (``append``, ``insert``,
  ``extend``, assignment, ``+=``, ``site.addsitedir``).
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from dataclasses import dataclass, field

__all__ = ["PortHit", "PyFacts", "full_name", "python_facts"]

_SERVER_CLASSES = ("HTTPServer", "TCPServer", "UDPServer", "ThreadingHTTPServer")
_LOCAL_URL = re.compile(r"(?:localhost|127\.0\.0\.1|0\.0\.0\.0):(\d{1,5})(?!\d)")
_PATH_METHODS = ("append", "insert", "extend")


@dataclass(frozen=True)
class PortHit:
    """A hardcoded port: 1-based line, 1-based column (in bytes), value and why it is one."""

    line: int
    col: int
    value: int
    reason: str


@dataclass
class PyFacts:
    """What the Python checks need from one file (empty lists when nothing was found)."""

    ports: list[PortHit] = field(default_factory=list)
    get_port: list[tuple[int, str]] = field(default_factory=list)
    imports: list[tuple[int, str]] = field(default_factory=list)
    sys_path: list[tuple[int, bool]] = field(default_factory=list)
    syntax_error: tuple[int, str] | None = None

    @property
    def called(self) -> set[str]:
        """The service names passed to get_port."""
        return {name for _, name in self.get_port}


def full_name(node: ast.AST) -> str | None:
    """``a.b.c`` for names, attributes, calls and subscripts, as libcst's helper spells it."""
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return f"{full_name(node.value)}.{node.attr}"
    if isinstance(node, ast.Call):
        return full_name(node.func)
    if isinstance(node, ast.Subscript):
        return full_name(node.value)
    return None


def _int(node: ast.AST | None) -> int | None:
    if isinstance(node, ast.Constant) and type(node.value) is int:
        return node.value
    return None


def _is_str(node: ast.AST | None) -> bool:
    return isinstance(node, ast.JoinedStr) or (
        isinstance(node, ast.Constant) and isinstance(node.value, str | bytes)
    )


def _positional(call: ast.Call, index: int) -> ast.expr | None:
    args = [arg for arg in call.args if not isinstance(arg, ast.Starred)]
    return args[index] if index < len(args) else None


def _keyword(call: ast.Call, name: str) -> list[ast.expr]:
    return [kw.value for kw in call.keywords if kw.arg == name]


def _address_port(call: ast.Call) -> ast.expr | None:
    address = _positional(call, 0)
    if isinstance(address, ast.Tuple) and len(address.elts) == 2:
        port = address.elts[1]
        return port.value if isinstance(port, ast.Starred) else port
    return None


def _port_args(call: ast.Call) -> Iterator[tuple[ast.expr, str]]:
    """Every expression ``call`` uses as a port, with how (the reasons of registry.code)."""
    callee = full_name(call.func) or "a call"
    short, first = callee.rsplit(".", 1)[-1], _positional(call, 0)
    yield from ((value, f"given as port= to {callee}") for value in _keyword(call, "port"))
    port: ast.expr | None = None
    if callee in ("uvicorn.run", "uvicorn.Config"):
        port = _positional(call, 2)
    elif short == "run" and first is not None and _is_str(first):
        port = _positional(call, 1)
    elif short == "bind" or short in _SERVER_CLASSES:
        address = _address_port(call)
        if address is not None:
            yield address, f"in the address given to {callee}"
    if port is not None:
        yield port, f"passed to {callee}"
    option = first.value if isinstance(first, ast.Constant) else None
    if callee.endswith("add_argument") and option == "--port":
        yield from ((value, "default of the --port option") for value in _keyword(call, "default"))


class _Walker(ast.NodeVisitor):
    """One depth-first walk collecting port uses, get_port calls, imports and sys.path edits."""

    def __init__(self) -> None:
        self.literals: dict[ast.Constant, str] = {}
        self.names: dict[str, str] = {}
        self.integers: list[ast.Constant] = []
        self.urls: list[PortHit] = []
        self.aliases = {"get_port"}
        self.facts = PyFacts()

    def _use(self, node: ast.expr, how: str) -> None:
        if _int(node) is not None:
            assert isinstance(node, ast.Constant)
            self.literals.setdefault(node, f"port {how}")
        elif isinstance(node, ast.Name):
            self.names.setdefault(node.id, how)

    def visit_Call(self, node: ast.Call) -> None:
        for value, how in _port_args(node):
            self._use(value, how)
        self._get_port(node)
        callee = full_name(node.func) or ""
        path_call = callee.rsplit(".", 1)[0] == "sys.path" and callee.endswith(_PATH_METHODS)
        if path_call or callee in ("site.addsitedir", "addsitedir"):
            self._sys_path(node.lineno, node.args)
        self.generic_visit(node)

    def _get_port(self, node: ast.Call) -> None:
        func = node.func
        named = isinstance(func, ast.Name) and func.id in self.aliases
        if named or (isinstance(func, ast.Attribute) and func.attr == "get_port"):
            value = node.args[0] if node.args else None
            if value is None and node.keywords:
                value = node.keywords[0].value
            if isinstance(value, ast.Constant) and isinstance(value.value, str):
                self.facts.get_port.append((value.lineno, value.value))

    def _sys_path(self, line: int, values: list[ast.expr]) -> None:
        absolute = any(
            isinstance(n, ast.Constant) and isinstance(n.value, str) and n.value.startswith("/")
            for value in values
            for n in ast.walk(value)
        )
        self.facts.sys_path.append((line, absolute))

    def _arguments(self, args: ast.arguments) -> None:
        positional = [*args.posonlyargs, *args.args]
        defaults = zip(
            positional[len(positional) - len(args.defaults) :], args.defaults, strict=True
        )
        pairs = list(defaults)
        kw = zip(args.kwonlyargs, args.kw_defaults, strict=True)
        pairs += [(a, d) for a, d in kw if d is not None]
        for arg, default in pairs:
            if arg.arg == "port":
                self._use(default, "given as the default of parameter port")

    def visit_FunctionDef(self, node: ast.FunctionDef) -> None:
        self._arguments(node.args)
        self.generic_visit(node)

    def visit_AsyncFunctionDef(self, node: ast.AsyncFunctionDef) -> None:
        self._arguments(node.args)
        self.generic_visit(node)

    def visit_Lambda(self, node: ast.Lambda) -> None:
        self._arguments(node.args)
        self.generic_visit(node)

    def visit_Import(self, node: ast.Import) -> None:
        self.facts.imports += [(node.lineno, alias.name) for alias in node.names]
        self.aliases |= {a.asname for a in node.names if a.name == "get_port" and a.asname}

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        if node.level == 0 and node.module:
            self.facts.imports.append((node.lineno, node.module))
        self.aliases |= {a.asname for a in node.names if a.name == "get_port" and a.asname}

    def _assigns_sys_path(self, targets: list[ast.expr], line: int, value: ast.expr) -> None:
        if any(full_name(t) == "sys.path" for t in targets):
            self._sys_path(line, [value])

    def visit_Assign(self, node: ast.Assign) -> None:
        self._assigns_sys_path(node.targets, node.lineno, node.value)
        self.generic_visit(node)

    def visit_AugAssign(self, node: ast.AugAssign) -> None:
        self._assigns_sys_path([node.target], node.lineno, node.value)
        self.generic_visit(node)

    def visit_Expr(self, node: ast.Expr) -> None:
        if not (isinstance(node.value, ast.Constant) and isinstance(node.value.value, str)):
            self.generic_visit(node)  # a bare string is a docstring or comment: not a request

    def visit_Constant(self, node: ast.Constant) -> None:
        if _int(node) is not None:
            self.integers.append(node)
        elif isinstance(node.value, str) and ":" in node.value:
            for match in _LOCAL_URL.finditer(node.value):
                line = node.lineno + node.value.count("\n", 0, match.start())
                reason = f"{match.group(0)} in a string"
                self.urls.append(PortHit(line, node.col_offset + 1, int(match.group(1)), reason))


def _constants(tree: ast.Module) -> Iterator[tuple[str, ast.expr]]:
    """``(name, value)`` of every module-level ``NAME = value`` / ``NAME: T = value``."""
    for stmt in tree.body:
        if isinstance(stmt, ast.Assign):
            yield from ((t.id, stmt.value) for t in stmt.targets if isinstance(t, ast.Name))
        elif isinstance(stmt, ast.AnnAssign) and isinstance(stmt.target, ast.Name) and stmt.value:
            yield stmt.target.id, stmt.value


def python_facts(text: str, registry_ports: frozenset[int]) -> PyFacts:
    """Everything the Python checks report on in ``text`` (see the module docstring)."""
    try:
        tree = ast.parse(text)
    except (SyntaxError, ValueError) as exc:
        line = getattr(exc, "lineno", None) or 1
        return PyFacts(syntax_error=(line, getattr(exc, "msg", None) or str(exc)))
    walker = _Walker()
    walker.visit(tree)
    flagged = dict(walker.literals)
    for name, value in _constants(tree):
        if name in walker.names and _int(value) is not None:
            assert isinstance(value, ast.Constant)
            flagged.setdefault(value, f"constant {name} {walker.names[name]}")
    for node in walker.integers:
        if node not in flagged and node.value in registry_ports:
            flagged[node] = "literal equal to a registered port"
    hits = [PortHit(n.lineno, n.col_offset + 1, _int(n) or 0, why) for n, why in flagged.items()]
    facts = walker.facts
    facts.ports = sorted(hits + walker.urls, key=lambda hit: (hit.line, hit.col))
    return facts
