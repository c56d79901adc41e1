"""Parse Python source, and find or rename the service names given to ``get_port`` calls.

A ``get_port`` call is a call of ``get_port`` itself, of a name it was imported as
(``from ... import get_port as gp``), or of any ``X.get_port`` attribute; its name is its
first argument when that is a plain string literal (``"x"``, ``'x'``, ``r"x"``, ``'''x'''``).
Implicitly concatenated strings, f-strings and bytes are not names. The rename is a libcst
transformation that replaces only those literals: every other byte stays as it was.
"""

from __future__ import annotations

import ast

import libcst as cst
from libcst.helpers import get_full_name_for_node

from portbook.errors import InvalidInput, ParseError

__all__ = ["GetPortUse", "get_port_names", "get_port_use", "parse_python", "rename_get_port"]


def parse_python(text: str, path: str) -> cst.Module:
    """Parse Python source with libcst; a syntax error becomes ``ParseError(path:line:col)``."""
    try:
        return cst.parse_module(text)
    except cst.ParserSyntaxError as exc:
        line, col = exc.raw_line, exc.raw_column + 1
        detail = exc.message.splitlines()[0] if exc.message else "invalid syntax"
    try:  # Python's own parser gives the better position and message
        ast.parse(text, filename=path)
    except SyntaxError as err:
        line, col, detail = err.lineno or line, err.offset or col, err.msg or detail
    raise ParseError(path, line, f"invalid Python syntax: {detail}", col=col)


class GetPortUse(cst.CSTVisitor):
    """Record ``get_port`` imports at module level and the name literals of its calls."""

    def __init__(self) -> None:
        self.aliases = {"get_port"}
        self.imported = False
        self.literals: list[cst.SimpleString] = []
        self.depth = 0

    @property
    def names(self) -> list[str]:
        """The names passed to get_port, first-appearance order, no duplicates."""
        names = (literal.evaluated_value for literal in self.literals)
        return list(dict.fromkeys(name for name in names if isinstance(name, str)))

    @property
    def called(self) -> set[str]:
        """The names passed to get_port, as a set."""
        return set(self.names)

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        """Entering a function: imports inside it are not module level."""
        self.depth += 1

    def leave_FunctionDef(self, original_node: cst.FunctionDef) -> None:
        """Leaving a function."""
        self.depth -= 1

    def visit_ClassDef(self, node: cst.ClassDef) -> None:
        """Entering a class: imports inside it are not module level."""
        self.depth += 1

    def leave_ClassDef(self, original_node: cst.ClassDef) -> None:
        """Leaving a class."""
        self.depth -= 1

    def visit_ImportAlias(self, node: cst.ImportAlias) -> None:
        """Note ``get_port`` imported (under its own name or an alias)."""
        if get_full_name_for_node(node.name) == "get_port":
            alias = node.asname.name if node.asname else None
            self.aliases.add(alias.value if isinstance(alias, cst.Name) else "get_port")
            self.imported = self.imported or (alias is None and not self.depth)

    def visit_Call(self, node: cst.Call) -> None:
        """Record the literal name of a ``get_port("NAME")`` call."""
        func = node.func
        named = isinstance(func, cst.Name) and func.value in self.aliases
        if named or (isinstance(func, cst.Attribute) and func.attr.value == "get_port"):
            first = node.args[0].value if node.args else None
            if isinstance(first, cst.SimpleString) and isinstance(first.evaluated_value, str):
                self.literals.append(first)


def get_port_use(module: cst.Module) -> GetPortUse:
    """The get_port imports and calls of ``module``."""
    use = GetPortUse()
    module.visit(use)
    return use


def get_port_names(text: str, path: str) -> list[str]:
    """The literal names passed to ``get_port`` calls in ``text``, in first-appearance order,
    each once. ParseError (naming ``path``) if ``text`` is not valid Python."""
    return get_port_use(parse_python(text, path)).names


def _renamed(literal: cst.SimpleString, new: str, path: str) -> cst.SimpleString:
    """``literal`` spelling ``new`` instead, with the same prefix and quotes."""
    body = new
    if "r" not in literal.prefix.lower():
        body = new.replace("\\", "\\\\").replace(literal.quote[0], "\\" + literal.quote[0])
    value = f"{literal.prefix}{literal.quote}{body}{literal.quote}"
    try:
        same = cst.SimpleString(value).evaluated_value == new
    except (SyntaxError, ValueError):
        same = False
    if not same:
        raise InvalidInput(f"{path}: cannot write {new!r} inside {literal.value}")
    return literal.with_changes(value=value)


class _Rename(cst.CSTTransformer):
    """Replace the given string literal nodes with their renamed spelling."""

    def __init__(self, targets: list[cst.SimpleString], new: str, path: str) -> None:
        self.targets = set(targets)
        self.new, self.path = new, path

    def leave_SimpleString(
        self, original_node: cst.SimpleString, updated_node: cst.SimpleString
    ) -> cst.SimpleString:
        if original_node in self.targets:
            return _renamed(updated_node, self.new, self.path)
        return updated_node


def rename_get_port(text: str, path: str, old: str, new: str) -> str:
    """``text`` with the name of every ``get_port("OLD")`` call changed to NEW.

    Only those string literals change, each keeping its prefix and quote style; a file
    without such a call comes back unchanged. InvalidInput if NEW is empty or unprintable
    or cannot be spelled in a literal's style (a quote or backslash in a raw string);
    ParseError if ``text`` is not valid Python.
    """
    if not new or not new.isprintable():
        raise InvalidInput(f"service name {new!r} cannot be written into source code")
    module = parse_python(text, path)
    targets = [s for s in get_port_use(module).literals if s.evaluated_value == old]
    if not targets:
        return text
    return module.visit(_Rename(targets, new, path)).code
