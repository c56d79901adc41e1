"""The MASTER_RESTART equivalent: ordered, driven by the manifest, killing only what is ours."""

from __future__ import annotations

import signal
import time

from .errors import StepFailed
from .supervisor import Supervisor
from .system import System
from .target import ProcInfo, Target

__all__ = ["is_ours", "master_restart", "stray_holders"]


def is_ours(info: ProcInfo, root: str) -> bool:
    """Provably the system's: its cwd is inside the root, or it runs a script inside it."""
    inside = root.rstrip("/") + "/"
    if info.cwd == root or info.cwd.startswith(inside):
        return True
    return any(arg.startswith(inside) for arg in info.cmdline[1:])


def stray_holders(target: Target, system: System) -> list[ProcInfo]:
    """Processes still listening on a manifest port after supervisord stopped, ours only."""
    ports = {e.port for e in system.services.values()}
    found: dict[int, ProcInfo] = {}
    for lst in target.listeners():
        if lst.port in ports and lst.pid:
            info = target.process(lst.pid)
            if info is not None and is_ours(info, system.settings.root):
                found[info.pid] = info
    return list(found.values())


def stop_process(target: Target, info: ProcInfo, grace: float) -> None:
    """SIGTERM, then SIGKILL after ``grace`` seconds, re-checking identity each time."""
    target.send_signal(info.pid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    while _same(target, info) and time.monotonic() < deadline:
        time.sleep(0.05)
    if _same(target, info):
        target.send_signal(info.pid, signal.SIGKILL)


def master_restart(target: Target, system: System, timeout: float) -> None:
    """Stop supervisord, stop our strays on manifest ports, start, wait for every program."""
    supervisor = Supervisor(target, system)
    if supervisor.is_up():
        supervisor.shutdown(timeout)
    for info in stray_holders(target, system):
        stop_process(target, info, system.settings.stop_timeout)
    # supervisord itself unlinks a stale socket nobody answers on
    supervisor.start()
    deadline = time.monotonic() + timeout
    for name in system.programs():
        supervisor.wait_running(name, max(0.1, deadline - time.monotonic()))
    if time.monotonic() > deadline:
        raise StepFailed(f"not every program was RUNNING within {timeout:g}s")


def _same(target: Target, info: ProcInfo) -> bool:
    now = target.process(info.pid)
    return now is not None and abs(now.started - info.started) < 0.5
