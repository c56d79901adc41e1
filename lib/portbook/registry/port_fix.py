"""Fix hardcoded ports: rewrite them to ``SERVICE_PORT = get_port("NAME")``.

:func:`fix_hardcoded_ports` is a libcst transformation that leaves every other byte alone:
it replaces each literal :mod:`portbook.registry.hardcoded_ports` flags, and adds the
get_port import and the ``SERVICE_PORT`` line where they are missing.
"""

from __future__ import annotations

from collections.abc import Iterator

import libcst as cst

from portbook.errors import InvalidInput
from portbook.registry.get_port_calls import get_port_use
from portbook.registry.hardcoded_ports import module_constants, scan_hardcoded_ports
from portbook.registry.service_template import quoted_service_name

__all__ = ["fix_hardcoded_ports"]

_VAR = "SERVICE_PORT"
_IMPORT = "from backend.core.port_config import get_port"


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
    for name, value in module_constants(module):
        if name == _VAR and isinstance(value, cst.Integer) and value in flagged:
            return value
    return None


def _additions(
    module: cst.Module, path: str, name: str, rewrites_own: bool, needs_var: bool
) -> tuple[bool, bool]:
    """Whether the fix must add the get_port import and the ``SERVICE_PORT`` line."""
    use = get_port_use(module)
    if needs_var and any(var == _VAR for var, _ in module_constants(module)):
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
        stmt = cst.parse_statement(f"{_VAR} = get_port({quoted_service_name(name)})\n")
        added.append(stmt.with_changes(leading_lines=blank if added or index else []))
    return added


def fix_hardcoded_ports(text: str, path: str, name: str, registry_ports: frozenset[int]) -> str:
    """Rewrite every hardcoded port to ``SERVICE_PORT = get_port("name")``, importing get_port."""
    call = f"get_port({quoted_service_name(name)})"
    module, found = scan_hardcoded_ports(text, path, registry_ports)
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
