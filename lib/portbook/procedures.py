"""The seed manual's procedures as data: ordered tuples of steps, read top to bottom."""

from __future__ import annotations

from .steps import (
    AddProgramSection,
    ApplyToSupervisor,
    CheckServiceCode,
    EditFallback,
    EditManifest,
    SmokeTest,
    Step,
    VerifyOwnership,
)
from .steps.doctor_fix import DOCTOR_FIX
from .steps.doctor_gate import DoctorAfter, DoctorBefore
from .steps.lifecycle import (
    DeleteCode,
    RemoveFromFallback,
    RemoveFromManifest,
    RemoveProgramSection,
    RenameInCode,
    RenameInFallback,
    RenameInManifest,
    RenameProgramSection,
    UpdateFallback,
    UpdateManifest,
    UpdateProgramSection,
)
from .steps.reapply import (
    ApplyRemoval,
    ModifySmokeTest,
    RestartService,
    StopService,
    SwapGroup,
    VerifyGone,
)

__all__ = ["ADD", "MODIFY", "PROCEDURES", "REMOVE", "RENAME"]

ADD: tuple[Step, ...] = (
    DoctorBefore(),  # doctor's static checks: the baseline
    EditFallback(),  # 1. port_config.py -> DEFAULT_PORTS
    EditManifest(),  # 2. MASTER_PORT_MANIFEST.json -> add service
    CheckServiceCode(),  # 3. service code -> get_port()
    AddProgramSection(),  # 4. supervisord.conf -> program section
    SmokeTest(),  # 5. test manually
    ApplyToSupervisor(),  # 6. restart supervisor (targeted: NAME alone)
    VerifyOwnership(),  # 7. verify status
    DoctorAfter(),  # no finding that was not there before
)

MODIFY: tuple[Step, ...] = (
    DoctorBefore(),
    UpdateManifest(),  # 1. MASTER_PORT_MANIFEST.json -> port/description
    UpdateFallback(),  # 2. port_config.py -> DEFAULT_PORTS (if port changed)
    UpdateProgramSection(),  # (command changed) supervisord.conf
    ModifySmokeTest(),  # 3. test manually, on the new port
    RestartService(),  # 4. restart: NAME alone
    VerifyOwnership(),  # 5. verify status: new port owned, old one free
    DoctorAfter(),
)

RENAME: tuple[Step, ...] = (
    DoctorBefore(),
    RenameInManifest(),
    RenameInFallback(),
    RenameInCode(),
    RenameProgramSection(),
    SwapGroup(),  # start NEW right after OLD stops, then remove OLD
    VerifyOwnership(),
    DoctorAfter(),
)

REMOVE: tuple[Step, ...] = (
    DoctorBefore(),
    StopService(),  # graceful stop, then the group is removed
    RemoveProgramSection(),  # 1. supervisord.conf -> delete section
    RemoveFromManifest(),  # 2. MASTER_PORT_MANIFEST.json -> delete entry
    RemoveFromFallback(),  # 3. port_config.py -> remove from DEFAULT_PORTS
    DeleteCode(),  # only with --delete-code
    ApplyRemoval(),  # 4. supervisor re-reads its config
    VerifyGone(),  # 5. verify removal
    DoctorAfter(),
)

PROCEDURES: dict[str, tuple[Step, ...]] = {
    "add": ADD,
    "modify": MODIFY,
    "rename": RENAME,
    "remove": REMOVE,
    "doctor-fix": DOCTOR_FIX,
}
