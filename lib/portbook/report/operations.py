"""Output of ``supervisor.restart`` and ``recover.emergency``: plans, per-service report, JSON.

Formatting only; every string passes through secret masking.
"""

from __future__ import annotations

import json
from dataclasses import asdict

from ..config import Settings
from ..engine.audit import audit_path
from ..engine.operation import OpResult
from ..host.status import StatusReport
from ..secrets import mask_secrets
from .plans import plan_head, plan_status
from .steps import outcome_json

__all__ = ["op_json", "op_summary", "plan_json", "plan_text", "services_table"]


def plan_text(result: OpResult, settings: Settings) -> str:
    """``--check``: each step's plan (what it would stop and why), then any refusal."""
    outcome = result.outcome
    out = [f"plan: {outcome.procedure} of {settings.root} on {outcome.host}; nothing changed"]
    for number, (name, plan) in enumerate(result.plans, 1):
        first, *rest = plan.summary.splitlines() or [""]
        out.append(plan_head(number, name, plan, 17, first))
        out.extend(f"      {line.strip()}" for line in rest)
    if outcome.error:
        out.append(f"refused (exit {outcome.code}): {outcome.error}")
    return mask_secrets("\n".join(out))


def plan_json(result: OpResult) -> str:
    """``--check --json``: the same plan as one JSON object."""
    doc = {
        "ok": result.outcome.ok,
        "procedure": result.outcome.procedure,
        "check": True,
        "steps": [
            {
                "name": name,
                "status": plan_status(plan),
                "detail": mask_secrets(plan.summary.splitlines()[0] if plan.summary else ""),
                "lines": [mask_secrets(x.strip()) for x in plan.summary.splitlines()[1:]],
            }
            for name, plan in result.plans
        ],
        "error": mask_secrets(result.outcome.error) if result.outcome.error else None,
        "exit_code": result.outcome.code,
    }
    return json.dumps(doc)


def services_table(report: StatusReport, before: dict[str, int]) -> str:
    """Per service: state, pid before and after, port, whether the new pid owns it."""
    head = f"{'service':<26}{'state':<10}{'old pid':>8}{'new pid':>8}{'port':>7}  owns  note"
    lines = [head]
    for p in report.programs:
        owns = "-" if p.port is None else ("yes" if p.owns_port else "no")
        lines.append(
            f"{p.name:<26}{p.state:<10}{before.get(p.name) or '-':>8}{p.pid or '-':>8}"
            f"{p.port or '-':>7}  {owns:<4}  {p.problem()}".rstrip()
        )
    return mask_secrets("\n".join(lines))


def op_summary(result: OpResult, settings: Settings) -> str:
    """The closing line: done, refused (nothing changed) or failed (nothing undone)."""
    outcome = result.outcome
    where = f"{outcome.procedure} on {outcome.host}"
    log = settings.rel(audit_path(settings))
    if outcome.ok:
        total = sum(s.seconds for s in outcome.steps)
        health = result.op.report.summary() if result.op and result.op.report else "done"
        text = f"{where}: done in {total:.2f}s: {health}; actions logged in {log}"
    elif not any(s.status in ("changed", "failed") for s in outcome.steps):
        verdict = "refused" if outcome.code == 2 else "failed"
        text = f"{where}: {verdict}, nothing changed (exit {outcome.code}): {outcome.error}"
    else:
        text = (
            f"{where}: FAILED (exit {outcome.code}): {outcome.error}; "
            f"nothing can be undone, what was done is in {log}"
        )
    return mask_secrets(text)


def op_json(result: OpResult, report: StatusReport | None) -> str:
    """Exactly one JSON object: the outcome's fields plus per-service rows and actions."""
    doc = json.loads(outcome_json(result.outcome))
    op = result.op
    before = op.before if op else {}
    doc["services"] = [
        {**asdict(p), "ok": p.ok, "previous_pid": before.get(p.name)}
        for p in (report.programs if report else ())
    ]
    doc["actions"] = [mask_secrets(a) for a in (op.actions if op else [])]
    return json.dumps(doc)
