"""The append-only audit log: ``<root>/.portbook/audit.log``, one line per action taken.

Each line is ``TIME<TAB>USER<TAB>PROCEDURE<TAB>WHAT``: an ISO-8601 local time
with its offset, the operator (the user running portbook), the procedure
(``restart``, ``recover``) and what changed, secrets masked and folded onto
one line. Lines are only ever appended (``O_APPEND``), never rewritten, so the
log outlives journals, which are discarded when a run ends.
"""

from __future__ import annotations

import getpass
import os
import posixpath
import time
from dataclasses import dataclass

from ..config import Settings
from ..secrets import mask_secrets
from ..target import Target

__all__ = ["AuditLog", "audit_path", "operator"]


def audit_path(settings: Settings) -> str:
    """Where the audit log of ``settings.root`` lives."""
    return posixpath.join(settings.journal_dir, "audit.log")


def operator() -> str:
    """The user running portbook (login name, else ``uid N``)."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return f"uid {os.getuid()}"


@dataclass
class AuditLog:
    """Appends what one procedure run does to the root's audit log on its target."""

    target: Target
    settings: Settings
    procedure: str
    user: str = ""

    def __post_init__(self) -> None:
        self.user = self.user or operator()

    @property
    def path(self) -> str:
        """The log file on the target."""
        return audit_path(self.settings)

    def write(self, what: str) -> None:
        """Append one line saying ``what`` was done (masked, newlines folded)."""
        stamp = time.strftime("%Y-%m-%dT%H:%M:%S%z")
        text = " ".join(mask_secrets(what).split())
        line = f"{stamp}\t{self.user}\t{self.procedure}\t{text}\n"
        self.target.makedirs(self.settings.journal_dir)
        self.target.append_bytes(self.path, line.encode("utf-8", "replace"))
