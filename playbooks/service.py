"""service.*: add a service in all four places, list them, roll back an interrupted run."""

from __future__ import annotations

from typing import Any

from invoke import Context
from portbook.commands.add import AddRequest, add_service, plan_add
from portbook.commands.add import rollback as rollback_run
from portbook.commands.change import (
    ModifyRequest,
    RemoveRequest,
    RenameRequest,
    modify_service,
    plan_change,
    remove_service,
    rename_service,
)
from portbook.commands.execute import release_journal
from portbook.commands.listing import list_report
from portbook.commands.options import parse_port
from portbook.errors import PortbookError
from portbook.fleet.jobs import add_job, change_job, procedure_of, rollback_job
from portbook.procedures import ADD, PROCEDURES
from portbook.report.steps import plan_json, plan_text

from ._common import finish, open_local, printer, refuse
from ._flags import task
from ._fleet import Fleet, on_fleet, run_fleet
from ._help import JSON_HELP, ROOT_HELP, WAIT_HELP, fleet_help
from ._ops import run_report


@task(
    positional=[],
    help=fleet_help(
        {
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
            "json": JSON_HELP,
            "wait": WAIT_HELP,
        },
        rollback=True,
    ),
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
    hosts: str | None = None,
    inventory: str | None = None,
    serial: int | None = None,
    max_fail: int | None = None,
    fleet_rollback: bool = False,
    accept_new_keys: bool = False,
) -> None:
    """Add a service: fallback, manifest, code, supervisor, smoke test, apply, verify."""
    fleet = Fleet(hosts, inventory, serial, max_fail, fleet_rollback, accept_new_keys)
    if on_fleet(c, fleet):
        try:
            request = AddRequest(
                name, parse_port(port), category, description, script, command, fix_code
            )
        except PortbookError as exc:
            refuse(exc, json, "add")
            return
        job = add_job(request, restart, check, wait, fleet_rollback)
        run_fleet(c, fleet, "add", job, json)
        return
    try:
        target, settings = open_local(c, root)
        request = AddRequest(
            name, parse_port(port), category, description, script, command, fix_code
        )
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


@task(
    positional=[],
    help=fleet_help(
        {
            "name": "The service to change (must be in the manifest).",
            "port": "New port, or auto for the lowest free one in the category's range.",
            "description": "New manifest description.",
            "category": "Move to core or watchdog.",
            "script": "New script, relative to the root: command becomes '<python> SCRIPT'.",
            "command": "New full supervisor command line.",
            "root": ROOT_HELP,
            "check": "Change nothing: print the plan and the diffs.",
            "json": JSON_HELP,
            "wait": WAIT_HELP,
        },
        rollback=True,
    ),
)
def modify(
    c: Context,
    name: str,
    port: str | None = None,
    description: str | None = None,
    category: str | None = None,
    script: str | None = None,
    command: str | None = None,
    root: str | None = None,
    check: bool = False,
    json: bool = False,
    wait: bool = False,
    hosts: str | None = None,
    inventory: str | None = None,
    serial: int | None = None,
    max_fail: int | None = None,
    fleet_rollback: bool = False,
    accept_new_keys: bool = False,
) -> None:
    """Modify a service: manifest, fallback, section, smoke test, restart NAME alone, verify."""
    request = ModifyRequest(name, port, description, category, script, command)
    fleet = Fleet(hosts, inventory, serial, max_fail, fleet_rollback, accept_new_keys)
    _change(c, request, modify_service, root, check, json, wait, fleet)


@task(
    positional=[],
    help=fleet_help(
        {
            "name": "The service's current name.",
            "to": "Its new name: ^[a-z][a-z0-9_]{0,63}$, new in all four places.",
            "fix_code": "Rewrite get_port(OLD) to get_port(NEW) in its script.",
            "root": ROOT_HELP,
            "check": "Change nothing: print the plan and the diffs.",
            "json": JSON_HELP,
            "wait": WAIT_HELP,
        },
        rollback=True,
    ),
)
def rename(
    c: Context,
    name: str,
    to: str,
    fix_code: bool = False,
    root: str | None = None,
    check: bool = False,
    json: bool = False,
    wait: bool = False,
    hosts: str | None = None,
    inventory: str | None = None,
    serial: int | None = None,
    max_fail: int | None = None,
    fleet_rollback: bool = False,
    accept_new_keys: bool = False,
) -> None:
    """Rename a service in all four places, keeping its port; swap its supervisor group."""
    fleet = Fleet(hosts, inventory, serial, max_fail, fleet_rollback, accept_new_keys)
    _change(c, RenameRequest(name, to, fix_code), rename_service, root, check, json, wait, fleet)


@task(
    positional=[],
    help=fleet_help(
        {
            "name": "The service to remove.",
            "delete_code": "Also delete its script (shown in the plan first).",
            "root": ROOT_HELP,
            "check": "Change nothing: print the plan and the diffs.",
            "json": JSON_HELP,
            "wait": WAIT_HELP,
        },
        rollback=True,
    ),
)
def remove(
    c: Context,
    name: str,
    delete_code: bool = False,
    root: str | None = None,
    check: bool = False,
    json: bool = False,
    wait: bool = False,
    hosts: str | None = None,
    inventory: str | None = None,
    serial: int | None = None,
    max_fail: int | None = None,
    fleet_rollback: bool = False,
    accept_new_keys: bool = False,
) -> None:
    """Remove a service: stop it, then its section, manifest entry and fallback; verify."""
    fleet = Fleet(hosts, inventory, serial, max_fail, fleet_rollback, accept_new_keys)
    request = RemoveRequest(name, delete_code)
    _change(c, request, remove_service, root, check, json, wait, fleet)


def _change(
    c: Context,
    request: Any,
    action: Any,
    root: str | None,
    check: bool,
    json: bool,
    wait: bool,
    fleet: Fleet,
) -> None:
    procedure = procedure_of(request)
    if on_fleet(c, fleet):
        job = change_job(request, action, check, wait, fleet.fleet_rollback)
        run_fleet(c, fleet, procedure, job, json)
        return
    try:
        target, settings = open_local(c, root)
        if check:
            procedure, spec, plans = plan_change(target, settings, request)
            names = [s.name for s in PROCEDURES[procedure]]
            show = plan_json if json else plan_text
            print(show(spec, names, plans, settings.root, procedure))
            return
    except PortbookError as exc:
        refuse(exc, json, procedure)
        return
    finish(action(target, settings, request, wait=wait, on_step=printer(json)), json)


@task(
    help=fleet_help(
        {"root": ROOT_HELP, "json": "Print one JSON object: a list of services."}, rolling=False
    )
)
def list(
    c: Context,
    root: str | None = None,
    json: bool = False,
    hosts: str | None = None,
    inventory: str | None = None,
    accept_new_keys: bool = False,
) -> None:
    """List every service: category, manifest and fallback ports, supervisor state, ownership."""
    fleet = Fleet.reading(hosts, inventory, accept_new_keys)
    run_report(c, fleet, root, json, "list", list_report)


@task(
    help=fleet_help(
        {
            "root": ROOT_HELP,
            "json": JSON_HELP,
            "wait": WAIT_HELP,
            "keep_changes": "Accept a completed run kept for --fleet-rollback: clear its journal.",
        },
        rolling=False,
    )
)
def rollback(
    c: Context,
    root: str | None = None,
    json: bool = False,
    wait: bool = False,
    keep_changes: bool = False,
    hosts: str | None = None,
    inventory: str | None = None,
    accept_new_keys: bool = False,
) -> None:
    """Undo an interrupted run from its journal (files, supervisor group, smoke process)."""
    fleet = Fleet.reading(hosts, inventory, accept_new_keys)
    if on_fleet(c, fleet):
        run_fleet(c, fleet, "rollback", rollback_job(wait, keep_changes), json)
        return
    try:
        target, settings = open_local(c, root)
    except PortbookError as exc:
        refuse(exc, json, "rollback")
        return
    if keep_changes:
        finish(release_journal(target, settings, wait=wait), json)
        return
    finish(rollback_run(target, settings, wait=wait, on_step=printer(json)), json)
