"""Fault injection shared by the crash proofs: a real step, then the controller dies."""

from __future__ import annotations

import os
import signal

from portbook.engine.journal import JournalEntry
from portbook.engine.step import Run, Step
from portbook.model import Plan


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
