"""What every procedure task does with ``--hosts``: read the config, run on the fleet, exit.

The fleet run itself (inventory, sessions, rollout, recap) is the library's
:func:`portbook.fleet.run.run_fleet`; this adapter only hands it the invoke
configuration and turns its exit code into the task's.
"""

from __future__ import annotations

from typing import Any

from invoke import Context, Exit
from portbook.fleet.jobs import PrepareJob
from portbook.fleet.rollout import FleetJob
from portbook.fleet.run import FLEET_DEFAULTS, FleetFlags
from portbook.fleet.run import run_fleet as run_on_hosts

__all__ = ["FLEET_DEFAULTS", "Fleet", "on_fleet", "run_fleet"]

Fleet = FleetFlags
"""The fleet flags of one task invocation."""


def _config(c: Context) -> dict[str, Any]:
    return dict(c.config.get("fleet", {}) or {})


def on_fleet(c: Context, flags: FleetFlags) -> bool:
    """True when hosts are selected: the flag, else ``fleet.hosts`` (``portbook -H``)."""
    return flags.selection(_config(c)) is not None


def run_fleet(
    c: Context, flags: FleetFlags, procedure: str, job: FleetJob | PrepareJob, as_json: bool
) -> None:
    """Run ``job`` on the selected hosts (printing as it goes); exit with the worst code."""
    portbook = dict(c.config.get("portbook", {}))
    code = run_on_hosts(procedure, flags, _config(c), portbook, job, as_json)
    if code:
        raise Exit(code=code)
