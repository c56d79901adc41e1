"""Real SSH hosts for integration tests: now ``portbook.simhosts`` (and ``simfleet``).

Kept so test modules can go on importing these names from here.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from portbook.simfleet import install_system, start_system
from portbook.simhosts import (
    SSHD,
    HostUnavailable,
    SshHost,
    create_host,
    destroy_host,
    skip_reason,
)

__all__ = [
    "SSHD",
    "HostUnavailable",
    "SshHost",
    "create_host",
    "destroy_host",
    "install_system",
    "skip_reason",
    "ssh_host",
    "start_system",
]


@contextlib.contextmanager
def ssh_host() -> Iterator[SshHost]:
    """A namespace SSH host for the block, torn down afterwards."""
    host = create_host()
    try:
        yield host
    finally:
        destroy_host(host)
