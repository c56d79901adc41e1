"""recover.*: the seed's EMERGENCY RECOVERY, scripted, stopping only what is provably ours."""

from __future__ import annotations

from invoke import Context, task
from portbook.errors import PortbookError
from portbook.recover import plan_recover, recover_system

from ._common import open_local, printer, refuse
from ._ops import finish_op, show_plan

ROOT_HELP = "The managed system's root folder (default: portbook.root, else the current folder)."


@task(
    help={
        "root": ROOT_HELP,
        "check": "Change nothing: print what would be stopped and why.",
        "kill_foreign": "Also stop foreign processes holding a manifest port (else: refuse).",
        "json": "Print exactly one JSON object on stdout.",
        "wait": "Wait for another portbook run's lock instead of refusing.",
    }
)
def emergency(
    c: Context,
    root: str | None = None,
    check: bool = False,
    kill_foreign: bool = False,
    json: bool = False,
    wait: bool = False,
) -> None:
    """Stop supervisord and the system's strays, free its ports, check config, start, verify."""
    try:
        target, settings = open_local(c, root)
    except PortbookError as exc:
        refuse(exc, json, "recover")
        return
    if check:
        show_plan(plan_recover(target, settings, kill_foreign=kill_foreign), settings, json)
        return
    result = recover_system(
        target, settings, kill_foreign=kill_foreign, wait=wait, on_step=printer(json)
    )
    finish_op(result, target, settings, json)
