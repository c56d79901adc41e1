"""Read and surgically edit the ``DEFAULT_PORTS`` dict literal of ``backend/core/port_config.py``.

Every edit goes through libcst's concrete syntax tree, so all bytes the edit does not
mean to change (comments, blank lines, quotes, trailing commas, indentation, order)
come back unchanged. ``remove_port`` is the exact inverse of ``add_port``.
"""

from __future__ import annotations

from dataclasses import dataclass

import libcst as cst
from libcst.metadata import MetadataWrapper, PositionProvider

from portbook.errors import InvalidInput, ParseError
from portbook.registry.dict_layout import append_element, drop_element
from portbook.registry.get_port_calls import parse_python

__all__ = [
    "add_port",
    "default_ports_line",
    "read_ports",
    "remove_port",
    "rename_port",
    "set_port",
]

_VAR = "DEFAULT_PORTS"
_NOT_LITERAL = "DEFAULT_PORTS is not a literal dict of str to int"


@dataclass(frozen=True)
class _Found:
    """The parsed module, the DEFAULT_PORTS dict node, its ports and where each key sits."""

    module: cst.Module
    node: cst.Dict
    line: int
    ports: dict[str, int]
    key_lines: dict[str, int]


def _assigned_value(small: cst.BaseSmallStatement) -> tuple[cst.CSTNode, cst.BaseExpression] | None:
    """``(target, value)`` if ``small`` assigns DEFAULT_PORTS, else None."""
    if isinstance(small, cst.Assign):
        for target in small.targets:
            if isinstance(target.target, cst.Name) and target.target.value == _VAR:
                return target.target, small.value
    elif (
        isinstance(small, cst.AnnAssign)
        and isinstance(small.target, cst.Name)
        and small.target.value == _VAR
        and small.value is not None
    ):
        return small.target, small.value
    return None


def _describe(node: cst.CSTNode) -> str:
    if isinstance(node, cst.SimpleString):
        return "a bytes literal" if isinstance(node.evaluated_value, bytes) else "a str literal"
    if isinstance(node, cst.Name):
        return f"the name {node.value}"
    kinds = {cst.Call: "a call", cst.DictComp: "a comprehension", cst.Integer: "an int literal"}
    kinds |= {cst.FormattedString: "an f-string", cst.Float: "a float literal"}
    return kinds.get(type(node), f"a {type(node).__name__} expression")


def _read_elements(
    node: cst.Dict, path: str, line_of: dict[cst.BaseDictElement, int]
) -> tuple[dict[str, int], dict[str, int]]:
    ports: dict[str, int] = {}
    key_lines: dict[str, int] = {}
    for element in node.elements:
        line = line_of[element]
        if not isinstance(element, cst.DictElement):
            raise ParseError(path, line, f"{_NOT_LITERAL}: ** splat")
        key, value = element.key, element.value
        if not isinstance(key, cst.SimpleString) or not isinstance(key.evaluated_value, str):
            raise ParseError(path, line, f"{_NOT_LITERAL}: key is {_describe(key)}")
        name = key.evaluated_value
        if not isinstance(value, cst.Integer):
            raise ParseError(path, line, f"{_NOT_LITERAL}: value of {name!r} is {_describe(value)}")
        if name in ports:
            raise ParseError(path, line, f"DEFAULT_PORTS has duplicate key {name!r}")
        ports[name] = int(value.evaluated_value)
        key_lines[name] = line
    return ports, key_lines


def _locate(text: str, path: str) -> _Found:
    module = parse_python(text, path)
    positions = MetadataWrapper(module, unsafe_skip_copy=True).resolve(PositionProvider)
    found: list[tuple[cst.CSTNode, cst.BaseExpression]] = []
    for stmt in module.body:
        if isinstance(stmt, cst.SimpleStatementLine):
            found += [hit for small in stmt.body if (hit := _assigned_value(small))]
    if not found:
        raise ParseError(path, None, "no DEFAULT_PORTS dict literal")
    if len(found) > 1:
        lines = ", ".join(str(positions[target].start.line) for target, _ in found)
        line = positions[found[1][0]].start.line
        raise ParseError(path, line, f"DEFAULT_PORTS is assigned more than once (lines {lines})")
    target, value = found[0]
    line = positions[target].start.line
    if not isinstance(value, cst.Dict):
        where = positions[value].start.line
        raise ParseError(path, where, f"{_NOT_LITERAL}: it is {_describe(value)}")
    line_of = {element: positions[element].start.line for element in value.elements}
    ports, key_lines = _read_elements(value, path, line_of)
    return _Found(module, value, line, ports, key_lines)


def read_ports(text: str, path: str) -> dict[str, int]:
    """Return the module-level ``DEFAULT_PORTS`` literal as ``{name: port}`` in file order."""
    return _locate(text, path).ports


def default_ports_line(text: str, path: str) -> int:
    """Return the 1-based line of the ``DEFAULT_PORTS`` assignment."""
    return _locate(text, path).line


def _check_name(path: str, name: str) -> None:
    if not name or not name.isprintable() or any(c in name for c in "\"'\\"):
        raise InvalidInput(f"{path}: service name {name!r} cannot be a plain string key")


def _check_port(path: str, port: int) -> None:
    if isinstance(port, bool) or not isinstance(port, int) or not 0 < port < 65536:
        raise InvalidInput(f"{path}: port {port!r} is not an integer between 1 and 65535")


def _element(found: _Found, path: str, name: str) -> cst.DictElement:
    for element in found.node.elements:
        key = element.key if isinstance(element, cst.DictElement) else None
        if isinstance(key, cst.SimpleString) and key.evaluated_value == name:
            assert isinstance(element, cst.DictElement)
            return element
    raise InvalidInput(f"{path}:{found.line}: DEFAULT_PORTS has no entry {name!r}")


def _replace(found: _Found, old: cst.CSTNode, new: cst.CSTNode) -> str:
    module = found.module.deep_replace(old, new)
    assert isinstance(module, cst.Module)
    return module.code


def set_port(text: str, path: str, name: str, port: int) -> str:
    """Change the port of ``name``: only that integer literal's bytes change."""
    _check_port(path, port)
    found = _locate(text, path)
    value = _element(found, path, name).value
    return _replace(found, value, value.with_changes(value=str(port)))


def rename_port(text: str, path: str, old: str, new: str) -> str:
    """Rename key ``old`` to ``new``, keeping its quote style and prefix."""
    _check_name(path, new)
    found = _locate(text, path)
    key = _element(found, path, old).key
    if new in found.ports:
        raise InvalidInput(f"{path}:{found.key_lines[new]}: DEFAULT_PORTS already has {new!r}")
    assert isinstance(key, cst.SimpleString)
    return _replace(found, key, key.with_changes(value=f"{key.prefix}{key.quote}{new}{key.quote}"))


def _new_element(node: cst.Dict, name: str, port: int) -> cst.DictElement:
    last = node.elements[-1] if node.elements else None
    key = last.key if isinstance(last, cst.DictElement) else None
    quote = key.quote if isinstance(key, cst.SimpleString) and len(key.quote) == 1 else '"'
    element = cst.DictElement(cst.SimpleString(f"{quote}{name}{quote}"), cst.Integer(str(port)))
    if isinstance(last, cst.DictElement):
        element = element.with_changes(
            whitespace_before_colon=last.whitespace_before_colon,
            whitespace_after_colon=last.whitespace_after_colon,
        )
    return element


def add_port(text: str, path: str, name: str, port: int) -> str:
    """Append ``"name": port`` as the last element of DEFAULT_PORTS, in the dict's own style."""
    _check_name(path, name)
    _check_port(path, port)
    found = _locate(text, path)
    if name in found.ports:
        raise InvalidInput(f"{path}:{found.key_lines[name]}: DEFAULT_PORTS already has {name!r}")
    new = _new_element(found.node, name, port)
    return _replace(found, found.node, append_element(found.node, new, found.module.default_indent))


def remove_port(text: str, path: str, name: str) -> str:
    """Remove ``name`` from DEFAULT_PORTS: the exact inverse of :func:`add_port`."""
    found = _locate(text, path)
    element = _element(found, path, name)
    index = list(found.node.elements).index(element)
    return _replace(found, found.node, drop_element(found.node, index))
