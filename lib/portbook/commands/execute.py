"""Running a procedure on a target: lock, leftover-journal check, prepare, run, report.

Shared by every service procedure so each only says how to build its ``Run``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import asdict, replace

from ..config import Settings
from ..engine.journal import Journal
from ..engine.lock import root_lock
from ..engine.runner import plan_all, run_steps, undo_journal
from ..engine.undoing import NOTHING, undo_facts
from ..errors import PortbookError, Refused
from ..model import Outcome, Plan, ServiceSpec, StepResult
from ..procedures import PROCEDURES
from ..registry.system import read_system
from ..steps import Run, Step
from ..target import Target

__all__ = ["OnStep", "Prepare", "execute", "plan", "release_journal", "rollback"]

OnStep = Callable[[StepResult], None]
Prepare = Callable[[], Run]


def execute(
    target: Target,
    settings: Settings,
    procedure: str,
    prepare: Prepare,
    steps: Sequence[Step] | None = None,
    *,
    wait: bool = False,
    on_step: OnStep = lambda r: None,
    keep_journal: bool = False,
) -> Outcome:
    """Run ``procedure``'s steps (or ``steps``, for fault injection); never raises.

    ``keep_journal``: a finished run leaves its journal (completed) for a fleet
    rollback; ``release_journal`` or ``rollback`` clears it.
    """
    outcome = Outcome(procedure, target.host)
    try:
        with root_lock(target, settings, wait=wait):
            _refuse_leftover_journal(target, settings)
            run = prepare()
            run.journal = Journal(target, settings, procedure, asdict(run.spec))
            run_steps(run, steps or PROCEDURES[procedure], outcome, on_step, keep_journal)
    except PortbookError as exc:
        outcome.error, outcome.code = str(exc), exc.code
    except Exception as exc:  # a bug: the runner has already unwound; report, don't trace
        outcome.error, outcome.code = f"internal error: {type(exc).__name__}: {exc}", 1
    return outcome


def plan(procedure: str, prepare: Prepare) -> tuple[ServiceSpec, list[Plan]]:
    """``--check``: the spec and every step's plan; nothing is written, not even a lock."""
    run = prepare()
    return run.spec, plan_all(run, PROCEDURES[procedure])


def rollback(
    target: Target, settings: Settings, *, wait: bool = False, on_step: OnStep = lambda r: None
) -> Outcome:
    """Undo what an interrupted run left in the journal; never raises."""

    def undo(journal: Journal, outcome: Outcome) -> None:
        outcome.procedure = f"rollback of {journal.procedure}"
        if journal.procedure not in PROCEDURES:
            # restart and recovery journal what they did, but nothing they do has an undo
            journal.discard()
            detail = f"{journal.procedure} has nothing to undo; journal cleared"
            detail += " (see .portbook/audit.log)"
            outcome.steps.append(StepResult("journal", "skipped", 0.0, detail))
            return
        spec = ServiceSpec(**journal.spec)
        run = Run(target, settings, read_system(target, settings), spec, journal=journal)
        facts, files = undo_facts(target, settings, journal)

        def record(result: StepResult) -> None:
            if result.status == "undone":
                detail = "; ".join(facts.get(result.name, [])) or NOTHING
                result = replace(result, detail=detail)
            outcome.steps.append(result)
            on_step(result)

        left = undo_journal(run, PROCEDURES[journal.procedure], record)
        outcome.changed_files = files
        if left:
            outcome.error = f"rollback incomplete, {journal.path} kept: " + "; ".join(left)
            outcome.code = 3

    return _on_journal(target, settings, wait, "rollback", "nothing to roll back", undo)


def release_journal(target: Target, settings: Settings, *, wait: bool = False) -> Outcome:
    """Accept a completed run kept for a fleet rollback: clear its journal, undo nothing.

    Refuses (exit 2) when the journal is that of an unfinished run: that one
    must be rolled back. Never raises.
    """

    def release(journal: Journal, outcome: Outcome) -> None:
        if not journal.completed:
            raise Refused(
                f"{journal.path} is an unfinished {journal.procedure}: "
                "run `invoke service.rollback`, not --keep-changes"
            )
        journal.discard()
        outcome.procedure = f"release of {journal.procedure}"
        outcome.steps.append(StepResult("journal", "ok", 0.0, "kept changes; journal cleared"))

    return _on_journal(target, settings, wait, "release", "no journal", release)


def _on_journal(
    target: Target,
    settings: Settings,
    wait: bool,
    procedure: str,
    when_none: str,
    body: Callable[[Journal, Outcome], None],
) -> Outcome:
    """Under the root's lock, hand the journal to ``body``; none: a skipped step. Never raises."""
    outcome = Outcome(procedure, target.host)
    try:
        with root_lock(target, settings, wait=wait):
            journal = Journal.load(target, settings)
            if journal is None:
                outcome.steps.append(StepResult("journal", "skipped", 0.0, when_none))
                return outcome
            body(journal, outcome)
    except PortbookError as exc:
        outcome.error, outcome.code = str(exc), exc.code
    return outcome


def _refuse_leftover_journal(target: Target, settings: Settings) -> None:
    journal = Journal.load(target, settings)
    if journal is not None and journal.completed:
        raise Refused(
            f"a completed {journal.procedure} kept for --fleet-rollback left {journal.path}: "
            "run `invoke service.rollback` to undo it, or "
            "`invoke service.rollback --keep-changes` to accept it"
        )
    if journal is not None:
        raise Refused(
            f"an unfinished {journal.procedure} (pid {journal.pid}) left {journal.path}: "
            "run `invoke service.rollback` first"
        )
