"""Where each member of a manifest's JSON sits: a position-tracking scan of the text.

``json.loads`` validates and reads the document; :func:`scan_value` then finds the start
and end of every value and member key, so that :mod:`portbook.registry.manifest` can edit
the text at those offsets. :class:`LocatedManifest` answers the lookups the edits need
(a category, a service, in which category a service is).
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from portbook.errors import InvalidInput, ParseError

__all__ = [
    "CATEGORIES",
    "LocatedManifest",
    "Member",
    "Node",
    "indent_at",
    "line_at",
    "load_manifest",
    "scan_value",
]

CATEGORIES = ("core_services", "watchdog_services")
_WS = " \t\r\n"


@dataclass(frozen=True)
class Member:
    """One ``"key": value`` of a JSON object: the key, its offsets, and the value."""

    key: str
    key_start: int
    key_end: int
    value: Node


@dataclass(frozen=True)
class Node:
    """One JSON value: its offsets, and its members when it is an object."""

    start: int
    end: int
    members: tuple[Member, ...] | None  # None unless the value is an object


def _skip(text: str, i: int) -> int:
    while i < len(text) and text[i] in _WS:
        i += 1
    return i


def _string_end(text: str, i: int) -> int:
    j = i + 1
    while text[j] != '"':
        j += 2 if text[j] == "\\" else 1
    return j + 1


def _scan_object(text: str, i: int) -> Node:
    members: list[Member] = []
    j = _skip(text, i + 1)
    while text[j] != "}":
        key_end = _string_end(text, j)
        value = scan_value(text, _skip(text, _skip(text, key_end) + 1))
        members.append(Member(json.loads(text[j:key_end]), j, key_end, value))
        j = _skip(text, value.end)
        j = _skip(text, j + 1) if text[j] == "," else j
    return Node(i, j + 1, tuple(members))


def scan_value(text: str, i: int) -> Node:
    """Locate the (already validated) JSON value starting at ``i``."""
    if text[i] == "{":
        return _scan_object(text, i)
    if text[i] == '"':
        return Node(i, _string_end(text, i), None)
    if text[i] == "[":
        j = _skip(text, i + 1)
        while text[j] != "]":
            j = _skip(text, scan_value(text, j).end)
            j = _skip(text, j + 1) if text[j] == "," else j
        return Node(i, j + 1, None)
    j = i
    while j < len(text) and text[j] not in ",]}" + _WS:
        j += 1
    return Node(i, j, None)


def line_at(text: str, pos: int) -> int:
    """The 1-based line of offset ``pos``."""
    return text.count("\n", 0, pos) + 1


def indent_at(text: str, pos: int) -> str:
    """The leading whitespace of the line holding ``pos``."""
    start = end = text.rfind("\n", 0, pos) + 1
    while end < pos and text[end] in " \t":
        end += 1
    return text[start:end]


@dataclass(frozen=True)
class LocatedManifest:
    """The manifest's text, its parsed data and the located root value."""

    text: str
    path: str
    data: dict[str, object]
    root: Node

    def member(self, node: Node, key: str, what: str) -> Member | None:
        """The member ``key`` of object ``node`` (ParseError naming ``what`` if duplicated)."""
        hits = [m for m in node.members or () if m.key == key]
        if len(hits) > 1:
            raise ParseError(self.path, line_at(self.text, hits[1].key_start), f"duplicate {what}")
        return hits[0] if hits else None

    def category(self, name: str) -> Member | None:
        """The top-level member ``name``, or None; ParseError if it is not an object."""
        found = self.member(self.root, name, f"key {name!r}")
        if found and found.value.members is None:
            where = line_at(self.text, found.key_start)
            raise ParseError(self.path, where, f"{name!r} is not a JSON object")
        return found

    def service(self, name: str) -> tuple[Member, Member] | None:
        """``(category member, service member)`` of ``name``, or None."""
        hits: list[tuple[Member, Member]] = []
        for category in CATEGORIES:
            cat = self.category(category)
            svc = self.member(cat.value, name, f"service {name!r} in {category}") if cat else None
            hits += [(cat, svc)] if cat and svc else []
        if len(hits) > 1:
            where = line_at(self.text, hits[1][1].key_start)
            raise ParseError(self.path, where, f"service {name!r} is in both {CATEGORIES}")
        return hits[0] if hits else None

    def need(self, name: str) -> tuple[Member, Member]:
        """Like :meth:`service`, but InvalidInput when there is no such service."""
        found = self.service(name)
        if found is None:
            raise InvalidInput(f"{self.path}: no service {name!r} in {' or '.join(CATEGORIES)}")
        return found

    def refuse_existing(self, name: str) -> None:
        """InvalidInput if service ``name`` already exists in either category."""
        found = self.service(name)
        if found:
            where = f"{self.path}:{line_at(self.text, found[1].key_start)}"
            raise InvalidInput(f"{where}: service {name!r} already exists in {found[0].key}")


def load_manifest(text: str, path: str) -> LocatedManifest:
    """Parse and locate ``text``; ParseError if it is not JSON or not a JSON object."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ParseError(path, exc.lineno, exc.msg, col=exc.colno) from None
    if not isinstance(data, dict):
        raise ParseError(path, 1, "the manifest is not a JSON object")
    return LocatedManifest(text, path, data, scan_value(text, _skip(text, 0)))
