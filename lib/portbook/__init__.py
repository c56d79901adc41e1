"""portbook: one command per mandatory procedure for supervisord-managed services.

The engine: probes read state, steps change it (check / apply / undo), the
runner journals and unwinds, and one ``Target`` seam reaches the host.
"""

from .commands.add import AddRequest, add_service, plan_add, rollback
from .commands.change import (
    ModifyRequest,
    RemoveRequest,
    RenameRequest,
    modify_service,
    remove_service,
    rename_service,
)
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
from .procedures import ADD, MODIFY, PROCEDURES, REMOVE, RENAME
from .target import LocalTarget, Target

__all__ = [
    "ADD",
    "MODIFY",
    "PROCEDURES",
    "REMOVE",
    "RENAME",
    "AddRequest",
    "CollateralChange",
    "FileChange",
    "InvalidInput",
    "LocalTarget",
    "Locked",
    "ModifyRequest",
    "Outcome",
    "ParseError",
    "Plan",
    "PortConflict",
    "PortbookError",
    "Refused",
    "RemoveRequest",
    "RenameRequest",
    "RollbackIncomplete",
    "ServiceSpec",
    "Settings",
    "StepFailed",
    "StepResult",
    "Target",
    "TargetError",
    "add_service",
    "load_settings",
    "modify_service",
    "plan_add",
    "remove_service",
    "rename_service",
    "rollback",
]
