"""service.*: add a service in all four places, list them, roll back an interrupted run."""

from __future__ import annotations

import json as jsonlib

from invoke import Context, task
from portbook.errors import InvalidInput, PortbookError
from portbook.listing import list_services, rows_table
from portbook.procedures import ADD
from portbook.report import plan_json, plan_text
from portbook.service import AddRequest, add_service, plan_add
from portbook.service import rollback as rollback_run
from portbook.system import read_system

from ._common import finish, open_local, printer, refuse

ROOT_HELP = "The managed system's root folder (default: portbook.root, else the current folder)."


@task(
    positional=[],
    help={
        "name": "Service name: ^[a-z][a-z0-9_]{0,63}$, new in all four places.",
        "port": "Port (1024-65535). Default: the lowest free port in the category's range.",
        "category": "core or watchdog (default watchdog).",
        "description": "Manifest description (default: 'NAME service').",
        "script": "Service script, relative to the root (default: <api_dir>/NAME.py).",
        "command": "Full supervisor command line instead of '<python> SCRIPT'.",
        "fix_code": "Rewrite hardcoded ports in the script to get_port(NAME).",
        "root": ROOT_HELP,
        "check": "Change nothing: print the plan, the diffs and the port.",
        "restart": "targeted (default: only NAME starts) or master (full ordered restart).",
        "json": "Print exactly one JSON object on stdout.",
        "wait": "Wait for another portbook run's lock instead of refusing.",
    },
)
def add(
    c: Context,
    name: str,
    port: str | None = None,
    category: str = "watchdog",
    description: str | None = None,
    script: str | None = None,
    command: str | None = None,
    fix_code: bool = False,
    root: str | None = None,
    check: bool = False,
    restart: str = "targeted",
    json: bool = False,
    wait: bool = False,
) -> None:
    """Add a service: fallback, manifest, code, supervisor, smoke test, apply, verify."""
    try:
        target, settings = open_local(c, root)
        request = AddRequest(name, _port(port), category, description, script, command, fix_code)
        if check:
            spec, plans = plan_add(target, settings, request, restart)
            names = [s.name for s in ADD]
            show = plan_json if json else plan_text
            print(show(spec, names, plans, settings.root))
            return
    except PortbookError as exc:
        refuse(exc, json, "add")
        return
    outcome = add_service(
        target, settings, request, restart=restart, wait=wait, on_step=printer(json)
    )
    finish(outcome, json)


@task(help={"root": ROOT_HELP, "json": "Print one JSON object: a list of services."})
def list(c: Context, root: str | None = None, json: bool = False) -> None:
    """List every service: category, manifest and fallback ports, supervisor state, ownership."""
    try:
        target, settings = open_local(c, root)
        rows = list_services(target, read_system(target, settings))
    except PortbookError as exc:
        refuse(exc, json, "list")
        return
    if json:
        print(jsonlib.dumps({"ok": True, "services": [r.as_dict() for r in rows]}))
    else:
        print(rows_table(rows))


@task(
    help={
        "root": ROOT_HELP,
        "json": "Print exactly one JSON object on stdout.",
        "wait": "Wait for another portbook run's lock instead of refusing.",
    }
)
def rollback(c: Context, root: str | None = None, json: bool = False, wait: bool = False) -> None:
    """Undo an interrupted run from its journal (files, supervisor group, smoke process)."""
    try:
        target, settings = open_local(c, root)
    except PortbookError as exc:
        refuse(exc, json, "rollback")
        return
    finish(rollback_run(target, settings, wait=wait, on_step=printer(json)), json)


def _port(value: str | None) -> int | None:
    if value is None or value == "auto":
        return None
    try:
        return int(value)
    except ValueError:
        raise InvalidInput(f"--port must be an integer or auto, not {value!r}") from None
