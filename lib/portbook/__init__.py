"""portbook: one command per mandatory procedure for supervisord-managed services.

The engine: probes read state, steps change it (check / apply / undo), the
runner journals and unwinds, and one ``Target`` seam reaches the host.

Every procedure is one call on a ``Target`` and its ``Settings`` (what the
``portbook`` tasks call too)::

    import portbook

    target = portbook.LocalTarget()
    settings = portbook.root_settings(target, {}, "/srv/system")
    outcome = portbook.add_service(target, settings, portbook.AddRequest("pricing"))
    if not outcome.ok:
        raise SystemExit(outcome.code)
"""

from .commands.add import AddRequest, add_service, plan_add, rollback
from .commands.change import (
    ModifyRequest,
    RemoveRequest,
    RenameRequest,
    modify_service,
    plan_change,
    remove_service,
    rename_service,
)
from .commands.doctor import DoctorResult, doctor, plan_doctor_fix
from .commands.execute import release_journal
from .commands.listing import list_report
from .commands.recover import plan_recover, recover_system
from .commands.restart import plan_restart, restart_system
from .commands.status import status_report
from .config import Settings, load_settings
from .engine.operation import OpResult
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
from .registry.system import root_settings
from .target import LocalTarget, Target

__all__ = [
    "ADD",
    "MODIFY",
    "PROCEDURES",
    "REMOVE",
    "RENAME",
    "AddRequest",
    "CollateralChange",
    "DoctorResult",
    "FileChange",
    "InvalidInput",
    "LocalTarget",
    "Locked",
    "ModifyRequest",
    "OpResult",
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
    "doctor",
    "list_report",
    "load_settings",
    "modify_service",
    "plan_add",
    "plan_change",
    "plan_doctor_fix",
    "plan_recover",
    "plan_restart",
    "recover_system",
    "release_journal",
    "remove_service",
    "rename_service",
    "restart_system",
    "rollback",
    "root_settings",
    "status_report",
]
