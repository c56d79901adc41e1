"""MODIFY, RENAME and REMOVE as library calls: validate the request, build the spec, execute."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import partial

from ..config import Settings
from ..errors import InvalidInput
from ..model import Outcome, Plan, ServiceSpec
from ..registry.ports import allocate_port, check_port
from ..registry.supervisor_conf import validate
from ..registry.system import System, read_system
from ..steps import Run, Step
from ..target import Target
from .add import check_category, check_name, check_script, check_text, refuse_existing
from .execute import OnStep, execute, plan

__all__ = [
    "ModifyRequest",
    "RemoveRequest",
    "RenameRequest",
    "change_service",
    "modify_service",
    "plan_change",
    "remove_service",
    "rename_service",
]


@dataclass(frozen=True)
class ModifyRequest:
    """``service.modify``: None means "leave as it is"; ``port="auto"`` allocates a new one."""

    name: str
    port: int | str | None = None
    description: str | None = None
    category: str | None = None
    script: str | None = None
    command: str | None = None


@dataclass(frozen=True)
class RenameRequest:
    """``service.rename --name OLD --to NEW``."""

    name: str
    to: str
    fix_code: bool = False


@dataclass(frozen=True)
class RemoveRequest:
    """``service.remove --name NAME``; ``delete_code`` also deletes its script."""

    name: str
    delete_code: bool = False


Request = ModifyRequest | RenameRequest | RemoveRequest
_PROCEDURE = {ModifyRequest: "modify", RenameRequest: "rename", RemoveRequest: "remove"}


def plan_change(
    target: Target, settings: Settings, request: Request
) -> tuple[str, ServiceSpec, list[Plan]]:
    """``--check`` for modify, rename or remove: procedure name, spec and plans."""
    procedure = _PROCEDURE[type(request)]
    spec, plans = plan(procedure, partial(_prepare, target, settings, request))
    return procedure, spec, plans


def change_service(
    target: Target,
    settings: Settings,
    request: Request,
    *,
    wait: bool = False,
    on_step: OnStep = lambda r: None,
    steps: Sequence[Step] | None = None,
    keep_journal: bool = False,
) -> Outcome:
    """Run MODIFY, RENAME or REMOVE, whichever the request's type names; never raises."""
    specs: list[ServiceSpec] = []

    def prepare() -> Run:
        run = _prepare(target, settings, request)
        specs.append(run.spec)
        return run

    procedure = _PROCEDURE[type(request)]
    outcome = execute(
        target,
        settings,
        procedure,
        prepare,
        steps,
        wait=wait,
        on_step=on_step,
        keep_journal=keep_journal,
    )
    if specs and specs[0].port_move != str(specs[0].port):
        outcome.detail = f"port {specs[0].port_move}"
    return outcome


modify_service = rename_service = remove_service = change_service
"""The names the tasks, the tests and the package use: each is ``change_service``."""


def _prepare(target: Target, settings: Settings, request: Request) -> Run:
    system = read_system(target, settings)
    validate(system.main_conf.text, system.main_conf.path)
    if isinstance(request, ModifyRequest):
        spec = _modify_spec(target, system, request)
    elif isinstance(request, RenameRequest):
        spec = _rename_spec(system, request)
    else:
        spec = _remove_spec(system, request)
    run = Run(target, settings, system, spec)
    supervisor = run.supervisor()
    run.before = supervisor.states() if supervisor.is_up() else None
    if run.before is None:
        raise InvalidInput(
            f"supervisord is not running ({supervisor.socket}); "
            "start it with `invoke supervisor.restart` first"
        )
    return run


def _known(system: System, name: str) -> ServiceSpec:
    check_name(name)
    entry = system.services.get(name)
    if entry is None:
        raise InvalidInput(f"unknown service {name!r}: not in the manifest")
    category = entry.category.removesuffix("_services")
    return ServiceSpec(
        name, entry.port, category, entry.description, None, None, previous_port=entry.port
    )


def _modify_spec(target: Target, system: System, request: ModifyRequest) -> ServiceSpec:
    old = _known(system, request.name)
    if request.name not in system.programs():
        raise InvalidInput(f"{request.name} has no [program:{request.name}] section to restart")
    if request.script and request.command:
        raise InvalidInput("give --script or --command, not both")
    script = check_script(request.script) if request.script else None
    command = check_text("command", request.command) if request.command else None
    category = check_category(request.category) if request.category else old.category
    description = check_text("description", request.description or old.description)
    port = _new_port(target, system, request, category, old.port)
    spec = ServiceSpec(
        old.name, port, category, description, script, command, previous_port=old.port
    )
    if (port, category, description, script, command) == (
        old.port,
        old.category,
        old.description,
        None,
        None,
    ):
        raise InvalidInput(
            f"nothing to change for {old.name}: give --port, --description, "
            "--category, --script or --command"
        )
    return spec


def _new_port(
    target: Target, system: System, request: ModifyRequest, category: str, current: int
) -> int:
    listeners = target.listeners()
    if request.port == "auto":
        return allocate_port(category, system, listeners)
    if request.port is None or request.port == current:
        return current
    try:
        port = int(request.port)
    except ValueError:
        raise InvalidInput(f"--port must be an integer or auto, not {request.port!r}") from None
    check_port(port, system, target, listeners)
    return port


def _rename_spec(system: System, request: RenameRequest) -> ServiceSpec:
    old = _known(system, request.name)
    new = check_name(request.to)
    if new == old.name:
        raise InvalidInput(f"--to must differ from --name ({new})")
    refuse_existing(system, new)
    if old.name not in system.programs():
        raise InvalidInput(f"{old.name} has no [program:{old.name}] section to rename")
    return ServiceSpec(
        new,
        old.port,
        old.category,
        old.description,
        None,
        None,
        request.fix_code,
        previous_name=old.name,
        previous_port=old.port,
    )


def _remove_spec(system: System, request: RemoveRequest) -> ServiceSpec:
    old = _known(system, request.name)
    return ServiceSpec(
        old.name,
        old.port,
        old.category,
        old.description,
        None,
        None,
        previous_port=old.port,
        delete_code=request.delete_code,
    )
