"""``supervisor.restart``: the seed's MASTER_RESTART, ordered and driven by the manifest.

``RESTART`` (in :mod:`portbook.procedures`): supervisor's parser must accept the conf
and no foreign process may hold a manifest port (else exit 2, nothing changed); then
stop supervisord (graceful, then TERM, then KILL to its pid), stop the system's own
stray processes still on its ports, remove a stale socket or pidfile, check every
manifest port is free, start supervisord and wait until every program is RUNNING and
owns its port. ``--use-script`` runs ``RESTART_SCRIPT`` instead: the operator's own
script, then the same verification. The port list always comes from the manifest.
Both run under :func:`portbook.engine.operation.run_operation`, like ``recover``.
"""

from __future__ import annotations

from typing import Unpack

from ..config import Settings
from ..engine.operation import Action, OpResult, RunOptions, check_operation, run_operation
from ..procedures import RESTART, RESTART_SCRIPT
from ..target import Target

__all__ = ["plan_restart", "restart_system"]


def _actions(use_script: bool) -> tuple[Action, ...]:
    """The procedure ``supervisor.restart`` runs: ``RESTART_SCRIPT`` with ``--use-script``."""
    return RESTART_SCRIPT if use_script else RESTART


def restart_system(
    target: Target, settings: Settings, *, use_script: bool = False, **run: Unpack[RunOptions]
) -> OpResult:
    """``supervisor.restart``: locked, journaled, audited; never raises."""
    options = {"use_script": use_script}
    return run_operation(target, settings, "restart", _actions(use_script), options=options, **run)


def plan_restart(target: Target, settings: Settings, *, use_script: bool = False) -> OpResult:
    """``supervisor.restart --check``: the plans and any refusal; nothing changes."""
    actions = _actions(use_script)
    return check_operation(target, settings, "restart", actions, use_script=use_script)
