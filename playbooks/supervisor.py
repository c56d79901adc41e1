"""supervisor.*: the master restart (built in, or the operator's script) and status."""

from __future__ import annotations

from functools import partial

from invoke import Context
from portbook.commands.restart import plan_restart, restart_system
from portbook.commands.status import status_report

from ._flags import task
from ._fleet import Fleet
from ._help import JSON_HELP, ROOT_HELP, WAIT_HELP, fleet_help
from ._ops import run_op, run_report


@task(
    help=fleet_help(
        {
            "root": ROOT_HELP,
            "check": "Change nothing: print what would be stopped and started, and why.",
            "use_script": "Run the operator's own restart script (restart_script) instead.",
            "json": JSON_HELP,
            "wait": WAIT_HELP,
        }
    )
)
def restart(
    c: Context,
    root: str | None = None,
    check: bool = False,
    use_script: bool = False,
    json: bool = False,
    wait: bool = False,
    hosts: str | None = None,
    inventory: str | None = None,
    serial: int | None = None,
    max_fail: int | None = None,
    accept_new_keys: bool = False,
) -> None:
    """Master restart from the manifest: stop supervisord and our strays, start, verify ports."""
    plan = partial(plan_restart, use_script=use_script)
    run = partial(restart_system, use_script=use_script, wait=wait)
    fleet = Fleet(hosts, inventory, serial, max_fail, False, accept_new_keys)
    run_op(c, root, check, json, "restart", plan, run, fleet)


@task(help=fleet_help({"root": ROOT_HELP, "json": JSON_HELP}, rolling=False))
def status(
    c: Context,
    root: str | None = None,
    json: bool = False,
    hosts: str | None = None,
    inventory: str | None = None,
    accept_new_keys: bool = False,
) -> None:
    """Each program's state, pid, uptime, port and whether the pid owns it (exit 1 if not all)."""
    fleet = Fleet.reading(hosts, inventory, accept_new_keys)
    run_report(c, fleet, root, json, "status", status_report)
