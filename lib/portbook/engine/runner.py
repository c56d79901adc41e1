"""The runner: plan every step, then journal, apply and, on the first failure, unwind in reverse.

Every step's ``check`` runs before anything changes, so bad input, conflicts
and unparseable files refuse with nothing touched (exit 2). Then for each
step: back up its files in the journal, write them atomically, do its
non-file work. On failure, entries are undone newest first; a complete
undo discards the journal and re-raises the original error (exit 1, or 2 for a
refusal found while applying), an incomplete one keeps it (exit 3).
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Sequence

from ..errors import PortbookError, RollbackIncomplete, StepFailed, TargetError
from ..model import Outcome, Plan, StepResult, StepStatus
from .journal import JournalEntry
from .step import Run, Step

__all__ = ["plan_all", "run_steps", "undo_journal"]

Listener = Callable[[StepResult], None]


def plan_all(run: Run, steps: Sequence[Step]) -> list[Plan]:
    """Every step's plan, computed before any change (a refusal raises here)."""
    return [step.check(run) for step in steps]


def run_steps(
    run: Run,
    steps: Sequence[Step],
    outcome: Outcome,
    on_step: Listener,
    keep_journal: bool = False,
) -> None:
    """Apply ``steps`` with journaling; unwind everything on the first failure.

    ``keep_journal`` keeps a finished run's journal (marked completed) so a fleet
    rollback can still undo it; otherwise it is discarded.
    """
    plans = plan_all(run, steps)
    assert run.journal is not None
    for step, plan in zip(steps, plans, strict=True):
        started = time.monotonic()
        if not plan.changes_anything:
            _emit(outcome, on_step, StepResult(step.name, "skipped", 0.0, plan.summary))
            continue
        entry = run.journal.begin(step.name, [f.path for f in plan.files])
        try:
            _write_files(run, plan)
            detail = step.apply(run, plan, entry)
            run.journal.mark(entry, "applied")
            outcome.changed_files.extend(
                f.path for f in plan.files if f.path not in outcome.changed_files
            )
            status: StepStatus = "changed" if plan.files or plan.programs else "ok"
            seconds = time.monotonic() - started
            _emit(outcome, on_step, StepResult(step.name, status, seconds, detail))
        except BaseException as exc:
            # Whatever raised (the step, the journal, or the listener printing its
            # line), what this step applied is undone with the rest.
            _emit_failure(outcome, on_step, step.name, time.monotonic() - started, exc)
            _unwind(run, steps, outcome, on_step, exc)
            raise
    if keep_journal:
        run.journal.complete()
    else:
        run.journal.discard()


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
