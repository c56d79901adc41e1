"""Each task's work on one host, as a fleet job: ``(target, settings, emit) -> HostRun``.

The local paths of the tasks keep their own printing; these jobs print through
``emit`` (prefixed with the host name) and return what the recap and
``--json`` need.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any

from portbook.commands.add import AddRequest, add_service, plan_add
from portbook.commands.add import rollback as rollback_run
from portbook.commands.change import ModifyRequest, plan_change
from portbook.commands.execute import release_journal
from portbook.config import Settings
from portbook.engine.operation import OpResult
from portbook.fleet.auto_port import common_free_port
from portbook.fleet.rollout import FleetJob, HostRun, Job
from portbook.fleet.sessions import HostSession
from portbook.host.status import read_status, status_json, status_table
from portbook.model import Outcome, Plan, ServiceSpec, StepResult
from portbook.procedures import PROCEDURES
from portbook.registry.system import read_system
from portbook.report.operations import op_summary, plan_json, plan_text, services_table
from portbook.report.steps import plan_json as service_plan_json
from portbook.report.steps import plan_text as service_plan_text
from portbook.report.steps import step_line
from portbook.target import Target

__all__ = [
    "add_job",
    "change_job",
    "op_job",
    "report_job",
    "rollback_job",
]

Emit = Callable[[str], None]


def steps_to(emit: Emit) -> Callable[[StepResult], None]:
    """A step callback that prints each step line through ``emit``."""
    return lambda result: emit(step_line(result))


def undo_job(wait: bool) -> Job:
    """Roll a host back from its journal (an unfinished run, or one kept for the fleet)."""
    return lambda t, s, emit: HostRun.of(rollback_run(t, s, wait=wait, on_step=steps_to(emit)))


def _release(target: Target, settings: Settings, emit: Emit) -> HostRun:
    return HostRun.of(release_journal(target, settings, wait=True))


def add_job(
    request: AddRequest, restart: str, check: bool, wait: bool, keep: bool
) -> Callable[[Sequence[HostSession]], FleetJob]:
    """service.add on each host; ``--port auto`` picks one port free on every host first."""

    def prepare(sessions: Sequence[HostSession]) -> FleetJob:
        chosen = request
        if request.port is None and _open_count(sessions) > 1:
            chosen = replace(request, port=common_free_port(sessions, request.category))

        def plan(target: Target, settings: Settings) -> tuple[str, ServiceSpec, list[Plan]]:
            return ("add", *plan_add(target, settings, chosen, restart))

        def act(target: Target, settings: Settings, **kw: Any) -> Outcome:
            return add_service(target, settings, chosen, restart=restart, wait=wait, **kw)

        return _service_job("add", plan, act, check, wait, keep)

    return prepare


def change_job(
    request: Any, action: Callable[..., Outcome], check: bool, wait: bool, keep: bool
) -> Callable[[Sequence[HostSession]], FleetJob]:
    """service.modify / rename / remove on each host (``modify --port auto``: common port)."""
    procedure = type(request).__name__.removesuffix("Request").lower()

    def prepare(sessions: Sequence[HostSession]) -> FleetJob:
        chosen = request
        auto = isinstance(request, ModifyRequest) and request.port == "auto"
        if auto and _open_count(sessions) > 1:
            port = common_free_port(sessions, request.category, request.name)
            chosen = replace(request, port=port)

        def plan(target: Target, settings: Settings) -> tuple[str, ServiceSpec, list[Plan]]:
            return plan_change(target, settings, chosen)

        def act(target: Target, settings: Settings, **kw: Any) -> Outcome:
            return action(target, settings, chosen, wait=wait, **kw)

        return _service_job(procedure, plan, act, check, wait, keep)

    return prepare


def _open_count(sessions: Sequence[HostSession]) -> int:
    return sum(s.settings is not None for s in sessions)


def _service_job(
    procedure: str,
    plan: Callable[[Target, Settings], tuple[str, ServiceSpec, list[Plan]]],
    act: Callable[..., Outcome],
    check: bool,
    wait: bool,
    keep: bool,
) -> FleetJob:
    """A journaled service procedure as a fleet job: ``--check`` prints each host's plan;
    otherwise plan everywhere first (preflight), run, and undo or release as the rollout says."""

    def show_plan(target: Target, settings: Settings, emit: Emit) -> HostRun:
        name, spec, plans = plan(target, settings)
        names = [s.name for s in PROCEDURES[name]]
        emit(service_plan_text(spec, names, plans, settings.root, name))
        return HostRun(doc=json.loads(service_plan_json(spec, names, plans, settings.root, name)))

    if check:
        return FleetJob(procedure, show_plan)

    def preflight(target: Target, settings: Settings, emit: Emit) -> HostRun:
        plan(target, settings)
        return HostRun()

    def run(target: Target, settings: Settings, emit: Emit) -> HostRun:
        return HostRun.of(act(target, settings, on_step=steps_to(emit), keep_journal=keep))

    return FleetJob(procedure, run, undo_job(wait), _release if keep else None, preflight)


def rollback_job(wait: bool, keep_changes: bool) -> FleetJob:
    """service.rollback on each host: undo its journal, or accept a kept one."""
    if keep_changes:
        return FleetJob("release", _release)
    return FleetJob("rollback", undo_job(wait))


def op_job(
    procedure: str,
    check: bool,
    plan: Callable[[Target, Settings], OpResult],
    run: Callable[..., OpResult],
) -> FleetJob:
    """supervisor.restart / recover.emergency on each host: plan or run, then the table."""

    def job(target: Target, settings: Settings, emit: Emit) -> HostRun:
        if check:
            result = plan(target, settings)
            emit(plan_text(result, settings))
            return HostRun(
                result.outcome.code, result.outcome.error, doc=json.loads(plan_json(result))
            )
        result = run(target, settings, on_step=steps_to(emit))
        op = result.op
        if op is not None and op.report is not None:
            emit(services_table(op.report, op.before))
        emit(op_summary(result, settings))
        return HostRun.of(result.outcome)

    return FleetJob(procedure, job)


def report_job(
    procedure: str, report: Callable[[Target, Settings], tuple[int, str, str]]
) -> FleetJob:
    """A read-only task (status, list, doctor): ``report`` gives (code, text, json)."""

    def job(target: Target, settings: Settings, emit: Emit) -> HostRun:
        code, text, doc = report(target, settings)
        emit(text)
        error = None if code == 0 else text.strip().splitlines()[-1] if text.strip() else None
        return HostRun(code, error, doc=json.loads(doc))

    return FleetJob(procedure, job)


def status_report(target: Target, settings: Settings) -> tuple[int, str, str]:
    """supervisor.status as (code, table, json); an unfinished run's journal is a problem."""
    report = read_status(target, read_system(target, settings), pending=True)
    return report.code, status_table(report), status_json(report)
