"""Lay out a new JSON value or member the way the manifest's text already does.

:func:`insert_member` appends ``"key": value`` to an object and :func:`delete_member`
removes one, its exact inverse; :func:`render_value` writes a value with the file's
indentation unit, separators and line endings, so the other bytes stay identical.
"""

from __future__ import annotations

import json

from portbook.errors import InvalidInput
from portbook.registry.manifest_scan import LocatedManifest, Node, indent_at

__all__ = ["delete_member", "file_newline", "insert_member", "render_value"]


def _dumps(value: object, indent: str | None, key_sep: str, item_sep: str) -> str:
    separators = (item_sep if indent is None else ",", key_sep)
    try:
        return json.dumps(value, ensure_ascii=False, indent=indent, separators=separators)
    except (TypeError, ValueError) as exc:
        raise InvalidInput(f"value {value!r} cannot be written as JSON: {exc}") from None


def file_newline(text: str) -> str:
    """The line ending the file uses."""
    return "\r\n" if "\r\n" in text else "\n"


def _file_unit(doc: LocatedManifest) -> str | None:
    """The file's indentation unit (the indentation of the top-level keys), None if compact."""
    members = doc.root.members or ()
    if not members or "\n" not in doc.text[doc.root.start : members[0].key_start]:
        return None
    return indent_at(doc.text, members[0].key_start) or None


def render_value(
    doc: LocatedManifest,
    sibling: Node | None,
    value: object,
    indent: str,
    key_sep: str,
    item_sep: str,
) -> str:
    """``value`` as JSON laid out like ``sibling`` at ``indent``; multi-line if ``item_sep`` is."""
    text, unit, multiline = doc.text, _file_unit(doc), "\n" in item_sep
    inner = sibling.members if sibling is not None else None
    if sibling is not None and inner is not None:
        multiline = "\n" in text[sibling.start : sibling.end]
    if inner:
        key_sep = text[inner[0].key_end : inner[0].value.start]
        own = indent_at(text, inner[0].key_start)
        if multiline and own.startswith(indent) and len(own) > len(indent):
            unit = own[len(indent) :]
    if inner and len(inner) > 1:
        item_sep = text[inner[0].value.end : inner[1].key_start]
    newline = file_newline(text)
    indent_unit = (unit or "  ") if multiline else None
    rendered = _dumps(value, indent_unit, key_sep, "," if multiline else item_sep)
    return rendered.replace("\n", newline + indent)


def insert_member(doc: LocatedManifest, node: Node, key: str, value: object) -> str:
    """Insert ``"key": value`` as the last member of object ``node``."""
    text, members, top = doc.text, node.members or (), doc.root.members or ()
    newline = file_newline(text)
    key_sep = text[top[0].key_end : top[0].value.start] if top else ": "
    name = json.dumps(key, ensure_ascii=False)
    if not members:
        unit, base = _file_unit(doc), indent_at(text, node.start)
        indent = base + (unit or "")
        sep = newline if unit else "," + key_sep[len(key_sep.rstrip()) :]
        sep = text[top[0].value.end : top[1].key_start] if top[1:] and not unit else sep
        body = name + key_sep + render_value(doc, None, value, indent, key_sep, sep)
        inner = newline + indent + body + newline + base if unit else body
        return text[: node.start + 1] + inner + text[node.end - 1 :]
    last = members[-1]
    gap_start = members[-2].value.end if len(members) > 1 else node.start + 1
    sep, key_sep = text[gap_start : last.key_start], text[last.key_end : last.value.start]
    if "," not in sep:  # a lone member: take the spacing after ":" as the spacing after ","
        sep = "," + (sep if "\n" in sep else key_sep[len(key_sep.rstrip()) :])
    indent = indent_at(text, last.key_start) if "\n" in sep else ""
    body = name + key_sep + render_value(doc, last.value, value, indent, key_sep, sep)
    lead = "," + newline + indent if "\n" in sep else sep
    return text[: last.value.end] + lead + body + text[last.value.end :]


def delete_member(text: str, node: Node, index: int) -> str:
    """Delete member ``index`` of object ``node`` and its separator (inverse of insert_member)."""
    members = node.members or ()
    if len(members) == 1:
        return text[: node.start + 1] + text[node.end - 1 :]
    if index:
        return text[: members[index - 1].value.end] + text[members[index].value.end :]
    return text[: members[0].key_start] + text[members[1].key_start :]
