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
from portbook.registry.manifest_layout import (
    delete_member,
    file_newline,
    insert_member,
    render_value,
)
from portbook.registry.manifest_scan import (
    CATEGORIES,
    LocatedManifest,
    Member,
    indent_at,
    line_at,
    load_manifest,
)

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


@dataclass(frozen=True)
class ManifestEntry:
    """One service of the manifest: its name, category, port, description and status."""

    name: str
    category: str
    port: int
    description: str
    status: str


def read_document(text: str, path: str) -> dict[str, object]:
    """Return the whole parsed manifest, key order kept."""
    return load_manifest(text, path).data


def _entry(doc: LocatedManifest, category: str, member: Member) -> ManifestEntry:
    where = line_at(doc.text, member.key_start)
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
    doc = load_manifest(text, path)
    entries: dict[str, ManifestEntry] = {}
    for category in CATEGORIES:
        cat = doc.category(category)
        for member in cat.value.members or () if cat else ():
            doc.service(member.key)  # raises on duplicates and on a name in both categories
            entries[member.key] = _entry(doc, category, member)
    return entries


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
    doc = load_manifest(text, path)
    doc.refuse_existing(name)
    cat = doc.category(category)
    if cat is None:
        return insert_member(doc, doc.root, category, {name: fields})
    return insert_member(doc, cat.value, name, fields)


def remove_service(text: str, path: str, name: str) -> str:
    """Remove service ``name`` (its key, value and one separator) from its category."""
    doc = load_manifest(text, path)
    cat, svc = doc.need(name)
    members = cat.value.members or ()
    return delete_member(text, cat.value, members.index(svc))


def set_field(text: str, path: str, name: str, field: str, value: object) -> str:
    """Set ``field`` of service ``name``: only that value's bytes change (added if missing)."""
    if field == "port":
        _check_port(path, name, value)
    doc = load_manifest(text, path)
    svc = doc.need(name)[1].value
    if svc.members is None:
        raise ParseError(path, line_at(text, svc.start), f"service {name!r} is not a JSON object")
    hits = [m for m in svc.members if m.key == field]
    if not hits:
        return insert_member(doc, svc, field, value)
    old = hits[-1]
    key_sep = text[old.key_end : old.value.start]
    indent = indent_at(text, old.key_start)
    sep = "," + file_newline(text) if "\n" in text[svc.start : svc.end] else ", "
    rendered = render_value(doc, old.value, value, indent, key_sep, sep)
    return text[: old.value.start] + rendered + text[old.value.end :]


def move_service(text: str, path: str, name: str, category: str) -> str:
    """Move service ``name`` to ``category``: removed from one, appended to the other."""
    doc = load_manifest(text, path)
    cat, _ = doc.need(name)
    if cat.key == category:
        raise InvalidInput(f"{path}: service {name!r} is already in {category}")
    fields = doc.data[cat.key]
    assert isinstance(fields, dict)
    value = fields[name]
    if not isinstance(value, dict):
        raise ParseError(path, line_at(text, cat.key_start), f"service {name!r} is not an object")
    return add_service(remove_service(text, path, name), path, category, name, value)


def rename_service(text: str, path: str, old: str, new: str) -> str:
    """Rename service ``old`` to ``new``: only the key's bytes change."""
    if not new:
        raise InvalidInput(f"{path}: service name must not be empty")
    doc = load_manifest(text, path)
    _, svc = doc.need(old)
    doc.refuse_existing(new)
    return text[: svc.key_start] + json.dumps(new, ensure_ascii=False) + text[svc.key_end :]
