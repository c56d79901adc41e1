"""The seed manual's procedures as data: ordered tuples of steps, read top to bottom.

Every procedure portbook runs is here, by name: the service procedures (``ADD``,
``MODIFY``, ``RENAME``, ``REMOVE``) and ``DOCTOR_FIX`` are reversible steps, run by
:func:`portbook.commands.execute.execute`, which unwinds them on failure; the daemon
procedures (``RESTART``, ``RESTART_SCRIPT``, ``RECOVER``) are irreversible actions, run
by :func:`portbook.engine.operation.run_operation`, which stops where a failure happens
and reports. ``MASTER_RESTART`` (the restart inside ``service.add --restart master``
and its undo) is defined in :mod:`portbook.steps.restart`, which runs it from below
this layer, and is named here so the manual is complete.
"""

from __future__ import annotations

from .engine.operation import Action
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
from .steps.daemon import RemoveStaleFiles, ShutDownSupervisord, StopStrays
from .steps.doctor_fix import (
    MoveTmpLogs,
    RegenerateFallback,
    RewritePythonPorts,
    RewriteShellPortArrays,
)
from .steps.doctor_gate import DoctorAfter, DoctorBefore
from .steps.modify import UpdateFallback, UpdateManifest, UpdateProgramSection
from .steps.reapply import (
    ApplyRemoval,
    ModifySmokeTest,
    RestartService,
    StopService,
    SwapGroup,
    VerifyGone,
)
from .steps.remove import (
    DeleteCode,
    RemoveFromFallback,
    RemoveFromManifest,
    RemoveProgramSection,
)
from .steps.rename import (
    RenameInCode,
    RenameInFallback,
    RenameInManifest,
    RenameProgramSection,
)
from .steps.restart import MASTER_RESTART
from .steps.startup import (
    CheckConfig,
    CheckPortsFree,
    RunRestartScript,
    StartSupervisord,
    VerifyServices,
)

__all__ = [
    "ADD",
    "DOCTOR_FIX",
    "MASTER_RESTART",
    "MODIFY",
    "PROCEDURES",
    "RECOVER",
    "REMOVE",
    "RENAME",
    "RESTART",
    "RESTART_SCRIPT",
]

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

DOCTOR_FIX: tuple[Step, ...] = (
    RegenerateFallback(),  # the manifest is primary: DEFAULT_PORTS follows it
    RewritePythonPorts(),  # hardcoded Python ports -> get_port("NAME")
    RewriteShellPortArrays(),  # PORTS=(...) in scripts -> the manifest's ports
    MoveTmpLogs(),  # /tmp log paths -> logs/
)

# ``supervisor.restart``: the seed's scripts/MASTER_RESTART.sh, built in; refusals first.
RESTART: tuple[Action, ...] = (
    CheckConfig(agreement=False),  # supervisor's parser accepts the conf (else refuse)
    ShutDownSupervisord(),  # graceful, then TERM, then KILL to its pid only
    StopStrays(),  # the system's own processes still alive or on its ports
    RemoveStaleFiles(),  # socket, pidfile
    CheckPortsFree(),  # every manifest port, holders named
    StartSupervisord(),
    VerifyServices(),  # every program RUNNING, owning its port
)

# ``supervisor.restart --use-script``: the operator's own script, then the same verification.
RESTART_SCRIPT: tuple[Action, ...] = (
    RunRestartScript(),  # restart_script (scripts/MASTER_RESTART.sh), inside the root
    VerifyServices(),
)

# EMERGENCY RECOVERY (``recover.emergency``), without the seed's ``pkill -f python``.
RECOVER: tuple[Action, ...] = (
    ShutDownSupervisord(),  # 1. stop supervisor (graceful, TERM, KILL: its pid only)
    StopStrays(),  # 2. stop the system's own strays; foreign only with --kill-foreign
    RemoveStaleFiles(),  #    stale socket, pidfile
    CheckPortsFree(),  # 3. check port conflicts
    CheckConfig(),  # 4. the configuration agrees
    StartSupervisord(),  # 5. restart ...
    VerifyServices(),  #    ... and verify every service
)

PROCEDURES: dict[str, tuple[Step, ...]] = {
    "add": ADD,
    "modify": MODIFY,
    "rename": RENAME,
    "remove": REMOVE,
    "doctor-fix": DOCTOR_FIX,
}
