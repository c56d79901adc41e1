"""Probes: read-only facts about processes and sockets on a target. Nothing here changes state."""

from __future__ import annotations

import time

from ..target import Listener, ProcInfo, Target

__all__ = [
    "listening_ports",
    "owns_port",
    "proven_ours",
    "tree",
    "wait_port_free",
]


def tree(target: Target, pid: int) -> set[int]:
    """``pid`` and every live descendant."""
    return {pid, *target.descendants(pid)} if pid else set()


def listening_ports(target: Target, pid: int, listeners: list[Listener] | None = None) -> set[int]:
    """Ports that ``pid`` or one of its descendants listens on."""
    pids = tree(target, pid)
    if listeners is None:
        return {lst.port for lst in target.listeners_of(pids)}
    return {lst.port for lst in listeners if lst.pid in pids}


def owns_port(target: Target, pid: int, port: int, listeners: list[Listener] | None = None) -> bool:
    """True when ``pid`` or a descendant listens on ``port``."""
    return port in listening_ports(target, pid, listeners)


def wait_until_owned(target: Target, pid: int, port: int, timeout: float) -> bool:
    """Poll until ``pid``'s tree listens on ``port``; False on timeout or if ``pid`` is gone."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if owns_port(target, pid, port):
            return True
        if target.process(pid) is None:
            return False
        time.sleep(0.05)
    return False


def wait_port_free(target: Target, port: int, timeout: float) -> bool:
    """Poll until nothing on the target listens on ``port``; False if held after ``timeout``."""
    deadline = time.monotonic() + timeout
    while any(lst.port == port for lst in target.listeners()):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def proven_ours(target: Target, pid: int, started: float) -> ProcInfo | None:
    """The process only if it is still the one we started (same pid and start time)."""
    info = target.process(pid)
    if info is None or abs(info.started - started) > 0.5:
        return None
    return info
