"""What a step is, and the run state every step of a procedure shares."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from ..config import Settings
from ..host.supervisor import ProgramState, Supervisor
from ..model import Plan, ServiceSpec
from ..registry.system import System, read_system
from ..target import Target
from .journal import Journal, JournalEntry

__all__ = ["Run", "Step"]


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
    deferred: list[tuple[str, str]] = field(default_factory=list)
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

    def defer(self, action: str, argument: str = "") -> None:
        """Ask the runner to do ``action`` once every file is restored (end of an undo).

        Actions: ``master_restart``; ``restore_group`` (make supervisor's group
        ``argument`` match the restored config and run it again).
        """
        if (action, argument) not in self.deferred:
            self.deferred.append((action, argument))

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
