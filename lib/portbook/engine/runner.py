"""The one runner: plan every step, then journal and apply each in order; on a failure, unwind.

Every step's ``check`` runs before anything changes, so bad input, conflicts
and unparseable files refuse with nothing touched (exit 2). Then for each
step: journal it, do it, report it. What happens on a failure is the one thing
that differs between the two kinds of step, given as a :class:`Mode`:

* reversible steps (the service procedures: ``run_steps``) back up their files
  in the journal and write them atomically; on failure every entry is undone
  newest first; a complete undo discards the journal and re-raises the original
  error (exit 1, or 2 for a refusal found while applying), an incomplete one
  keeps it (exit 3);
* irreversible steps (restart and recovery: signals, a restart;
  ``engine.operation``) cannot be undone, so a failure stops the run where it is
  and reports it (exit 1): their undo is "stop here and report".
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from ..errors import PortbookError, RollbackIncomplete, StepFailed, TargetError
from ..model import Outcome, Plan, StepResult, StepStatus
from .journal import JournalEntry
from .step import Run, Step

__all__ = ["Mode", "apply_steps", "plan_all", "run_steps", "undo_journal"]

Listener = Callable[[StepResult], None]


def plan_all(run: Run, steps: Sequence[Step]) -> list[Plan]:
    """Every step's plan, computed before any change (a refusal raises here)."""
    return [step.check(run) for step in steps]


class Mode(Protocol):
    """What differs between reversible and irreversible steps, for :func:`apply_steps`."""

    def skipped(self, index: int, plan: Plan) -> str:
        """The detail shown for step ``index`` when its plan changes nothing."""

    def apply(self, index: int, plan: Plan) -> tuple[str, StepStatus]:
        """Journal step ``index``, do it, mark it applied; its detail and status."""

    def failed(self, index: int, exc: BaseException) -> None:
        """After step ``index`` failed (already reported): unwind, or stop and record."""


def apply_steps(
    names: Sequence[str], plans: Sequence[Plan], mode: Mode, outcome: Outcome, on_step: Listener
) -> None:
    """Apply planned steps in order, each reported as it ends; on a failure ``mode`` decides.

    Whatever raises (the step, the journal, or the listener printing its line),
    the step counts as failed and ``mode.failed`` runs before the error goes on.
    """
    for index, (name, plan) in enumerate(zip(names, plans, strict=True)):
        started = time.monotonic()
        if not plan.changes_anything:
            _emit(outcome, on_step, StepResult(name, "skipped", 0.0, mode.skipped(index, plan)))
            continue
        try:
            detail, status = mode.apply(index, plan)
            _emit(outcome, on_step, StepResult(name, status, time.monotonic() - started, detail))
        except BaseException as exc:
            _emit_failure(outcome, on_step, name, time.monotonic() - started, exc)
            mode.failed(index, exc)
            raise


def run_steps(
    run: Run,
    steps: Sequence[Step],
    outcome: Outcome,
    on_step: Listener,
    keep_journal: bool = False,
) -> None:
    """Apply reversible ``steps`` with journaling; unwind everything on the first failure.

    ``keep_journal`` keeps a finished run's journal (marked completed) so a fleet
    rollback can still undo it; otherwise it is discarded.
    """
    plans = plan_all(run, steps)
    assert run.journal is not None
    mode = Reversible(run, steps, outcome, on_step)
    apply_steps([s.name for s in steps], plans, mode, outcome, on_step)
    if keep_journal:
        run.journal.complete()
    else:
        run.journal.discard()


@dataclass
class Reversible:
    """The mode of the service procedures: back up and write files; unwind on failure."""

    run: Run
    steps: Sequence[Step]
    outcome: Outcome
    on_step: Listener

    def skipped(self, index: int, plan: Plan) -> str:
        """The plan's own summary says why nothing changes."""
        return plan.summary

    def apply(self, index: int, plan: Plan) -> tuple[str, StepStatus]:
        """Journal the step with its files' backups, write the files, then do its own work."""
        journal, step = self.run.journal, self.steps[index]
        assert journal is not None
        entry = journal.begin(step.name, [f.path for f in plan.files])
        _write_files(self.run, plan)
        detail = step.apply(self.run, plan, entry)
        journal.mark(entry, "applied")
        changed = self.outcome.changed_files
        changed.extend(f.path for f in plan.files if f.path not in changed)
        return detail, "changed" if plan.files or plan.programs else "ok"

    def failed(self, index: int, exc: BaseException) -> None:
        """Undo every journaled step, newest first (RollbackIncomplete if one cannot be)."""
        _unwind(self.run, self.steps, self.outcome, self.on_step, exc)


def undo_journal(run: Run, steps: Sequence[Step], on_step: Listener) -> list[str]:
    """Undo every entry of ``run.journal`` newest first; return what could not be undone."""
    assert run.journal is not None
    by_name = {s.name: s for s in steps}
    left: list[str] = []
    for entry in reversed(run.journal.entries):
        if entry.state == "undone":
            continue
        started = time.monotonic()
        try:
            _undo_entry(run, by_name.get(entry.step), entry)
        except Exception as exc:  # an undo that fails must not stop the others
            left.append(f"{entry.step}: {exc}")
            on_step(StepResult(entry.step, "failed", time.monotonic() - started, f"undo: {exc}"))
            continue
        on_step(StepResult(entry.step, "undone", time.monotonic() - started, "restored"))
    if not left:
        _run_deferred(run, left)
    if not left:
        run.journal.discard()
    return left


def _undo_entry(run: Run, step: Step | None, entry: JournalEntry) -> None:
    assert run.journal is not None
    run.journal.restore_files(entry)
    if step is not None:
        step.undo(run, entry)
    run.journal.mark(entry, "undone")


def _run_deferred(run: Run, left: list[str]) -> None:
    """Call what the undone steps deferred (``Run.defer``), each on the system read again."""
    for key, action in run.deferred:
        try:
            run.reread()
            action(run)
        except PortbookError as exc:
            left.append(f"{key} after undo: {exc}".replace("  ", " "))


def _unwind(
    run: Run, steps: Sequence[Step], outcome: Outcome, on_step: Listener, cause: BaseException
) -> None:
    def record(result: StepResult) -> None:
        for i, old in enumerate(outcome.steps):
            if old.name != result.name:
                continue
            if result.status == "failed":
                outcome.steps[i] = StepResult(old.name, "failed", old.seconds, result.detail)
            elif old.status != "failed":
                outcome.steps[i] = StepResult(old.name, "undone", old.seconds, old.detail)
            on_step(result)
            return
        _emit(outcome, on_step, result)

    left = undo_journal(run, steps, record)
    if left:
        journal = run.journal.path if run.journal else "the journal"
        raise RollbackIncomplete(
            f"{_message(cause)}; rollback incomplete, {journal} kept: " + "; ".join(left)
        ) from cause


def _write_files(run: Run, plan: Plan) -> None:
    for change in plan.files:
        current = run.target.read_optional(change.path)
        if current != change.before:
            raise StepFailed(f"{change.path} changed on disk since it was planned; not writing")
        if change.after is None:
            run.target.remove(change.path)
        else:
            mode = change.mode if change.before is None else None
            run.target.write_atomic(change.path, change.after, mode=mode)


def _emit_failure(
    outcome: Outcome, on_step: Listener, name: str, seconds: float, exc: BaseException
) -> None:
    """Record ``name`` as failed (replacing its result if already emitted); never raises."""
    result = StepResult(name, "failed", seconds, _message(exc))
    if outcome.steps and outcome.steps[-1].name == name:
        outcome.steps[-1] = result
    else:
        outcome.steps.append(result)
    with contextlib.suppress(Exception):
        on_step(result)


def _emit(outcome: Outcome, on_step: Listener, result: StepResult) -> None:
    outcome.steps.append(result)
    on_step(result)


def _message(exc: BaseException) -> str:
    if isinstance(exc, PortbookError | TargetError):
        return str(exc)
    if isinstance(exc, KeyboardInterrupt):
        return "interrupted"
    return f"{type(exc).__name__}: {exc}"
