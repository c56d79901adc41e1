"""Each procedure's work on one host, as a fleet job: ``(target, settings, emit) -> HostRun``.

A job prints through ``emit`` (prefixed with the host name by the rollout's
caller) and returns what the recap and ``--json`` need. The journaled service
procedures plan on every host before the first one changes (preflight), are
undone from the host's journal when the rollout stops, and keep that journal
for ``--fleet-rollback`` until the rollout releases it.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any

from ..commands.add import AddRequest, add_service, plan_add
from ..commands.add import rollback as rollback_run
from ..commands.change import ModifyRequest, plan_change
from ..commands.doctor import doctor, plan_doctor_fix
from ..commands.execute import release_journal
from ..config import Settings
from ..engine.operation import OpResult
from ..model import Outcome, Plan, ServiceSpec, StepResult
from ..procedures import PROCEDURES
from ..report.doctor import plan_json as fix_plan_json
from ..report.doctor import plan_text as fix_plan_text
from ..report.doctor import report_json, report_text
from ..report.operations import op_summary, plan_json, plan_text, services_table
from ..report.steps import plan_json as service_plan_json
from ..report.steps import plan_text as service_plan_text
from ..report.steps import step_line, summary_line
from ..target import Target
from .auto_port import common_free_port
from .rollout import FleetJob, HostRun, Job
from .sessions import HostSession

__all__ = [
    "PrepareJob",
    "add_job",
    "change_job",
    "doctor_job",
    "op_job",
    "procedure_of",
    "report_job",
    "rollback_job",
    "steps_to",
]

Emit = Callable[[str], None]
PrepareJob = Callable[[Sequence[HostSession]], FleetJob]
"""A job made once the sessions are open (``--port auto`` needs every host's free ports)."""


def steps_to(emit: Emit) -> Callable[[StepResult], None]:
    """A step callback that prints each step line through ``emit``."""
    return lambda result: emit(step_line(result))


def procedure_of(request: Any) -> str:
    """``modify`` for a ModifyRequest, ``rename``, ``remove``: the procedure a request runs."""
    return str(type(request).__name__).removesuffix("Request").lower()


def _undo_job(wait: bool) -> Job:
    """Roll a host back from its journal (an unfinished run, or one kept for the fleet)."""
    return lambda t, s, emit: HostRun.of(rollback_run(t, s, wait=wait, on_step=steps_to(emit)))


def _release(target: Target, settings: Settings, emit: Emit) -> HostRun:
    return HostRun.of(release_journal(target, settings, wait=True))


def add_job(request: AddRequest, restart: str, check: bool, wait: bool, keep: bool) -> PrepareJob:
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
) -> PrepareJob:
    """service.modify / rename / remove on each host (``modify --port auto``: common port)."""
    procedure = procedure_of(request)

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

    return FleetJob(procedure, run, _undo_job(wait), _release if keep else None, preflight)


def rollback_job(wait: bool, keep_changes: bool) -> FleetJob:
    """service.rollback on each host: undo its journal, or accept a kept one."""
    if keep_changes:
        return FleetJob("release", _release)
    return FleetJob("rollback", _undo_job(wait))


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
    """A read-only task (status, list): ``report`` gives (code, text, json)."""

    def job(target: Target, settings: Settings, emit: Emit) -> HostRun:
        code, text, doc = report(target, settings)
        emit(text)
        error = None if code == 0 else text.strip().splitlines()[-1] if text.strip() else None
        return HostRun(code, error, doc=json.loads(doc))

    return FleetJob(procedure, job)


def doctor_job(only: str | None, fix: bool, check: bool, wait: bool) -> FleetJob:
    """doctor on each host: checks, or repairs then checks (``--check``: the repairs' plan)."""

    def job(target: Target, settings: Settings, emit: Emit) -> HostRun:
        if fix and check:
            plan_names, plans = plan_doctor_fix(target, settings, only)
            emit(fix_plan_text(plan_names, plans, settings.root))
            return HostRun(doc=json.loads(fix_plan_json(plan_names, plans, settings.root)))
        result = doctor(target, settings, only, fix=fix, wait=wait, on_step=steps_to(emit))
        fixed, report = result.fixed, result.report
        if fixed is not None:
            emit(summary_line(fixed))
        emit(report_text(report))
        code = result.code
        error = fixed.error if fixed and fixed.code else None
        counts = report_json(report, target.host, settings.root)
        run = HostRun(
            code, error or (None if not code else "doctor found errors"), doc=json.loads(counts)
        )
        if fixed is not None:
            run.steps, run.changed = list(fixed.steps), bool(fixed.changed_files)
        return run

    return FleetJob("doctor", job)
