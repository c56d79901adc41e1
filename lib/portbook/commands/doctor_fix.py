"""``doctor --fix``: repair what is mechanical, as journaled steps with undo.

The procedure ``doctor-fix`` is :data:`DOCTOR_FIX`, in order:

1. ``regen-fallback``  DEFAULT_PORTS regenerated from the manifest (the primary);
2. ``python-ports``    hardcoded Python ports that are one service's -> ``get_port("NAME")``;
3. ``shell-ports``     shell port lists (``PORTS=(...)``) -> the manifest's ports;
4. ``tmp-logs``        program log paths under /tmp -> the logs folder.

:func:`fix_plan` is ``--check``: every step's plan and diffs, nothing written (not even the
lock). :func:`fix_system` runs the steps through :func:`portbook.commands.execute.execute`: lock,
leftover-journal refusal, journal, apply, and on any failure every file restored byte for
byte. After a run the four places agree on the mechanical points and a second run skips
every step. Anything not mechanical (a port two services share, a literal that may not be a
port, a foreign process, a secret) stays a finding for ``doctor`` to report; no process is
ever signalled. The run carries a neutral :data:`DOCTOR_SPEC`, since no one service is meant.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial

from ..config import Settings
from ..engine.runner import plan_all
from ..model import Outcome, Plan, ServiceSpec
from ..procedures import DOCTOR_FIX
from ..registry.system import read_system
from ..steps import Run, Step
from ..steps.doctor_fix import (
    MoveTmpLogs,
    RegenerateFallback,
    RewritePythonPorts,
    RewriteShellPortArrays,
)
from ..target import Target
from .execute import OnStep, execute

__all__ = [
    "DOCTOR_FIX",
    "DOCTOR_SPEC",
    "PROCEDURE",
    "MoveTmpLogs",
    "RegenerateFallback",
    "RewritePythonPorts",
    "RewriteShellPortArrays",
    "fix_plan",
    "fix_system",
    "prepare_fix",
]

PROCEDURE = "doctor-fix"
"""The procedure's name in the journal, the outcome and ``portbook.procedures.PROCEDURES``."""

DOCTOR_SPEC = ServiceSpec(
    name="doctor",
    port=0,
    category="core",
    description="doctor --fix",
    script=None,
    command=None,
)
"""The neutral spec a fix run carries (journaled, and rebuilt by ``service.rollback``)."""


def prepare_fix(target: Target, settings: Settings) -> Run:
    """Read the four places; an unreadable one refuses (exit 2) before anything changes."""
    return Run(target, settings, read_system(target, settings), DOCTOR_SPEC)


def fix_plan(target: Target, settings: Settings) -> tuple[list[str], list[Plan]]:
    """``--check``: each step's name and plan (summary, diffs); nothing is written."""
    run = prepare_fix(target, settings)
    return [step.name for step in DOCTOR_FIX], plan_all(run, DOCTOR_FIX)


def fix_system(
    target: Target,
    settings: Settings,
    *,
    wait: bool = False,
    on_step: OnStep = lambda r: None,
    steps: Sequence[Step] | None = None,
) -> Outcome:
    """Run the fixes (or ``steps``, for fault injection) journaled, with undo; never raises."""
    return execute(
        target,
        settings,
        PROCEDURE,
        partial(prepare_fix, target, settings),
        list(steps) if steps is not None else list(DOCTOR_FIX),
        wait=wait,
        on_step=on_step,
    )
