"""Human and JSON output. Formatting only; every string passes through secret masking."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from ..model import Outcome, Plan, ServiceSpec, StepResult
from ..secrets import mask_secrets
from .plans import plan_doc, plan_lines

__all__ = [
    "outcome_doc",
    "outcome_json",
    "plan_json",
    "plan_text",
    "step_line",
    "summary_line",
]


def step_line(result: StepResult) -> str:
    """One line per step as it finishes."""
    detail = mask_secrets(result.detail)
    return f"  {result.status:<8} {result.name:<16} {result.seconds:6.2f}s  {detail}"


READ_ONLY = frozenset({"list", "status", "doctor", "consumers"})
"""Tasks that never change anything: a refusal of theirs says so without "nothing changed"."""


def summary_line(outcome: Outcome) -> str:
    """The closing line: done, or the one-line error with its exit code."""
    total = sum(s.seconds for s in outcome.steps)
    if outcome.ok and outcome.procedure.startswith(("rollback", "release")):
        return mask_secrets(_undo_summary(outcome, total))
    if outcome.ok:
        return mask_secrets(
            f"{outcome.procedure} on {outcome.host}: done in {total:.2f}s; "
            f"changed {len(outcome.changed_files)} file(s)"
            + (f"; {outcome.detail}" if outcome.detail else "")
        )
    error = mask_secrets(outcome.error or "")
    verdict = f"{_verdict(outcome.code, outcome.procedure)} (exit {outcome.code})"
    return f"{outcome.procedure} on {outcome.host}: {verdict}: {error}"


def outcome_json(outcome: Outcome) -> str:
    """Exactly one JSON object: ok, procedure, host, steps, changed_files, error."""
    return json.dumps(outcome_doc(outcome))


def outcome_doc(outcome: Outcome) -> dict[str, Any]:
    """The outcome as a JSON-ready mapping (secrets masked)."""
    return {
        "ok": outcome.ok,
        "procedure": outcome.procedure,
        "host": outcome.host,
        "steps": [
            {
                "name": s.name,
                "status": s.status,
                "seconds": round(s.seconds, 3),
                "detail": mask_secrets(s.detail),
            }
            for s in outcome.steps
        ],
        "changed_files": outcome.changed_files,
        "error": mask_secrets(outcome.error) if outcome.error else None,
        "exit_code": outcome.code,
    }


def plan_text(
    spec: ServiceSpec,
    names: Sequence[str],
    plans: Sequence[Plan],
    root: str,
    procedure: str = "add",
) -> str:
    """``--check`` output: each step's plan, every file's unified diff, the port and programs."""
    programs = list(dict.fromkeys(p for plan in plans for p in plan.programs))
    out = [
        f"plan: {procedure} {spec.name} ({spec.category}) on port {spec.port_move}; "
        "nothing changed yet",
        *plan_lines(names, plans, root, 16),
        f"port: {spec.port_move}",
        f"supervisor programs started, stopped or restarted: {', '.join(programs) or 'none'}",
    ]
    return mask_secrets("\n".join(out))


def plan_json(
    spec: ServiceSpec,
    names: Sequence[str],
    plans: Sequence[Plan],
    root: str,
    procedure: str = "add",
) -> str:
    """``--check --json``: the same plan as one JSON object, with the port and the old one."""
    return plan_doc(procedure, names, plans, root, port=spec.port, previous_port=spec.previous_port)


def _undo_summary(outcome: Outcome, total: float) -> str:
    """What a rollback put back (files, groups, processes), or that there was nothing."""
    where = f"{outcome.procedure} on {outcome.host}"
    undone = [
        s.detail for s in outcome.steps if s.status == "undone" and s.detail != "nothing to undo"
    ]
    if undone:
        return f"{where}: undone in {total:.2f}s: {'; '.join(undone)}"
    if any(s.status == "undone" for s in outcome.steps):
        return f"{where}: undone in {total:.2f}s: nothing had changed yet; journal cleared"
    return f"{where}: " + ("; ".join(s.detail for s in outcome.steps) or "nothing to do")


def _verdict(code: int, procedure: str) -> str:
    if procedure in READ_ONLY:  # it changes nothing, so it has nothing to say about changes
        return "refused" if code == 2 else "failed"
    return {1: "failed, rolled back", 2: "refused, nothing changed", 3: "ROLLBACK INCOMPLETE"}.get(
        code, "failed"
    )
