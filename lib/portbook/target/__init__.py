"""The one seam between procedures and a host: local now, SSH with the same interface."""

from .base import Listener, ProcInfo, RunResult, SupervisorFault, Target
from .local import LocalTarget

__all__ = ["Listener", "LocalTarget", "ProcInfo", "RunResult", "SupervisorFault", "Target"]
