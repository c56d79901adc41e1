"""Human and JSON output. Formatting only; every string passes through secret masking."""

from __future__ import annotations

import difflib
import json
from collections.abc import Sequence
from typing import Any

from ..model import Outcome, Plan, ServiceSpec, StepResult
from ..secrets import mask_secrets

__all__ = [
    "outcome_doc",
    "outcome_json",
    "plan_json",
    "plan_text",
    "step_line",
    "summary_line",
    "unified_diff",
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
    out = [
        f"plan: {procedure} {spec.name} ({spec.category}) on port {spec.port_move}; "
        "nothing changed yet"
    ]
    programs: list[str] = []
    for number, (name, plan) in enumerate(zip(names, plans, strict=True), 1):
        mark = "skip" if plan.skip_reason else "do"
        out.append(f"[{number}] {name:<16} {mark:<4} {plan.summary}")
        programs.extend(p for p in plan.programs if p not in programs)
        for change in plan.files:
            out.append(unified_diff(change.path, change.before, change.after, root))
    out.append(f"port: {spec.port_move}")
    out.append(
        f"supervisor programs started, stopped or restarted: {', '.join(programs) or 'none'}"
    )
    return mask_secrets("\n".join(out))


def plan_json(
    spec: ServiceSpec,
    names: Sequence[str],
    plans: Sequence[Plan],
    root: str,
    procedure: str = "add",
) -> str:
    """``--check --json``: the same plan as one JSON object."""
    doc = {
        "ok": True,
        "procedure": procedure,
        "check": True,
        "port": spec.port,
        "previous_port": spec.previous_port,
        "steps": [
            {
                "name": n,
                "status": "skipped" if p.skip_reason else "planned",
                "detail": mask_secrets(p.summary),
                "diffs": [
                    mask_secrets(unified_diff(c.path, c.before, c.after, root)) for c in p.files
                ],
                "programs": list(p.programs),
            }
            for n, p in zip(names, plans, strict=True)
        ],
        "error": None,
    }
    return json.dumps(doc)


def unified_diff(path: str, before: bytes | None, after: bytes | None, root: str) -> str:
    """A unified diff of one file's change, paths shown relative to ``root``."""
    rel = path[len(root) + 1 :] if path.startswith(root + "/") else path
    a = (before or b"").decode("utf-8", "replace").splitlines(keepends=True)
    b = (after or b"").decode("utf-8", "replace").splitlines(keepends=True)
    lines = difflib.unified_diff(
        a,
        b,
        "/dev/null" if before is None else f"a/{rel}",
        "/dev/null" if after is None else f"b/{rel}",
    )
    return "".join(line if line.endswith("\n") else line + "\n" for line in lines).rstrip("\n")


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
