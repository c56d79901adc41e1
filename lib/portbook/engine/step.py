"""What a step is, and the run state every step of a procedure shares."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from ..config import Settings
from ..host.supervisor import ProgramState, Supervisor
from ..model import Plan, ServiceSpec
from ..registry.system import System, read_system
from ..target import Target
from .journal import Journal, JournalEntry

__all__ = ["Deferred", "Run", "Step"]

Deferred = Callable[["Run"], None]
"""What an undo asks the runner to do once every file is restored (given the run)."""


@dataclass
class Run:
    """One procedure run on one target: the spec, what was read before, and the journal."""

    target: Target
    settings: Settings
    system: System
    spec: ServiceSpec
    restart: str = "targeted"
    before: dict[str, ProgramState] | None = None
    journal: Journal | None = None
    deferred: list[tuple[str, Deferred]] = field(default_factory=list)
    baseline: tuple[tuple[str, str, str], ...] = ()
    notes: dict[str, str] = field(default_factory=dict)

    def supervisor(self) -> Supervisor:
        """The system's supervisord as currently configured on disk."""
        return Supervisor(self.target, self.system)

    def journal_note(self, entry: JournalEntry, **data: object) -> None:
        """Record undo facts in the journal before relying on them."""
        if self.journal is not None:
            self.journal.note(entry, **data)
        else:
            entry.data.update(data)

    def defer(self, key: str, action: Deferred) -> None:
        """Ask the runner to call ``action(run)`` once every file is restored (end of an undo).

        ``key`` names the action in a report (``master_restart``, ``restore_group NAME``);
        an action already deferred under the same key is not added twice.
        """
        if all(key != known for known, _ in self.deferred):
            self.deferred.append((key, action))

    def reread(self) -> None:
        """Read the four places again after files changed."""
        self.system = read_system(self.target, self.settings)


class Step(Protocol):
    """A change to the system: ``check`` plans it, ``apply`` does it, ``undo`` reverses it.

    File edits are declared in the plan and written by the runner (after the
    journal backs the files up); ``apply`` does what lies beyond files.
    """

    name: str

    def check(self, run: Run) -> Plan:
        """What would change: summary, file diffs and supervisor programs touched."""

    def apply(self, run: Run, plan: Plan, entry: JournalEntry) -> str:
        """Do the step's non-file work; return a one-line detail. Raise to fail."""

    def undo(self, run: Run, entry: JournalEntry) -> None:
        """Reverse the non-file work recorded in ``entry`` (files are restored by the runner)."""
