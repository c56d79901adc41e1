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

__all__ = ["ADD", "PROCEDURES"]

ADD: tuple[Step, ...] = (
    EditFallback(),  # 1. port_config.py -> DEFAULT_PORTS
    EditManifest(),  # 2. MASTER_PORT_MANIFEST.json -> add service
    CheckServiceCode(),  # 3. service code -> get_port()
    AddProgramSection(),  # 4. supervisord.conf -> program section
    SmokeTest(),  # 5. test manually
    ApplyToSupervisor(),  # 6. restart supervisor (targeted: NAME alone)
    VerifyOwnership(),  # 7. verify status
)

PROCEDURES: dict[str, tuple[Step, ...]] = {"add": ADD}
