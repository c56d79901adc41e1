"""doctor: the seed's troubleshooting checklist as checks; ``--fix`` for the mechanical repairs."""

from __future__ import annotations

import importlib
import json as jsonlib
import sys
from functools import partial
from types import ModuleType
from typing import Any

from invoke import Context, Exit
from portbook.config import Settings
from portbook.doctor.run import run_checks
from portbook.errors import InvalidInput, PortbookError
from portbook.fleet.rollout import FleetJob, HostRun
from portbook.report.doctor import plan_json, plan_text, report_json, report_text
from portbook.report.steps import outcome_json, summary_line
from portbook.target import Target

from ._common import ROOT_HELP, open_local, printer, refuse
from ._flags import task
from ._fleet import Fleet, fleet_help, run_fleet
from ._jobs import steps_to


@task(
    help=fleet_help(
        {
            "root": ROOT_HELP,
            "fix": "Apply the mechanical repairs (journaled), then check again, report the rest.",
            "check": "With --fix: change nothing, print the repairs' plan and diffs.",
            "json": "Print exactly one JSON object on stdout.",
            "only": "Comma-separated check ids or families (e.g. policy,supervisor.tmp-log).",
            "wait": "With --fix: wait for another portbook run's lock instead of refusing.",
        }
    )
)
def doctor(
    c: Context,
    root: str | None = None,
    fix: bool = False,
    check: bool = False,
    json: bool = False,
    only: str | None = None,
    wait: bool = False,
    hosts: str | None = None,
    inventory: str | None = None,
    serial: int | None = None,
    max_fail: int | None = None,
    accept_new_keys: bool = False,
) -> None:
    """Check the four places, code, supervisor and live ports; exit 1 when an error is found."""
    fleet = Fleet(hosts, inventory, serial, max_fail, False, accept_new_keys)
    if fleet.selection(c):
        if not fix:
            fleet = Fleet.reading(hosts, inventory, accept_new_keys)
        job = FleetJob("doctor", partial(_host_doctor, only or "", fix, check, wait))
        run_fleet(c, fleet, "doctor", job, json)
        return
    try:
        target, settings = open_local(c, root)
        names = [n for n in (only or "").split(",") if n.strip()]
        if fix and names:
            raise InvalidInput("--only cannot be combined with --fix: --fix repairs everything")
        if fix:
            _fix(target, settings, check, json, wait)
            return
        report = run_checks(target, settings, names)
    except PortbookError as exc:
        refuse(exc, json, "doctor-fix" if fix else "doctor")
        return
    print(report_json(report, target.host, settings.root) if json else report_text(report))
    if report.code:
        raise Exit(code=report.code)


def _host_doctor(
    only: str, fix: bool, check: bool, wait: bool, target: Target, settings: Settings, emit: Any
) -> HostRun:
    """doctor on one host of a fleet: checks, or repairs then checks (lines through ``emit``)."""
    names = [n for n in only.split(",") if n.strip()]
    if fix and names:
        raise InvalidInput("--only cannot be combined with --fix: --fix repairs everything")
    if fix and check:
        plan_names, plans = _fixes().fix_plan(target, settings)
        emit(plan_text(plan_names, plans, settings.root))
        return HostRun(doc=jsonlib.loads(plan_json(plan_names, plans, settings.root)))
    fixed = None
    if fix:
        fixed = _fixes().fix_system(target, settings, wait=wait, on_step=steps_to(emit))
        emit(summary_line(fixed))
    report = run_checks(target, settings, names)
    emit(report_text(report))
    code = (fixed.code if fixed else 0) or report.code
    error = fixed.error if fixed and fixed.code else None
    counts = report_json(report, target.host, settings.root)
    run = HostRun(
        code, error or (None if not code else "doctor found errors"), doc=jsonlib.loads(counts)
    )
    if fixed is not None:
        run.steps, run.changed = list(fixed.steps), bool(fixed.changed_files)
    return run


def _fixes() -> ModuleType:
    """The repairs module, imported only when --fix is asked for."""
    try:
        return importlib.import_module("portbook.commands.doctor_fix")
    except ModuleNotFoundError as exc:
        if exc.name != "portbook.commands.doctor_fix":
            raise
        raise InvalidInput("doctor --fix is not available in this portbook") from None


def _fix(target: Target, settings: Settings, check: bool, as_json: bool, wait: bool) -> None:
    """``--fix``: plan and diffs with ``--check``; else repair, check again, report the rest."""
    fixes = _fixes()
    if check:
        names, plans = fixes.fix_plan(target, settings)
        show = plan_json if as_json else plan_text
        print(show(names, plans, settings.root))
        return
    outcome = fixes.fix_system(target, settings, wait=wait, on_step=printer(as_json))
    report = run_checks(target, settings)
    code = outcome.code or report.code
    if as_json:
        fixed = jsonlib.loads(outcome_json(outcome))
        doc = report_json(
            report, target.host, settings.root, fix=fixed, ok=not code, exit_code=code
        )
        print(doc)
    else:
        print(summary_line(outcome), file=sys.stdout if outcome.ok else sys.stderr)
        print(report_text(report))
    if code:
        raise Exit(code=code)
