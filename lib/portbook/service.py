"""The service procedures as library calls: validate the request, then hand steps to the runner."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass

from .config import CATEGORIES, Settings
from .errors import InvalidInput, PortbookError, Refused
from .journal import Journal
from .lock import root_lock
from .model import Outcome, Plan, ServiceSpec, StepResult
from .ports import allocate_port, check_port
from .procedures import ADD, PROCEDURES
from .registry.supervisor_conf import validate
from .runner import plan_all, run_steps, undo_journal
from .steps import Run, Step
from .system import System, read_system
from .target import Target

__all__ = ["AddRequest", "add_service", "plan_add", "rollback"]

NAME_RE = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")

OnStep = Callable[[StepResult], None]


@dataclass(frozen=True)
class AddRequest:
    """``service.add`` as the operator typed it, before validation."""

    name: str
    port: int | None = None
    category: str = "watchdog"
    description: str | None = None
    script: str | None = None
    command: str | None = None
    fix_code: bool = False


def add_service(
    target: Target,
    settings: Settings,
    request: AddRequest,
    *,
    restart: str = "targeted",
    wait: bool = False,
    on_step: OnStep = lambda r: None,
    steps: Sequence[Step] = ADD,
) -> Outcome:
    """Run ADD (or ``steps``, for fault injection): journaled, undone on failure; never raises."""
    outcome = Outcome("add", target.host)
    try:
        _check_restart(restart)
        with root_lock(target, settings, wait=wait):
            _refuse_leftover_journal(target, settings)
            run = _prepare(target, settings, request, restart)
            run.journal = Journal(target, settings, "add", asdict(run.spec))
            run_steps(run, steps, outcome, on_step)
    except PortbookError as exc:
        outcome.error, outcome.code = str(exc), exc.code
    except Exception as exc:  # a bug: the runner has already unwound; report, don't trace
        outcome.error, outcome.code = f"internal error: {type(exc).__name__}: {exc}", 1
    return outcome


def plan_add(
    target: Target, settings: Settings, request: AddRequest, restart: str = "targeted"
) -> tuple[ServiceSpec, list[Plan]]:
    """``--check``: the spec and every step's plan; nothing is written, not even a lock."""
    _check_restart(restart)
    run = _prepare(target, settings, request, restart)
    return run.spec, plan_all(run, ADD)


def rollback(
    target: Target, settings: Settings, *, wait: bool = False, on_step: OnStep = lambda r: None
) -> Outcome:
    """Undo what an interrupted run left in the journal; never raises."""
    outcome = Outcome("rollback", target.host)
    try:
        with root_lock(target, settings, wait=wait):
            journal = Journal.load(target, settings)
            if journal is None:
                outcome.steps.append(StepResult("journal", "skipped", 0.0, "nothing to roll back"))
                return outcome
            spec = ServiceSpec(**journal.spec)
            run = Run(target, settings, read_system(target, settings), spec, journal=journal)
            outcome.procedure = f"rollback of {journal.procedure}"

            def record(result: StepResult) -> None:
                outcome.steps.append(result)
                on_step(result)

            left = undo_journal(run, PROCEDURES[journal.procedure], record)
            if left:
                outcome.error = f"rollback incomplete, {journal.path} kept: " + "; ".join(left)
                outcome.code = 3
    except PortbookError as exc:
        outcome.error, outcome.code = str(exc), exc.code
    return outcome


def _prepare(target: Target, settings: Settings, request: AddRequest, restart: str) -> Run:
    system = read_system(target, settings)
    validate(system.main_conf.text, system.main_conf.path)
    spec = _spec(target, system, request)
    run = Run(target, settings, system, spec, restart=restart)
    supervisor = run.supervisor()
    run.before = supervisor.states() if supervisor.is_up() else None
    if run.before is not None and spec.name in run.before:
        raise Refused(f"{spec.name} is already a program in the running supervisord")
    return run


def _spec(target: Target, system: System, request: AddRequest) -> ServiceSpec:
    name = request.name
    if not NAME_RE.match(name or ""):
        raise InvalidInput(f"invalid service name {name!r}: must match ^[a-z][a-z0-9_]{{0,63}}$")
    _refuse_existing(system, name)
    if request.category not in CATEGORIES:
        raise InvalidInput(f"invalid category {request.category!r}: core or watchdog")
    if request.script and request.command:
        raise InvalidInput("give --script or --command, not both")
    script = (
        None
        if request.command
        else _script(system, request.script or f"{system.settings.api_dir}/{name}.py")
    )
    description = request.description or f"{name} service"
    for label, value in (("description", description), ("command", request.command or "")):
        if _CONTROL.search(value):
            raise InvalidInput(f"{label} must be one line of printable text: {value!r}")
    listeners = target.listeners()
    if request.port is None:
        port = allocate_port(request.category, system, listeners)
    else:
        port = request.port
        check_port(port, system, target, listeners)
    return ServiceSpec(
        name, port, request.category, description, script, request.command, request.fix_code
    )


def _refuse_existing(system: System, name: str) -> None:
    if name in system.services:
        raise InvalidInput(
            f"{name} already exists in the manifest ({system.services[name].category})"
        )
    if name in system.fallback_ports:
        raise InvalidInput(f"{name} already exists in DEFAULT_PORTS ({system.settings.fallback})")
    groups = system.group_names()
    if name in groups:
        raise InvalidInput(f"{name} already exists in supervisor config ({groups[name]})")


def _script(system: System, script: str) -> str:
    if script.startswith("/") or ".." in script.split("/") or _CONTROL.search(script):
        raise InvalidInput(f"--script must be a path inside the root, relative to it: {script!r}")
    if not re.match(r"^[\w./-]+\.py$", script):
        raise InvalidInput(f"--script must be a .py path of letters, digits, _ . / -: {script!r}")
    return script


def _check_restart(restart: str) -> None:
    if restart not in ("targeted", "master"):
        raise InvalidInput(f"--restart must be targeted or master, not {restart!r}")


def _refuse_leftover_journal(target: Target, settings: Settings) -> None:
    journal = Journal.load(target, settings)
    if journal is not None:
        raise Refused(
            f"an unfinished {journal.procedure} (pid {journal.pid}) left {journal.path}: "
            "run `invoke service.rollback` first"
        )
