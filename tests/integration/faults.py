"""Fault injection for integration tests: a real step fails, or kills the process, after it acts."""

from __future__ import annotations

import os
import signal

from portbook.engine.journal import JournalEntry
from portbook.errors import StepFailed
from portbook.model import Plan
from portbook.steps import Run, Step


class FaultAfter:
    """Wraps a step so that it fails right after doing its work."""

    def __init__(self, step: Step) -> None:
        self.step = step
        self.name = step.name

    def check(self, run: Run) -> Plan:
        return self.step.check(run)

    def apply(self, run: Run, plan: Plan, entry: JournalEntry) -> str:
        self.step.apply(run, plan, entry)
        raise StepFailed(f"injected fault after {self.name}")

    def undo(self, run: Run, entry: JournalEntry) -> None:
        self.step.undo(run, entry)


def with_fault(steps: tuple[Step, ...], k: int) -> list[Step]:
    """``steps`` with step ``k`` failing right after it applies."""
    faulty = list(steps)
    faulty[k] = FaultAfter(faulty[k])
    return faulty


class KillAfter:
    """Wraps a step so that the whole process is SIGKILLed right after the step's work."""

    def __init__(self, step: Step) -> None:
        self.step = step
        self.name = step.name

    def check(self, run: Run) -> Plan:
        """The wrapped step's plan."""
        return self.step.check(run)

    def apply(self, run: Run, plan: Plan, entry: JournalEntry) -> str:
        """Do the step's work, then die before the journal marks it applied."""
        detail = self.step.apply(run, plan, entry)
        os.kill(os.getpid(), signal.SIGKILL)
        return detail

    def undo(self, run: Run, entry: JournalEntry) -> None:
        """The wrapped step's undo."""
        self.step.undo(run, entry)
