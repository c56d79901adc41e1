"""doctor: the seed's troubleshooting checklist as checks; ``--fix`` for the mechanical repairs."""

from __future__ import annotations

import importlib
import json as jsonlib
import sys
from types import ModuleType

from invoke import Context, Exit, task
from portbook.config import Settings
from portbook.doctor.render import plan_json, plan_text, report_json, report_text
from portbook.doctor.run import run_checks
from portbook.errors import InvalidInput, PortbookError
from portbook.report import outcome_json, summary_line
from portbook.target import Target

from ._common import ROOT_HELP, open_local, printer, refuse


@task(
    help={
        "root": ROOT_HELP,
        "fix": "Apply the mechanical repairs (journaled), then check again and report the rest.",
        "check": "With --fix: change nothing, print the repairs' plan and diffs.",
        "json": "Print exactly one JSON object on stdout.",
        "only": "Comma-separated check ids or families (e.g. policy,supervisor.tmp-log).",
        "wait": "With --fix: wait for another portbook run's lock instead of refusing.",
    }
)
def doctor(
    c: Context,
    root: str | None = None,
    fix: bool = False,
    check: bool = False,
    json: bool = False,
    only: str | None = None,
    wait: bool = False,
) -> None:
    """Check the four places, code, supervisor and live ports; exit 1 when an error is found."""
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
        refuse(exc, json, "doctor")
        return
    print(report_json(report, target.host, settings.root) if json else report_text(report))
    if report.code:
        raise Exit(code=report.code)


def _fixes() -> ModuleType:
    """The repairs module, imported only when --fix is asked for."""
    try:
        return importlib.import_module("portbook.doctor.fixes")
    except ModuleNotFoundError as exc:
        if exc.name != "portbook.doctor.fixes":
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
