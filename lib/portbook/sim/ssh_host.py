"""One simulated SSH host: where to reach it, its keys, and what to tear down."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from ..target.ssh import SshTarget, connect

__all__ = ["SshHost"]


@dataclass
class SshHost:
    """One namespace host: where to reach it, its keys, and what to tear down."""

    token: str
    folder: Path
    address: str
    peer: str
    netns: str
    veth: str
    client_key: Path | None = None
    sshd: subprocess.Popen[bytes] | None = None
    targets: list[SshTarget] = field(default_factory=list)

    @property
    def key(self) -> Path:
        """The client's private key (authorized on the host)."""
        return self.client_key or self.folder / "ssh" / "client_ed25519"

    @property
    def known_hosts(self) -> Path:
        """A known_hosts file naming this host's key only."""
        return self.folder / "ssh" / "known_hosts"

    def login(self) -> SshTarget:
        """A new SshTarget logged in as root (host key checked); the caller closes it."""
        return connect(
            self.address,
            user="root",
            key_filename=str(self.key),
            known_hosts=str(self.known_hosts),
            use_agent=False,
        )

    def connect(self) -> SshTarget:
        """Like ``login``, but the target is closed by ``destroy_host``."""
        target = self.login()
        self.targets.append(target)
        return target
