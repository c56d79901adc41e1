"""Step-level helpers of the master restart: the nested restart, strays, stopping one process.

:func:`master_restart` runs ``MASTER_RESTART`` (supervisord down, the system's strays
stopped, stale files removed, supervisord started) and waits for every program: the
restart without journal, audit or refusals, for ``service.add --restart master`` and
for undo. ``supervisor.restart`` itself is :func:`portbook.commands.restart.restart_system`,
running ``portbook.procedures.RESTART``.
"""

from __future__ import annotations

import signal
import time

from ..engine.operation import Action, Op, perform, plan_actions
from ..errors import StepFailed
from ..host.strays import is_ours
from ..host.supervisor import Supervisor
from ..model import Outcome, StepResult
from ..registry.system import System
from ..target import ProcInfo, Target
from .daemon import RemoveStaleFiles, ShutDownSupervisord, StopStrays
from .startup import StartSupervisord
from .stopping import same_process

__all__ = ["MASTER_RESTART", "is_ours", "master_restart", "stop_process", "stray_holders"]

MASTER_RESTART: tuple[Action, ...] = (
    ShutDownSupervisord(),  # graceful, then TERM, then KILL to its pid only
    StopStrays(foreign="ignore"),  # the system's own strays; a foreign holder is left alone
    RemoveStaleFiles(),  # socket, pidfile
    StartSupervisord(),  # then every program is waited for (not a step: no status report)
)


def master_restart(target: Target, system: System, timeout: float) -> None:
    """Stop supervisord, stop our strays, start, wait for every program; StepFailed on failure.

    No lock, journal or audit of its own (the calling procedure holds them) and no refusal:
    a foreign holder of a manifest port is left alone.
    """
    op = Op(target, system.settings, system, "restart")
    plans = plan_actions(op, MASTER_RESTART)
    perform(op, MASTER_RESTART, plans, Outcome("restart", target.host), _quiet)
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
