"""A rolling run: hosts in batches of ``serial``, stopping once more than ``max_fail`` failed.

On several hosts the job is first planned on all of them at once (``preflight``:
nothing changes); hosts that are unreachable or would refuse count as failed
before any host is touched, so a bad value or a port held on the last host
stops the run before the first one changes. Each host's job then runs on that
host's own open session (a target and its settings) and returns a ``HostRun``.
Hosts of one batch run in parallel threads; the first batch is the canary. When
the rollout stops, the hosts not reached are left untouched (``skipped``) and,
with ``fleet_rollback``, the hosts already done are undone, each from the
journal it kept on itself. A rollout that completes releases those kept
journals.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Literal

from ..config import Settings
from ..errors import PortbookError
from ..model import Outcome, StepResult
from ..report.steps import outcome_doc
from ..target import Target
from .sessions import HostSession

__all__ = [
    "FleetJob",
    "FleetResult",
    "HostResult",
    "HostRun",
    "HostStatus",
    "Job",
    "RolloutOptions",
    "rollout",
]

HostStatus = Literal["ok", "changed", "failed", "unreachable", "rolled back", "skipped"]
Emit = Callable[[str], None]


@dataclass
class HostRun:
    """What a job did on one host: exit code, steps, whether it changed anything, JSON."""

    code: int = 0
    error: str | None = None
    steps: list[StepResult] = field(default_factory=list)
    changed: bool = False
    doc: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def of(cls, outcome: Outcome) -> HostRun:
        """A procedure's outcome as a host run."""
        changed = bool(outcome.changed_files) or any(s.status == "changed" for s in outcome.steps)
        return cls(outcome.code, outcome.error, list(outcome.steps), changed, outcome_doc(outcome))


Job = Callable[[Target, Settings, Emit], HostRun]


@dataclass(frozen=True)
class FleetJob:
    """A procedure as the rollout sees it: run it; undo or release a finished run, and plan it
    on every host before the first one changes (all optional)."""

    procedure: str
    run: Job
    undo: Job | None = None
    release: Job | None = None
    preflight: Job | None = None


@dataclass(frozen=True)
class RolloutOptions:
    """How to roll: batch size, failures tolerated, and whether to undo done hosts on a stop."""

    serial: int = 1
    max_fail: int = 0
    fleet_rollback: bool = False


@dataclass
class HostResult:
    """One host's line of the recap."""

    name: str
    address: str
    status: HostStatus
    code: int | None = None
    error: str | None = None
    seconds: float = 0.0
    run: HostRun | None = None
    rollback: HostRun | None = None


@dataclass
class FleetResult:
    """Every selected host's result, in inventory order, and the run's wall time."""

    procedure: str
    options: RolloutOptions
    hosts: list[HostResult]
    seconds: float = 0.0
    stopped: str | None = None

    @property
    def code(self) -> int:
        """0 only if every host succeeded; otherwise the worst (highest) code."""
        return max((h.code or 0 for h in self.hosts), default=0)


def rollout(
    sessions: Sequence[HostSession],
    job: FleetJob,
    options: RolloutOptions,
    emit_for: Callable[[str], Emit],
) -> FleetResult:
    """Run ``job`` on every session, ``options.serial`` at a time; see the module docstring."""
    started = time.monotonic()
    result = FleetResult(job.procedure, options, [])
    by_name: dict[str, HostResult] = {}
    pending = list(sessions)
    if job.preflight is not None and len(sessions) > 1:
        by_name.update((r.name, r) for r in _preflight(sessions, job, emit_for))
        if len(by_name) > options.max_fail:
            result.stopped = (
                f"preflight: {len(by_name)} host(s) cannot run it "
                f"(--max-fail {options.max_fail}); nothing changed on any host"
            )
            for session in sessions:
                by_name.setdefault(
                    session.name, HostResult(session.name, session.address, "skipped")
                )
            result.hosts = [by_name[s.name] for s in sessions]
            result.seconds = time.monotonic() - started
            return result
        pending = [s for s in sessions if s.name not in by_name]
    serial = max(1, options.serial)
    batches = [list(pending[i : i + serial]) for i in range(0, len(pending), serial)]
    failures = len(by_name)
    for number, batch in enumerate(batches):
        for done in _run_batch(batch, job, emit_for):
            by_name[done.name] = done
            failures += done.code != 0
        if failures > options.max_fail:
            rest = [s for later in batches[number + 1 :] for s in later]
            result.stopped = f"{failures} host(s) failed (--max-fail {options.max_fail})" + (
                f"; {len(rest)} host(s) not touched" if rest else ""
            )
            for session in rest:
                by_name[session.name] = HostResult(session.name, session.address, "skipped")
            break
    result.hosts = [by_name[s.name] for s in sessions]
    done_ok = [s for s in sessions if by_name[s.name].code == 0 and by_name[s.name].run]
    if result.stopped and options.fleet_rollback and job.undo is not None:
        _finish_done(done_ok, job.undo, by_name, emit_for, undo=True)
    elif job.release is not None:
        _finish_done(done_ok, job.release, by_name, emit_for, undo=False)
    result.seconds = time.monotonic() - started
    return result


def _preflight(
    sessions: Sequence[HostSession], job: FleetJob, emit_for: Callable[[str], Emit]
) -> list[HostResult]:
    """Plan on every host at once (nothing changes); the hosts that cannot run the job."""
    assert job.preflight is not None
    planning = FleetJob(job.procedure, job.preflight)
    with ThreadPoolExecutor(max_workers=min(len(sessions), 16)) as pool:
        found = list(pool.map(lambda s: _run_host(s, planning, emit_for(s.name)), sessions))
    return [r for r in found if r.code != 0]


def _run_batch(
    batch: list[HostSession], job: FleetJob, emit_for: Callable[[str], Emit]
) -> list[HostResult]:
    if len(batch) == 1:
        return [_run_host(batch[0], job, emit_for(batch[0].name))]
    with ThreadPoolExecutor(max_workers=len(batch)) as pool:
        futures = [pool.submit(_run_host, s, job, emit_for(s.name)) for s in batch]
        return [f.result() for f in futures]


def _run_host(session: HostSession, job: FleetJob, emit: Emit) -> HostResult:
    started = time.monotonic()
    if session.target is None or session.settings is None:
        status: HostStatus = "unreachable" if session.unreachable else "failed"
        code = 1 if session.unreachable else session.code
        emit(f"  {status}: {session.error}")
        return HostResult(session.name, session.address, status, code, session.error)
    try:
        run = job.run(session.target, session.settings, emit)
    except PortbookError as exc:
        emit(f"  refused: {exc}" if exc.code == 2 else f"  failed: {exc}")
        run = HostRun(exc.code, str(exc))
    except Exception as exc:  # a bug in a job must not take the other hosts down
        run = HostRun(1, f"internal error: {type(exc).__name__}: {exc}")
    return HostResult(
        session.name,
        session.address,
        _status(run),
        run.code,
        run.error,
        time.monotonic() - started,
        run,
    )


def _finish_done(
    sessions: list[HostSession],
    action: Job,
    by_name: dict[str, HostResult],
    emit_for: Callable[[str], Emit],
    *,
    undo: bool,
) -> None:
    """Undo (fleet rollback) or release the kept journal of every host done in this run."""
    lock = threading.Lock()

    def one(session: HostSession) -> None:
        assert session.target is not None and session.settings is not None
        emit = emit_for(session.name)
        if undo:
            emit("  fleet rollback: undoing this host's completed run")
        try:
            finished = action(session.target, session.settings, emit)
        except Exception as exc:
            finished = HostRun(3, f"internal error: {type(exc).__name__}: {exc}")
        with lock:
            host = by_name[session.name]
            if undo:
                host.rollback = finished
                host.status = "rolled back" if finished.code == 0 else "failed"
                host.code = 3 if finished.code else host.code
                host.error = finished.error if finished.code else "rolled back with the fleet"
            elif finished.code:
                host.code, host.error, host.status = finished.code, finished.error, "failed"

    if not sessions:
        return
    with ThreadPoolExecutor(max_workers=min(len(sessions), 16)) as pool:
        list(pool.map(one, sessions))


def _status(run: HostRun) -> HostStatus:
    if run.code == 0:
        return "changed" if run.changed else "ok"
    if run.code == 1 and any(s.status == "undone" for s in run.steps):
        return "rolled back"
    return "failed"
