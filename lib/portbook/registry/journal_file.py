"""The journal's file as it lies on the host: where it is and what a run left in it.

The engine writes and undoes the journal (:mod:`portbook.engine.journal`); reading
back what a run left is a fact about the host's files, so status (below the engine)
can tell a pending run without depending on the engine.
"""

from __future__ import annotations

import json
import posixpath
from dataclasses import dataclass, field
from typing import Any

from ..config import Settings
from ..errors import TargetError
from ..target import Target

__all__ = ["JournalEntry", "JournalRecord", "journal_path", "read_journal"]


@dataclass
class JournalEntry:
    """One step's record: its files' backups and whatever its undo needs."""

    step: str
    state: str = "begun"
    files: list[dict[str, Any]] = field(default_factory=list)
    data: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class JournalRecord:
    """What ``journal.json`` says: the run's procedure, pid, start, spec and entries."""

    path: str
    procedure: str
    spec: dict[str, Any]
    pid: int
    started: float
    entries: list[JournalEntry]
    completed: bool


def journal_path(settings: Settings) -> str:
    """Where the journal lives on the target."""
    return posixpath.join(settings.journal_dir, "journal.json")


def read_journal(target: Target, settings: Settings) -> JournalRecord | None:
    """Read the journal a previous run left on the target, if any (TargetError if unreadable)."""
    path = journal_path(settings)
    raw = target.read_optional(path)
    if raw is None:
        return None
    try:
        doc = json.loads(raw)
        entries = [JournalEntry(**e) for e in doc["entries"]]
        return JournalRecord(
            path,
            doc["procedure"],
            doc["spec"],
            doc["pid"],
            doc["started"],
            entries,
            bool(doc.get("completed", False)),
        )
    except (ValueError, KeyError, TypeError) as exc:
        raise TargetError(f"{path}: unreadable journal ({exc}); inspect it by hand") from exc
