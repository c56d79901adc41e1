"""The service procedures as library calls: validate the request, then hand steps to the runner."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import partial

from ..config import CATEGORIES, Settings
from ..errors import InvalidInput, PortbookError, Refused
from ..model import Outcome, Plan, ServiceSpec
from ..procedures import ADD
from ..registry.ports import allocate_port, check_port
from ..registry.supervisor_conf import validate
from ..registry.system import System, read_system
from ..steps import Run, Step
from ..target import Target
from .execute import OnStep, execute, plan, rollback

__all__ = [
    "NAME_RE",
    "AddRequest",
    "add_service",
    "check_category",
    "check_name",
    "check_script",
    "check_text",
    "plan_add",
    "refuse_existing",
    "rollback",
]

NAME_RE = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


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
    keep_journal: bool = False,
) -> Outcome:
    """Run ADD (or ``steps``, for fault injection): journaled, undone on failure; never raises.

    ``keep_journal`` keeps the finished run undoable (see ``execute``).
    """
    try:
        _check_restart(restart)
    except PortbookError as exc:
        return Outcome("add", target.host, error=str(exc), code=exc.code)
    prepare = partial(_prepare, target, settings, request, restart)
    return execute(
        target,
        settings,
        "add",
        prepare,
        steps,
        wait=wait,
        on_step=on_step,
        keep_journal=keep_journal,
    )


def plan_add(
    target: Target, settings: Settings, request: AddRequest, restart: str = "targeted"
) -> tuple[ServiceSpec, list[Plan]]:
    """``--check``: the spec and every step's plan; nothing is written, not even a lock."""
    _check_restart(restart)
    return plan("add", partial(_prepare, target, settings, request, restart))


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
    name = check_name(request.name)
    refuse_existing(system, name)
    check_category(request.category)
    if request.script and request.command:
        raise InvalidInput("give --script or --command, not both")
    script = None
    if not request.command:
        script = check_script(request.script or f"{system.settings.api_dir}/{name}.py")
    description = check_text("description", request.description or f"{name} service")
    check_text("command", request.command or "")
    listeners = target.listeners()
    if request.port is None:
        port = allocate_port(request.category, system, listeners)
    else:
        port = request.port
        check_port(port, system, target, listeners)
    return ServiceSpec(
        name, port, request.category, description, script, request.command, request.fix_code
    )


def check_name(name: str) -> str:
    """A service name as the manual allows it, or InvalidInput."""
    if not NAME_RE.match(name or ""):
        raise InvalidInput(f"invalid service name {name!r}: must match ^[a-z][a-z0-9_]{{0,63}}$")
    return name


def check_category(category: str) -> str:
    """``core`` or ``watchdog``, or InvalidInput."""
    if category not in CATEGORIES:
        raise InvalidInput(f"invalid category {category!r}: core or watchdog")
    return category


def check_text(label: str, value: str) -> str:
    """One line of printable text, or InvalidInput naming the option."""
    if _CONTROL.search(value):
        raise InvalidInput(f"{label} must be one line of printable text: {value!r}")
    return value


def refuse_existing(system: System, name: str) -> None:
    """InvalidInput when ``name`` is already in any of the registry's places."""
    if name in system.services:
        raise InvalidInput(
            f"{name} already exists in the manifest ({system.services[name].category})"
        )
    if name in system.fallback_ports:
        raise InvalidInput(f"{name} already exists in DEFAULT_PORTS ({system.settings.fallback})")
    groups = system.group_names()
    if name in groups:
        raise InvalidInput(f"{name} already exists in supervisor config ({groups[name]})")


def check_script(script: str) -> str:
    """A root-relative ``.py`` path that cannot escape the root, or InvalidInput."""
    if script.startswith("/") or ".." in script.split("/") or _CONTROL.search(script):
        raise InvalidInput(f"--script must be a path inside the root, relative to it: {script!r}")
    if not re.match(r"^[\w./-]+\.py$", script):
        raise InvalidInput(f"--script must be a .py path of letters, digits, _ . / -: {script!r}")
    return script


def _check_restart(restart: str) -> None:
    if restart not in ("targeted", "master"):
        raise InvalidInput(f"--restart must be targeted or master, not {restart!r}")
