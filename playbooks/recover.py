"""recover.*: the seed's EMERGENCY RECOVERY, scripted, stopping only what is provably ours."""

from __future__ import annotations

from functools import partial

from invoke import Context
from portbook.commands.recover import plan_recover, recover_system

from ._flags import task
from ._fleet import Fleet
from ._help import JSON_HELP, ROOT_HELP, WAIT_HELP, fleet_help
from ._ops import run_op


@task(
    help=fleet_help(
        {
            "root": ROOT_HELP,
            "check": "Change nothing: print what would be stopped and why.",
            "kill_foreign": "Also stop foreign processes holding a manifest port (else: refuse).",
            "json": JSON_HELP,
            "wait": WAIT_HELP,
        }
    )
)
def emergency(
    c: Context,
    root: str | None = None,
    check: bool = False,
    kill_foreign: bool = False,
    json: bool = False,
    wait: bool = False,
    hosts: str | None = None,
    inventory: str | None = None,
    serial: int | None = None,
    max_fail: int | None = None,
    accept_new_keys: bool = False,
) -> None:
    """Stop supervisord and the system's strays, free its ports, check config, start, verify."""
    plan = partial(plan_recover, kill_foreign=kill_foreign)
    run = partial(recover_system, kill_foreign=kill_foreign, wait=wait)
    fleet = Fleet(hosts, inventory, serial, max_fail, False, accept_new_keys)
    run_op(c, root, check, json, "recover", plan, run, fleet)
