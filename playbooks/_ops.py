"""What restart, recovery, list and status share: plans, reports, hosts and exit codes."""

from __future__ import annotations

import sys
from collections.abc import Callable

from invoke import Context, Exit
from portbook.commands.final_status import final_status
from portbook.config import Settings
from portbook.engine.operation import OpResult
from portbook.errors import PortbookError
from portbook.fleet.jobs import op_job, report_job
from portbook.report.operations import op_json, op_summary, plan_json, plan_text, services_table
from portbook.target import Target

from ._common import open_local, printer, refuse
from ._fleet import Fleet, on_fleet, run_fleet


def show_plan(result: OpResult, settings: Settings, as_json: bool) -> None:
    """Print a ``--check`` plan; exit 2 when the run would be refused."""
    print(plan_json(result) if as_json else plan_text(result, settings))
    if result.outcome.code:
        raise Exit(code=result.outcome.code)


def finish_op(result: OpResult, target: Target, settings: Settings, as_json: bool) -> None:
    """Per-service report, summary line (or one JSON object), exit with the outcome's code."""
    report = final_status(result, target)
    if as_json:
        print(op_json(result, report))
    else:
        if report is not None:
            before = result.op.before if result.op else {}
            print(services_table(report, before))
        stream = sys.stdout if result.outcome.ok else sys.stderr
        print(op_summary(result, settings), file=stream)
    if result.outcome.code:
        raise Exit(code=result.outcome.code)


def run_op(
    c: Context,
    root: str | None,
    check: bool,
    as_json: bool,
    procedure: str,
    plan: Callable[[Target, Settings], OpResult],
    run: Callable[..., OpResult],
    fleet: Fleet,
) -> None:
    """The body of restart and recover: on the selected hosts, or open the root, then plan
    only or run and report."""
    if on_fleet(c, fleet):
        run_fleet(c, fleet, procedure, op_job(procedure, check, plan, run), as_json)
        return
    try:
        target, settings = open_local(c, root)
    except PortbookError as exc:
        refuse(exc, as_json, procedure)
        return
    if check:
        show_plan(plan(target, settings), settings, as_json)
        return
    finish_op(run(target, settings, on_step=printer(as_json)), target, settings, as_json)


def run_report(
    c: Context,
    fleet: Fleet,
    root: str | None,
    as_json: bool,
    procedure: str,
    report: Callable[[Target, Settings], tuple[int, str, str]],
) -> None:
    """The body of list and status: ``report`` gives (exit code, text, JSON), on the selected
    hosts or on this machine; print the text (or the JSON) and exit with the code."""
    if on_fleet(c, fleet):
        run_fleet(c, fleet, procedure, report_job(procedure, report), as_json)
        return
    try:
        target, settings = open_local(c, root)
        code, text, doc = report(target, settings)
    except PortbookError as exc:
        refuse(exc, as_json, procedure)
        return
    print(doc if as_json else text)
    if code:
        raise Exit(code=code)
