"""The scripts ``service.remove`` kept on purpose, recorded so doctor knows they were.

``service.remove`` keeps a service's script unless ``--delete-code`` is given. That
script still calls ``get_port("NAME")`` for a name no longer in any of the four
places, which for any other file is an error (the code would fail at start). For
a script remove kept it is expected, so remove records it in
``<root>/.portbook/kept-code.json``: ``{"backend/api/db_poller.py": "db_poller"}``
(paths relative to the root). The record is written as one of remove's journaled
file edits, so a remove that is rolled back leaves none. doctor reads it and
reports ``get_port("db_poller")`` in that file as the warning
``code.orphaned-service`` while no program runs the file.
"""

from __future__ import annotations

import json
import posixpath

from ..config import Settings
from ..errors import TargetError
from ..target import Target

__all__ = ["KEPT_FILE", "kept_path", "parse_kept", "read_kept", "with_kept"]

KEPT_FILE = "kept-code.json"


def kept_path(settings: Settings) -> str:
    """Where the record lives on the target."""
    return posixpath.join(settings.journal_dir, KEPT_FILE)


def parse_kept(raw: bytes | None) -> dict[str, str]:
    """The record's ``{root-relative path: service}``; empty when absent or not a record."""
    if not raw:
        return {}
    try:
        doc = json.loads(raw)
    except ValueError:
        return {}
    if not isinstance(doc, dict):
        return {}
    return {str(k): str(v) for k, v in doc.items() if isinstance(v, str)}


def read_kept(target: Target, settings: Settings) -> dict[str, str]:
    """The kept scripts, by absolute path, with the service each served (unreadable: none)."""
    try:
        raw = target.read_optional(kept_path(settings))
    except TargetError:
        return {}
    return {settings.path(rel): name for rel, name in parse_kept(raw).items()}


def with_kept(before: bytes | None, rel: str, name: str) -> bytes:
    """The record's bytes with ``rel`` (a root-relative script) kept for ``name`` added."""
    record = parse_kept(before)
    record[rel] = name
    return (json.dumps(dict(sorted(record.items())), indent=1) + "\n").encode()
