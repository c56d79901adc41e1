"""Read and surgically edit ``backend/core/config/MASTER_PORT_MANIFEST.json``.

``json.loads`` validates and reads the document; a small position-tracking scan finds
where each member's key and value sit, and every edit is a text insertion, deletion or
replacement at those offsets, so all other bytes (indentation, spacing, key order, line
endings, non-ASCII text) stay identical. ``remove_service`` is the exact inverse of
``add_service`` whenever the category already existed.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from portbook.errors import InvalidInput, ParseError

__all__ = [
    "CATEGORIES",
    "ManifestEntry",
    "add_service",
    "move_service",
    "read_document",
    "read_services",
    "remove_service",
    "rename_service",
    "set_field",
]

CATEGORIES = ("core_services", "watchdog_services")
_WS = " \t\r\n"


@dataclass(frozen=True)
class ManifestEntry:
    """One service of the manifest: its name, category, port, description and status."""

    name: str
    category: str
    port: int
    description: str
    status: str


@dataclass(frozen=True)
class _Member:
    key: str
    key_start: int
    key_end: int
    value: _Node


@dataclass(frozen=True)
class _Node:
    start: int
    end: int
    members: tuple[_Member, ...] | None  # None unless the value is an object


def _skip(text: str, i: int) -> int:
    while i < len(text) and text[i] in _WS:
        i += 1
    return i


def _string_end(text: str, i: int) -> int:
    j = i + 1
    while text[j] != '"':
        j += 2 if text[j] == "\\" else 1
    return j + 1


def _scan_object(text: str, i: int) -> _Node:
    members: list[_Member] = []
    j = _skip(text, i + 1)
    while text[j] != "}":
        key_end = _string_end(text, j)
        value = _scan(text, _skip(text, _skip(text, key_end) + 1))
        members.append(_Member(json.loads(text[j:key_end]), j, key_end, value))
        j = _skip(text, value.end)
        j = _skip(text, j + 1) if text[j] == "," else j
    return _Node(i, j + 1, tuple(members))


def _scan(text: str, i: int) -> _Node:
    """Locate the (already validated) JSON value starting at ``i``."""
    if text[i] == "{":
        return _scan_object(text, i)
    if text[i] == '"':
        return _Node(i, _string_end(text, i), None)
    if text[i] == "[":
        j = _skip(text, i + 1)
        while text[j] != "]":
            j = _skip(text, _scan(text, j).end)
            j = _skip(text, j + 1) if text[j] == "," else j
        return _Node(i, j + 1, None)
    j = i
    while j < len(text) and text[j] not in ",]}" + _WS:
        j += 1
    return _Node(i, j, None)


def _line(text: str, pos: int) -> int:
    return text.count("\n", 0, pos) + 1


def _indent_at(text: str, pos: int) -> str:
    """The leading whitespace of the line holding ``pos``."""
    start = end = text.rfind("\n", 0, pos) + 1
    while end < pos and text[end] in " \t":
        end += 1
    return text[start:end]


@dataclass(frozen=True)
class _Doc:
    text: str
    path: str
    data: dict[str, object]
    root: _Node

    def member(self, node: _Node, key: str, what: str) -> _Member | None:
        hits = [m for m in node.members or () if m.key == key]
        if len(hits) > 1:
            raise ParseError(self.path, _line(self.text, hits[1].key_start), f"duplicate {what}")
        return hits[0] if hits else None

    def category(self, name: str) -> _Member | None:
        found = self.member(self.root, name, f"key {name!r}")
        if found and found.value.members is None:
            where = _line(self.text, found.key_start)
            raise ParseError(self.path, where, f"{name!r} is not a JSON object")
        return found

    def service(self, name: str) -> tuple[_Member, _Member] | None:
        """``(category member, service member)`` of ``name``, or None."""
        hits: list[tuple[_Member, _Member]] = []
        for category in CATEGORIES:
            cat = self.category(category)
            svc = self.member(cat.value, name, f"service {name!r} in {category}") if cat else None
            hits += [(cat, svc)] if cat and svc else []
        if len(hits) > 1:
            where = _line(self.text, hits[1][1].key_start)
            raise ParseError(self.path, where, f"service {name!r} is in both {CATEGORIES}")
        return hits[0] if hits else None

    def need(self, name: str) -> tuple[_Member, _Member]:
        found = self.service(name)
        if found is None:
            raise InvalidInput(f"{self.path}: no service {name!r} in {' or '.join(CATEGORIES)}")
        return found

    def refuse_existing(self, name: str) -> None:
        found = self.service(name)
        if found:
            where = f"{self.path}:{_line(self.text, found[1].key_start)}"
            raise InvalidInput(f"{where}: service {name!r} already exists in {found[0].key}")


def _load(text: str, path: str) -> _Doc:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ParseError(path, exc.lineno, exc.msg, col=exc.colno) from None
    if not isinstance(data, dict):
        raise ParseError(path, 1, "the manifest is not a JSON object")
    return _Doc(text, path, data, _scan(text, _skip(text, 0)))


def read_document(text: str, path: str) -> dict[str, object]:
    """Return the whole parsed manifest, key order kept."""
    return _load(text, path).data


def _entry(doc: _Doc, category: str, member: _Member) -> ManifestEntry:
    where = _line(doc.text, member.key_start)
    fields = doc.data[category]
    assert isinstance(fields, dict)
    value = fields[member.key]
    if not isinstance(value, dict):
        raise ParseError(doc.path, where, f"service {member.key!r} is not a JSON object")
    port, description, status = (value.get(k, "") for k in ("port", "description", "status"))
    if isinstance(port, bool) or not isinstance(port, int):
        raise ParseError(doc.path, where, f"service {member.key!r}: port {port!r} is not an int")
    if not isinstance(description, str) or not isinstance(status, str):
        raise ParseError(doc.path, where, f"service {member.key!r}: description/status not text")
    return ManifestEntry(member.key, category, port, description, status)


def read_services(text: str, path: str) -> dict[str, ManifestEntry]:
    """Return every service under the manifest's categories (either may be missing)."""
    doc = _load(text, path)
    entries: dict[str, ManifestEntry] = {}
    for category in CATEGORIES:
        cat = doc.category(category)
        for member in cat.value.members or () if cat else ():
            doc.service(member.key)  # raises on duplicates and on a name in both categories
            entries[member.key] = _entry(doc, category, member)
    return entries


def _dumps(value: object, indent: str | None, key_sep: str, item_sep: str) -> str:
    separators = (item_sep if indent is None else ",", key_sep)
    try:
        return json.dumps(value, ensure_ascii=False, indent=indent, separators=separators)
    except (TypeError, ValueError) as exc:
        raise InvalidInput(f"value {value!r} cannot be written as JSON: {exc}") from None


def _file_newline(text: str) -> str:
    return "\r\n" if "\r\n" in text else "\n"


def _file_unit(doc: _Doc) -> str | None:
    """The file's indentation unit (the indentation of the top-level keys), None if compact."""
    members = doc.root.members or ()
    if not members or "\n" not in doc.text[doc.root.start : members[0].key_start]:
        return None
    return _indent_at(doc.text, members[0].key_start) or None


def _render(
    doc: _Doc, sibling: _Node | None, value: object, indent: str, key_sep: str, item_sep: str
) -> str:
    """``value`` as JSON laid out like ``sibling`` at ``indent``; multi-line if ``item_sep`` is."""
    text, unit, multiline = doc.text, _file_unit(doc), "\n" in item_sep
    inner = sibling.members if sibling is not None else None
    if sibling is not None and inner is not None:
        multiline = "\n" in text[sibling.start : sibling.end]
    if inner:
        key_sep = text[inner[0].key_end : inner[0].value.start]
        own = _indent_at(text, inner[0].key_start)
        if multiline and own.startswith(indent) and len(own) > len(indent):
            unit = own[len(indent) :]
    if inner and len(inner) > 1:
        item_sep = text[inner[0].value.end : inner[1].key_start]
    newline = _file_newline(text)
    indent_unit = (unit or "  ") if multiline else None
    rendered = _dumps(value, indent_unit, key_sep, "," if multiline else item_sep)
    return rendered.replace("\n", newline + indent)


def _insert(doc: _Doc, node: _Node, key: str, value: object) -> str:
    """Insert ``"key": value`` as the last member of object ``node``."""
    text, members, top = doc.text, node.members or (), doc.root.members or ()
    newline = _file_newline(text)
    key_sep = text[top[0].key_end : top[0].value.start] if top else ": "
    name = json.dumps(key, ensure_ascii=False)
    if not members:
        unit, base = _file_unit(doc), _indent_at(text, node.start)
        indent = base + (unit or "")
        sep = newline if unit else "," + key_sep[len(key_sep.rstrip()) :]
        sep = text[top[0].value.end : top[1].key_start] if top[1:] and not unit else sep
        body = name + key_sep + _render(doc, None, value, indent, key_sep, sep)
        inner = newline + indent + body + newline + base if unit else body
        return text[: node.start + 1] + inner + text[node.end - 1 :]
    last = members[-1]
    gap_start = members[-2].value.end if len(members) > 1 else node.start + 1
    sep, key_sep = text[gap_start : last.key_start], text[last.key_end : last.value.start]
    if "," not in sep:  # a lone member: take the spacing after ":" as the spacing after ","
        sep = "," + (sep if "\n" in sep else key_sep[len(key_sep.rstrip()) :])
    indent = _indent_at(text, last.key_start) if "\n" in sep else ""
    body = name + key_sep + _render(doc, last.value, value, indent, key_sep, sep)
    lead = "," + newline + indent if "\n" in sep else sep
    return text[: last.value.end] + lead + body + text[last.value.end :]


def _delete(text: str, node: _Node, index: int) -> str:
    """Delete member ``index`` of object ``node`` with its separator; the inverse of _insert."""
    members = node.members or ()
    if len(members) == 1:
        return text[: node.start + 1] + text[node.end - 1 :]
    if index:
        return text[: members[index - 1].value.end] + text[members[index].value.end :]
    return text[: members[0].key_start] + text[members[1].key_start :]


def _check_port(path: str, name: str, port: object) -> None:
    if isinstance(port, bool) or not isinstance(port, int):
        raise InvalidInput(f"{path}: service {name!r}: port {port!r} is not an int")


def _check_fields(path: str, category: str, name: str, fields: dict[str, object]) -> None:
    if category not in CATEGORIES:
        raise InvalidInput(f"{path}: category {category!r} is not one of {', '.join(CATEGORIES)}")
    if not name:
        raise InvalidInput(f"{path}: service name must not be empty")
    _check_port(path, name, fields.get("port"))


def add_service(text: str, path: str, category: str, name: str, fields: dict[str, object]) -> str:
    """Insert ``"name": {fields}`` as the last member of ``category`` (created if missing)."""
    _check_fields(path, category, name, fields)
    doc = _load(text, path)
    doc.refuse_existing(name)
    cat = doc.category(category)
    if cat is None:
        return _insert(doc, doc.root, category, {name: fields})
    return _insert(doc, cat.value, name, fields)


def remove_service(text: str, path: str, name: str) -> str:
    """Remove service ``name`` (its key, value and one separator) from its category."""
    doc = _load(text, path)
    cat, svc = doc.need(name)
    members = cat.value.members or ()
    return _delete(text, cat.value, members.index(svc))


def set_field(text: str, path: str, name: str, field: str, value: object) -> str:
    """Set ``field`` of service ``name``: only that value's bytes change (added if missing)."""
    if field == "port":
        _check_port(path, name, value)
    doc = _load(text, path)
    svc = doc.need(name)[1].value
    if svc.members is None:
        raise ParseError(path, _line(text, svc.start), f"service {name!r} is not a JSON object")
    hits = [m for m in svc.members if m.key == field]
    if not hits:
        return _insert(doc, svc, field, value)
    old = hits[-1]
    key_sep = text[old.key_end : old.value.start]
    indent = _indent_at(text, old.key_start)
    sep = "," + _file_newline(text) if "\n" in text[svc.start : svc.end] else ", "
    rendered = _render(doc, old.value, value, indent, key_sep, sep)
    return text[: old.value.start] + rendered + text[old.value.end :]


def move_service(text: str, path: str, name: str, category: str) -> str:
    """Move service ``name`` to ``category``: removed from one, appended to the other."""
    doc = _load(text, path)
    cat, _ = doc.need(name)
    if cat.key == category:
        raise InvalidInput(f"{path}: service {name!r} is already in {category}")
    fields = doc.data[cat.key]
    assert isinstance(fields, dict)
    value = fields[name]
    if not isinstance(value, dict):
        raise ParseError(path, _line(text, cat.key_start), f"service {name!r} is not an object")
    return add_service(remove_service(text, path, name), path, category, name, value)


def rename_service(text: str, path: str, old: str, new: str) -> str:
    """Rename service ``old`` to ``new``: only the key's bytes change."""
    if not new:
        raise InvalidInput(f"{path}: service name must not be empty")
    doc = _load(text, path)
    _, svc = doc.need(old)
    doc.refuse_existing(new)
    return text[: svc.key_start] + json.dumps(new, ensure_ascii=False) + text[svc.key_end :]
