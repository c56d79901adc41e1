"""The MASTER_RESTART equivalent: ordered, driven by the manifest, stopping only what is ours.

``supervisor.restart`` (:func:`restart_system`) runs ``RESTART``: supervisor's
parser must accept the conf and no foreign process may hold a manifest port
(else exit 2, nothing changed); then stop supervisord (graceful, then TERM,
then KILL to its pid), stop the system's own stray processes still on its
ports, remove a stale socket or pidfile, check every manifest port is free,
start supervisord and wait until every program is RUNNING and owns its port.
``--use-script`` runs the operator's own script instead (``RESTART_SCRIPT``),
then verifies the same way. The port list always comes from the manifest.

:func:`master_restart` is the same sequence without journal, audit or
refusals, for ``service.add --restart master`` and for undo.
"""

from __future__ import annotations

import signal
import time
from collections.abc import Callable

from ..config import Settings
from ..engine.operation import (
    Action,
    Op,
    OpResult,
    check_operation,
    perform,
    plan_actions,
    run_operation,
)
from ..errors import StepFailed
from ..host.strays import is_ours
from ..host.supervisor import Supervisor
from ..model import Outcome, StepResult
from ..registry.system import System
from ..target import ProcInfo, Target
from .daemon import RemoveStaleFiles, ShutDownSupervisord, StopStrays
from .startup import CheckConfig, CheckPortsFree, RunRestartScript, StartSupervisord, VerifyServices
from .stopping import same_process

__all__ = [
    "RESTART",
    "RESTART_SCRIPT",
    "is_ours",
    "master_restart",
    "plan_restart",
    "restart_system",
    "stop_process",
    "stray_holders",
]

OnStep = Callable[[StepResult], None]

RESTART: tuple[Action, ...] = (
    CheckConfig(agreement=False),  # supervisor's parser accepts the conf (else refuse)
    ShutDownSupervisord(),  # graceful, then TERM, then KILL to its pid only
    StopStrays(),  # the system's own processes still alive or on its ports
    RemoveStaleFiles(),  # socket, pidfile
    CheckPortsFree(),  # every manifest port, holders named
    StartSupervisord(),
    VerifyServices(),  # every program RUNNING, owning its port
)

RESTART_SCRIPT: tuple[Action, ...] = (RunRestartScript(), VerifyServices())


def restart_system(
    target: Target,
    settings: Settings,
    *,
    use_script: bool = False,
    wait: bool = False,
    on_step: OnStep = lambda r: None,
) -> OpResult:
    """``supervisor.restart``: locked, journaled, audited; never raises."""
    actions = RESTART_SCRIPT if use_script else RESTART
    options = {"use_script": use_script}
    return run_operation(
        target, settings, "restart", actions, options=options, wait=wait, on_step=on_step
    )


def plan_restart(target: Target, settings: Settings, *, use_script: bool = False) -> OpResult:
    """``supervisor.restart --check``: the plans and any refusal; nothing changes."""
    actions = RESTART_SCRIPT if use_script else RESTART
    return check_operation(target, settings, "restart", actions, use_script=use_script)


def master_restart(target: Target, system: System, timeout: float) -> None:
    """Stop supervisord, stop our strays, start, wait for every program; StepFailed on failure.

    No lock, journal or audit of its own (the calling procedure holds them) and no refusal:
    a foreign holder of a manifest port is left alone.
    """
    op = Op(target, system.settings, system, "restart")
    actions: tuple[Action, ...] = (
        ShutDownSupervisord(),
        StopStrays(foreign="ignore"),
        RemoveStaleFiles(),
        StartSupervisord(),
    )
    perform(op, actions, plan_actions(op, actions), Outcome("restart", target.host), _quiet)
    supervisor = Supervisor(target, system)
    began = time.monotonic()
    deadline = began + timeout
    for name in system.programs():
        supervisor.wait_running(name, max(0.1, deadline - time.monotonic()), since=began)
    if time.monotonic() > deadline:
        raise StepFailed(f"not every program was RUNNING within {timeout:g}s")


def stray_holders(target: Target, system: System) -> list[ProcInfo]:
    """Processes listening on a manifest port whose cwd or script is inside the root."""
    ports = {e.port for e in system.services.values()}
    found: dict[int, ProcInfo] = {}
    for lst in target.listeners():
        if lst.port in ports and lst.pid > 1 and lst.pid not in target.own_pids():
            info = target.process(lst.pid)
            if info is not None and is_ours(info, system.settings.root):
                found[info.pid] = info
    return list(found.values())


def stop_process(target: Target, info: ProcInfo, grace: float) -> None:
    """SIGTERM, then SIGKILL after ``grace`` seconds; identity re-checked before each signal."""
    if not same_process(target, info):
        return
    target.send_signal(info.pid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    while same_process(target, info) and time.monotonic() < deadline:
        time.sleep(0.05)
    if same_process(target, info):
        target.send_signal(info.pid, signal.SIGKILL)


def _quiet(result: StepResult) -> None:
    """Step lines of a nested master restart are not shown."""
