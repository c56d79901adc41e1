"""Steps: each changes one thing, with check (plan and diff), apply and undo."""

from ..engine.step import Run, Step
from .files import AddProgramSection, CheckServiceCode, EditFallback, EditManifest
from .smoke import SmokeTest
from .supervise import ApplyToSupervisor, VerifyOwnership

__all__ = [
    "AddProgramSection",
    "ApplyToSupervisor",
    "CheckServiceCode",
    "EditFallback",
    "EditManifest",
    "Run",
    "SmokeTest",
    "Step",
    "VerifyOwnership",
]
