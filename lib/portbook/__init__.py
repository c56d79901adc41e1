"""portbook: one command per mandatory procedure for supervisord-managed services.

The engine: probes read state, steps change it (check / apply / undo), the
runner journals and unwinds, and one ``Target`` seam reaches the host.
"""

from .config import Settings, load_settings
from .errors import (
    CollateralChange,
    InvalidInput,
    Locked,
    ParseError,
    PortbookError,
    PortConflict,
    Refused,
    RollbackIncomplete,
    StepFailed,
    TargetError,
)
from .model import FileChange, Outcome, Plan, ServiceSpec, StepResult
from .procedures import ADD, PROCEDURES
from .service import AddRequest, add_service, plan_add, rollback
from .target import LocalTarget, Target

__all__ = [
    "ADD",
    "PROCEDURES",
    "AddRequest",
    "CollateralChange",
    "FileChange",
    "InvalidInput",
    "LocalTarget",
    "Locked",
    "Outcome",
    "ParseError",
    "Plan",
    "PortConflict",
    "PortbookError",
    "Refused",
    "RollbackIncomplete",
    "ServiceSpec",
    "Settings",
    "StepFailed",
    "StepResult",
    "Target",
    "TargetError",
    "add_service",
    "load_settings",
    "plan_add",
    "rollback",
]
