"""What undoing a journal does, in the operator's words, read before the undo runs.

``service.rollback`` reports, step by step and in its last line, what it put back:
each file restored (or removed, when the run had created it), each supervisor group
removed or started again, each process stopped. Those facts come from the journal
(its backups against the files as they are now, and what each step recorded in its
``data``), so they are known before the undo changes anything.
"""

from __future__ import annotations

from ..config import Settings
from ..host.probes import proven_ours
from ..target import Target
from .journal import Journal, JournalEntry

__all__ = ["NOTHING", "undo_facts"]

NOTHING = "nothing to undo"


def undo_facts(
    target: Target, settings: Settings, journal: Journal
) -> tuple[dict[str, list[str]], list[str]]:
    """For each entry still to undo, by step name, what its undo will do (empty: nothing);
    and every file it will change back."""
    facts: dict[str, list[str]] = {}
    files: list[str] = []
    for entry in journal.entries:
        if entry.state == "undone":
            continue
        changed = _changed_paths(target, entry)
        files += [p for p in changed if p not in files]
        facts[entry.step] = [
            *_file_facts(settings, entry, changed),
            *_data_facts(target, entry),
        ]
    return facts, files


def _changed_paths(target: Target, entry: JournalEntry) -> list[str]:
    """The files of ``entry`` whose bytes differ from their backup (or that it created)."""
    changed = []
    for item in entry.files:
        current = target.read_optional(item["path"])
        backup = None if item["backup"] is None else target.read_optional(item["backup"])
        if current != backup:
            changed.append(item["path"])
    return changed


def _file_facts(settings: Settings, entry: JournalEntry, changed: list[str]) -> list[str]:
    created = {i["path"] for i in entry.files if i["backup"] is None}
    facts = []
    for path in changed:
        if path in created:
            facts.append(f"removed {settings.rel(path)} (the run created it)")
        else:
            facts.append(f"restored {settings.rel(path)}")
    return facts


def _data_facts(target: Target, entry: JournalEntry) -> list[str]:
    data = entry.data
    facts = []
    pid = data.get("smoke_pid")
    if pid and proven_ours(target, int(pid), float(data.get("smoke_started", 0.0))):
        facts.append(f"stopped smoke-test pid {pid}")
    elif not pid and data.get("smoke_stamp"):
        facts.append("stopped the smoke-test process, if it still ran")
    if data.get("started_supervisord"):
        facts.append("shut down the supervisord the run had started")
    elif data.get("master_restart"):
        facts.append("master restart on the restored config")
    elif data.get("group"):
        facts.append(f"stopped and removed supervisor group {data['group']}")
    if data.get("new"):
        facts.append(f"stopped and removed supervisor group {data['new']}")
    for key in ("stopped", "restarted", "old"):
        if data.get(key):
            facts.append(f"started {data[key]} again on its old config")
    if data.get("created_dir"):
        facts.append(f"removed the folder {data['created_dir']} if still empty")
    return facts
