"""supervisor.*: the master restart (built in, or the operator's script) and status."""

from __future__ import annotations

from invoke import Context, Exit, task
from portbook.errors import PortbookError
from portbook.restart import plan_restart, restart_system
from portbook.status import read_status, status_json, status_table
from portbook.system import read_system

from ._common import open_local, printer, refuse
from ._ops import finish_op, show_plan

ROOT_HELP = "The managed system's root folder (default: portbook.root, else the current folder)."


@task(
    help={
        "root": ROOT_HELP,
        "check": "Change nothing: print what would be stopped and started, and why.",
        "use_script": "Run the operator's own restart script (restart_script) instead.",
        "json": "Print exactly one JSON object on stdout.",
        "wait": "Wait for another portbook run's lock instead of refusing.",
    }
)
def restart(
    c: Context,
    root: str | None = None,
    check: bool = False,
    use_script: bool = False,
    json: bool = False,
    wait: bool = False,
) -> None:
    """Master restart from the manifest: stop supervisord and our strays, start, verify ports."""
    try:
        target, settings = open_local(c, root)
    except PortbookError as exc:
        refuse(exc, json, "restart")
        return
    if check:
        show_plan(plan_restart(target, settings, use_script=use_script), settings, json)
        return
    result = restart_system(
        target, settings, use_script=use_script, wait=wait, on_step=printer(json)
    )
    finish_op(result, target, settings, json)


@task(help={"root": ROOT_HELP, "json": "Print exactly one JSON object on stdout."})
def status(c: Context, root: str | None = None, json: bool = False) -> None:
    """Each program's state, pid, uptime, port and whether the pid owns it (exit 1 if not all)."""
    try:
        target, settings = open_local(c, root)
        report = read_status(target, read_system(target, settings))
    except PortbookError as exc:
        refuse(exc, json, "status")
        return
    print(status_json(report) if json else status_table(report))
    if report.code:
        raise Exit(code=report.code)
