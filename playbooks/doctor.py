"""doctor: the seed's troubleshooting checklist as checks; ``--fix`` for the mechanical repairs."""

from __future__ import annotations

import json as jsonlib
import sys

from invoke import Context, Exit
from portbook.commands.doctor import DoctorResult, plan_doctor_fix
from portbook.commands.doctor import doctor as run_doctor
from portbook.config import Settings
from portbook.errors import PortbookError
from portbook.fleet.jobs import doctor_job
from portbook.report.doctor import plan_json, plan_text, report_json, report_text
from portbook.report.steps import outcome_json, summary_line
from portbook.target import Target

from ._common import open_local, printer, refuse
from ._flags import task
from ._fleet import Fleet, on_fleet, run_fleet
from ._help import JSON_HELP, ROOT_HELP, fleet_help


@task(
    help=fleet_help(
        {
            "root": ROOT_HELP,
            "fix": "Apply the mechanical repairs (journaled), then check again, report the rest.",
            "check": "With --fix: change nothing, print the repairs' plan and diffs.",
            "json": JSON_HELP,
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
    if on_fleet(c, fleet):
        if not fix:
            fleet = Fleet.reading(hosts, inventory, accept_new_keys)
        run_fleet(c, fleet, "doctor", doctor_job(only, fix, check, wait), json)
        return
    try:
        target, settings = open_local(c, root)
        if fix and check:
            names, plans = plan_doctor_fix(target, settings, only)
            print((plan_json if json else plan_text)(names, plans, settings.root))
            return
        result = run_doctor(target, settings, only, fix=fix, wait=wait, on_step=printer(json))
    except PortbookError as exc:
        refuse(exc, json, "doctor-fix" if fix else "doctor")
        return
    if fix:
        _show_fixed(result, target, settings, json)
    else:
        report = result.report
        print(report_json(report, target.host, settings.root) if json else report_text(report))
    if result.code:
        raise Exit(code=result.code)


def _show_fixed(result: DoctorResult, target: Target, settings: Settings, as_json: bool) -> None:
    """``--fix``: the repairs' summary and the checks after them (or the one JSON object)."""
    outcome, report, code = result.fixed, result.report, result.code
    assert outcome is not None
    if as_json:
        fixed = jsonlib.loads(outcome_json(outcome))
        doc = report_json(
            report, target.host, settings.root, fix=fixed, ok=not code, exit_code=code
        )
        print(doc)
    else:
        print(summary_line(outcome), file=sys.stdout if outcome.ok else sys.stderr)
        print(report_text(report))
