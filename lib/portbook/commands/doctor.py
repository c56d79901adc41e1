"""doctor as one call: the checks, or the mechanical repairs then the checks again.

The rule the task and every fleet host share: ``--only`` narrows the checks and
cannot be combined with ``--fix`` (the repairs cover everything). The repairs'
module is imported only when a repair is asked for.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from types import ModuleType

from ..config import Settings
from ..doctor.run import DoctorReport, run_checks
from ..errors import InvalidInput
from ..model import Outcome, Plan
from ..target import Target
from .execute import OnStep

__all__ = ["DoctorResult", "check_names", "doctor", "plan_doctor_fix"]


@dataclass(frozen=True)
class DoctorResult:
    """The repairs' outcome (None without ``fix``), the checks after them, the exit code."""

    fixed: Outcome | None
    report: DoctorReport

    @property
    def code(self) -> int:
        """The repairs' code when they failed, else the checks' (1 when an error is found)."""
        return (self.fixed.code if self.fixed else 0) or self.report.code


def check_names(only: str | None, fix: bool) -> list[str]:
    """The check names of ``--only`` (comma-separated); InvalidInput when combined with fix."""
    names = [n for n in (only or "").split(",") if n.strip()]
    if fix and names:
        raise InvalidInput("--only cannot be combined with --fix: --fix repairs everything")
    return names


def doctor(
    target: Target,
    settings: Settings,
    only: str | None = None,
    *,
    fix: bool = False,
    wait: bool = False,
    on_step: OnStep = lambda r: None,
) -> DoctorResult:
    """Run the checks ``only`` names (all when None); with ``fix``, repair first (journaled).

    Raises InvalidInput for ``only`` with ``fix`` or an unknown check name, and
    the refusals of reading the system; the repairs themselves never raise.
    """
    names = check_names(only, fix)
    fixed = None
    if fix:
        fixed = _fixes().fix_system(target, settings, wait=wait, on_step=on_step)
    return DoctorResult(fixed, run_checks(target, settings, names))


def plan_doctor_fix(
    target: Target, settings: Settings, only: str | None = None
) -> tuple[list[str], list[Plan]]:
    """``doctor --fix --check``: each repair step's name and plan; nothing is written."""
    check_names(only, True)
    names, plans = _fixes().fix_plan(target, settings)
    return list(names), list(plans)


def _fixes() -> ModuleType:
    """The repairs module, imported only when a repair is asked for."""
    try:
        return importlib.import_module("portbook.commands.doctor_fix")
    except ModuleNotFoundError as exc:
        if exc.name != "portbook.commands.doctor_fix":
            raise
        raise InvalidInput("doctor --fix is not available in this portbook") from None
