"""Real SSH hosts for integration tests: now ``portbook.sim.hosts`` (and ``simfleet``).

Kept so test modules can go on importing these names from here. ``create_host``
is the run's (``tests/leakcheck.py``): its namespace and folder carry the run's
tag, so the end-of-run check finds whatever a test leaves in them.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

from portbook.sim.fleet import install_system, start_system
from portbook.sim.hosts import (
    SSHD,
    HostUnavailable,
    SshHost,
    destroy_host,
    skip_reason,
)
from portbook.target.ssh import SshTarget

from ..leakcheck import create_host

__all__ = [
    "SSHD",
    "HostUnavailable",
    "SshHost",
    "create_host",
    "destroy_host",
    "install_system",
    "managed_files",
    "skip_reason",
    "ssh_host",
    "start_system",
    "supervisor_states",
]


@contextlib.contextmanager
def ssh_host() -> Iterator[SshHost]:
    """A namespace SSH host for the block, torn down afterwards."""
    host = create_host()
    try:
        yield host
    finally:
        destroy_host(host)


def managed_files(root: Path) -> dict[str, tuple[bytes, int]]:
    """Every managed file's bytes and mode under ``root`` (logs, runtime, journal excluded)."""
    out = {}
    for path in root.rglob("*"):
        rel = path.relative_to(root).as_posix()
        skip = rel.startswith(("logs/", ".run/", ".portbook/")) or "__pycache__" in rel
        if path.is_file() and not skip:
            out[rel] = (path.read_bytes(), path.stat().st_mode)
    return out


def supervisor_states(target: SshTarget, root: Path) -> dict[str, tuple[str, int]]:
    """Supervisor's process list through ``target``: name -> (state, pid)."""
    infos = target.rpc(str(root / ".run/supervisor.sock"), "supervisor.getAllProcessInfo")
    return {i["name"]: (i["statename"], i["pid"]) for i in infos}
