"""Running a restart or a recovery: irreversible actions, each journaled and audited.

Like a service procedure, an operation is an ordered tuple of steps with
``check`` (the plan), ``apply`` and ``undo``, and every ``check`` runs before
anything changes: a refusal (a foreign process on a manifest port, a broken
config, a missing script) exits 2 with nothing touched. Unlike a service
procedure, what these steps do (signals, a restart) cannot be reversed, so a
failure stops the run where it is (exit 1) instead of unwinding: every undo is
"nothing to undo". They run through the one runner (``engine.runner``) in its
stop-on-failure mode (:class:`StopOnFailure`). Each step is written to
``<root>/.portbook/journal.json`` before it acts, and each action (every
signal, every removed file) to the append-only audit log. The journal is
discarded when the run ends; one left by a killed run is discarded (and
audited) by the next restart or recovery, as it holds nothing to undo.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, TypedDict

from ..config import Settings
from ..errors import PortbookError, Refused
from ..host.status import StatusReport
from ..model import Outcome, Plan, StepResult, StepStatus
from ..registry.system import System, read_system
from ..target import Target
from .audit import AuditLog
from .journal import Journal, JournalEntry
from .lock import root_lock
from .runner import apply_steps

__all__ = [
    "Action",
    "Op",
    "OpResult",
    "RunOptions",
    "check_operation",
    "perform",
    "plan_actions",
    "run_operation",
]

OnStep = Callable[[StepResult], None]
_OURS = ("restart", "recover")


@dataclass
class Op:
    """One restart or recovery run: where, what was asked, what it found and did."""

    target: Target
    settings: Settings
    system: System
    procedure: str
    kill_foreign: bool = False
    journal: Journal | None = None
    audit: AuditLog | None = None
    recorded: dict[int, float] = field(default_factory=dict)
    before: dict[str, int] = field(default_factory=dict)
    refusals: list[str] = field(default_factory=list)
    actions: list[str] = field(default_factory=list)
    report: StatusReport | None = None

    def did(self, entry: JournalEntry, what: str) -> None:
        """Record one action in the journal entry and the audit log, before relying on it."""
        self.actions.append(what)
        if self.journal is not None:
            self.journal.note(entry, actions=[*entry.data.get("actions", []), what])
        if self.audit is not None:
            self.audit.write(f"{entry.step}: {what}")

    def note(self, entry: JournalEntry, **data: Any) -> None:
        """Record facts (pids, start times) in the journal entry."""
        if self.journal is not None:
            self.journal.note(entry, **data)
        else:
            entry.data.update(data)

    def refuse(self, reason: str) -> None:
        """Planning found a reason not to start: the run will exit 2 with nothing changed."""
        self.refusals.append(reason)


class Action(Protocol):
    """A step of an operation: ``check`` plans (and may ``op.refuse``), ``apply`` acts."""

    name: str

    def check(self, op: Op) -> Plan:
        """What would happen, from what is true now; the summary may span lines."""

    def apply(self, op: Op, plan: Plan, entry: JournalEntry) -> str:
        """Act, recording each change with ``op.did``; return a one-line detail."""

    def undo(self, op: Op, entry: JournalEntry) -> None:
        """Nothing to undo (these actions cannot be reversed)."""


class RunOptions(TypedDict, total=False):
    """How :func:`run_operation` runs, as a command passes it on: lock wait, step callback."""

    wait: bool
    on_step: OnStep


@dataclass
class OpResult:
    """An operation's outcome plus what it found: the plans, the final status."""

    outcome: Outcome
    op: Op | None
    plans: list[tuple[str, Plan]] = field(default_factory=list)


def plan_actions(op: Op, actions: Sequence[Action]) -> list[tuple[str, Plan]]:
    """Every step's plan, from the current state; refusals land in ``op.refusals``."""
    return [(action.name, action.check(op)) for action in actions]


def perform(
    op: Op,
    actions: Sequence[Action],
    plans: Sequence[tuple[str, Plan]],
    outcome: Outcome,
    on_step: OnStep,
) -> None:
    """Apply the planned ``actions`` through the one runner; stop at the first failure."""
    mode = StopOnFailure(op, actions)
    apply_steps([a.name for a in actions], [p for _, p in plans], mode, outcome, on_step)


@dataclass
class StopOnFailure:
    """The runner's mode for irreversible actions: journal and audit each; never unwind."""

    op: Op
    actions: Sequence[Action]
    entry: JournalEntry | None = None

    def skipped(self, index: int, plan: Plan) -> str:
        """Why the action has nothing to do."""
        return plan.skip_reason or ""

    def apply(self, index: int, plan: Plan) -> tuple[str, StepStatus]:
        """Journal the action, act, mark it applied; changed when it recorded an action."""
        op, action = self.op, self.actions[index]
        self.entry = None
        self.entry = op.journal.begin(action.name, []) if op.journal else None
        entry = self.entry or JournalEntry(action.name)
        done = len(op.actions)
        detail = action.apply(op, plan, entry)
        if op.journal is not None:
            op.journal.mark(entry, "applied")
        return detail, "changed" if len(op.actions) > done else "ok"

    def failed(self, index: int, exc: BaseException) -> None:
        """Stop here: what was done cannot be undone; the journal entry says it failed."""
        if self.op.journal is not None and self.entry is not None:
            with contextlib.suppress(PortbookError):
                self.op.journal.mark(self.entry, "failed")


def run_operation(
    target: Target,
    settings: Settings,
    procedure: str,
    actions: Sequence[Action],
    *,
    options: dict[str, Any],
    wait: bool = False,
    on_step: OnStep = lambda r: None,
) -> OpResult:
    """Lock the root, plan (a refusal leaves no trace), then act, journaled and audited.

    Never raises: errors land in the outcome with their exit code.
    """
    result = OpResult(Outcome(procedure, target.host), None)
    audit = AuditLog(target, settings, procedure)
    with _reported(result.outcome), root_lock(target, settings, wait=wait):
        _clear_leftover(target, settings, audit)
        op = _planned(result, target, settings, procedure, actions, options)
        op.journal = Journal(target, settings, procedure, dict(options))
        op.audit = audit
        _run_journaled(op, actions, result.plans, result.outcome, on_step, options)
    return result


def check_operation(
    target: Target, settings: Settings, procedure: str, actions: Sequence[Action], **options: Any
) -> OpResult:
    """``--check``: every plan and refusal; nothing is written, not even a lock or a log line."""
    result = OpResult(Outcome(procedure, target.host), None)
    with _reported(result.outcome):
        _planned(result, target, settings, procedure, actions, options)
    return result


def _planned(
    result: OpResult,
    target: Target,
    settings: Settings,
    procedure: str,
    actions: Sequence[Action],
    options: dict[str, Any],
) -> Op:
    """The run's ``Op``, every plan in ``result``; Refused (nothing changed) on any refusal."""
    op = result.op = _new_op(target, settings, procedure, options)
    result.plans = plan_actions(op, actions)
    if op.refusals:
        raise Refused("; ".join(op.refusals))
    return op


@contextlib.contextmanager
def _reported(outcome: Outcome) -> Iterator[None]:
    """Errors land in ``outcome`` with their exit code; a bug on one line, never a traceback."""
    try:
        yield
    except PortbookError as exc:
        outcome.error, outcome.code = str(exc), exc.code
    except Exception as exc:  # a bug: report it on one line, never a traceback
        outcome.error = f"internal error: {type(exc).__name__}: {exc}"
        outcome.code = 1


def _new_op(target: Target, settings: Settings, procedure: str, options: dict[str, Any]) -> Op:
    system = read_system(target, settings)
    return Op(target, settings, system, procedure, kill_foreign=bool(options.get("kill_foreign")))


def _run_journaled(
    op: Op,
    actions: Sequence[Action],
    plans: Sequence[tuple[str, Plan]],
    outcome: Outcome,
    on_step: OnStep,
    options: dict[str, Any],
) -> None:
    assert op.journal is not None and op.audit is not None
    shown = " ".join(f"--{k.replace('_', '-')}" for k, v in sorted(options.items()) if v)
    op.audit.write(f"begin {op.procedure} {shown}".rstrip())
    try:
        perform(op, actions, plans, outcome, on_step)
    except PortbookError as exc:
        op.audit.write(f"end: exit {exc.code}: {exc}")
        raise
    except BaseException as exc:
        op.audit.write(f"end: exit 1: {type(exc).__name__}: {exc}")
        raise
    finally:
        op.journal.discard()
    op.audit.write("end: exit 0")


def _clear_leftover(target: Target, settings: Settings, audit: AuditLog) -> None:
    leftover = Journal.load(target, settings)
    if leftover is None:
        return
    if leftover.procedure not in _OURS:
        raise Refused(
            f"an unfinished {leftover.procedure} (pid {leftover.pid}) left {leftover.path}: "
            "run `invoke service.rollback` first"
        )
    audit.write(
        f"discarded {leftover.path} left by an interrupted {leftover.procedure} "
        f"(pid {leftover.pid}): nothing to undo"
    )
    leftover.discard()
