"""The one seam between procedures and a host: local, or over SSH with the same interface.

``SshTarget`` and ``connect`` are imported on first use, so local runs do not
pay for importing fabric and paramiko.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .base import Listener, ProcInfo, RunResult, SupervisorFault, Target
from .local import LocalTarget

if TYPE_CHECKING:
    from .ssh import SshTarget, connect

__all__ = [
    "Listener",
    "LocalTarget",
    "ProcInfo",
    "RunResult",
    "SshTarget",
    "SupervisorFault",
    "Target",
    "connect",
]


def __getattr__(name: str) -> Any:
    if name in ("SshTarget", "connect"):
        from . import ssh

        return getattr(ssh, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
