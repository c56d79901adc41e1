"""The on-host journal: written before each step so any run, even one killed, can be undone.

Layout under ``<root>/.portbook/``::

    journal.json          procedure, pid, start time, spec, and one entry per step begun
    backups/NN-NAME       the bytes a step's files had before it touched them

An entry is written (with its backups) *before* its step changes anything, and
marked ``applied`` after. Undo restores files from the backups; steps with side
effects outside files (a smoke process, a supervisor group) record what they
did in the entry's ``data`` so their undo needs nothing but the journal.
"""

from __future__ import annotations

import json
import os
import posixpath
import time
from dataclasses import asdict, dataclass, field
from typing import Any

from ..config import Settings
from ..errors import TargetError
from ..registry.journal_file import JournalEntry, journal_path, read_journal
from ..target import Target

__all__ = ["Journal", "JournalEntry"]


@dataclass
class Journal:
    """The journal of one procedure run on one target."""

    target: Target
    settings: Settings
    procedure: str
    spec: dict[str, Any]
    pid: int = field(default_factory=os.getpid)
    started: float = field(default_factory=time.time)
    entries: list[JournalEntry] = field(default_factory=list)
    completed: bool = False
    _made: set[str] = field(default_factory=set, repr=False, compare=False)

    @property
    def path(self) -> str:
        """Where the journal lives on the target."""
        return journal_path(self.settings)

    @property
    def backup_dir(self) -> str:
        """Where file backups live on the target."""
        return posixpath.join(self.settings.journal_dir, "backups")

    @classmethod
    def load(cls, target: Target, settings: Settings) -> Journal | None:
        """Read the journal a previous run left on the target, if any."""
        record = read_journal(target, settings)
        if record is None:
            return None
        return cls(
            target,
            settings,
            record.procedure,
            record.spec,
            record.pid,
            record.started,
            record.entries,
            record.completed,
        )

    def begin(self, step: str, paths: list[str]) -> JournalEntry:
        """Back up ``paths`` and record that ``step`` is about to change them."""
        entry = JournalEntry(step=step)
        self._makedirs(self.backup_dir)
        for number, path in enumerate(paths):
            entry.files.append(self._backup(path, f"{len(self.entries):02d}-{number:02d}"))
        self.entries.append(entry)
        self.save()
        return entry

    def note(self, entry: JournalEntry, **data: Any) -> None:
        """Record what a step did beyond files (pids, groups), before relying on it."""
        entry.data.update(data)
        self.save()

    def mark(self, entry: JournalEntry, state: str) -> None:
        """Set an entry's state (``applied``, ``undone``) and persist it."""
        entry.state = state
        self.save()

    def restore_files(self, entry: JournalEntry) -> None:
        """Put every file of ``entry`` back as it was: same bytes, same mode, or absent."""
        for item in reversed(entry.files):
            if item["backup"] is None:
                self.target.remove(item["path"])
                continue
            data = self.target.read_optional(item["backup"])
            if data is None:
                raise TargetError(f"backup {item['backup']} of {item['path']} is missing")
            current = self.target.read_optional(item["path"])
            if current != data or self.target.file_mode(item["path"]) != item["mode"]:
                self.target.write_atomic(item["path"], data, mode=item["mode"])

    def save(self) -> None:
        """Write the journal atomically."""
        doc = {
            "procedure": self.procedure,
            "host": self.target.host,
            "pid": self.pid,
            "started": self.started,
            "spec": self.spec,
            "entries": [asdict(e) for e in self.entries],
            "completed": self.completed,
        }
        self._makedirs(self.settings.journal_dir)
        self.target.write_atomic(self.path, json.dumps(doc, indent=1).encode())

    def complete(self) -> None:
        """Keep the journal of a finished run so it can still be undone (``--fleet-rollback``)."""
        self.completed = True
        self.save()

    def discard(self) -> None:
        """Remove the journal and its backups after a clean finish or a full undo."""
        for entry in self.entries:
            for item in entry.files:
                if item["backup"] is not None:
                    self.target.remove(item["backup"])
        self.target.remove(self.path)
        self.target.remove_empty_dir(self.backup_dir)
        self._made.clear()

    def _makedirs(self, folder: str) -> None:
        """Create ``folder`` once per journal (each call is a round trip over SSH)."""
        if folder not in self._made:
            self.target.makedirs(folder)
            self._made.add(folder)

    def _backup(self, path: str, index: str) -> dict[str, Any]:
        data = self.target.read_optional(path)
        item: dict[str, Any] = {"path": path, "backup": None, "mode": None}
        if data is not None:
            backup = posixpath.join(self.backup_dir, f"{index}-{posixpath.basename(path)}")
            mode = self.target.file_mode(path)
            self.target.write_atomic(backup, data, mode=0o600)
            item.update(backup=backup, mode=mode)
        return item
