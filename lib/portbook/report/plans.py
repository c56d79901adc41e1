"""A procedure's ``--check`` plan, the one way every report shows it: per step a head
line and its files' unified diffs for humans, and one JSON form of the same steps.

Formatting only; the JSON's strings are masked here, the text's by its caller.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Sequence

from ..model import Plan
from ..secrets import mask_secrets

__all__ = ["plan_doc", "plan_head", "plan_lines", "plan_status", "unified_diff"]


def plan_status(plan: Plan) -> str:
    """``skipped`` or ``planned``: a step's status in the JSON plan."""
    return "skipped" if plan.skip_reason else "planned"


def plan_head(number: int, name: str, plan: Plan, width: int, summary: str) -> str:
    """``[N] NAME do|skip SUMMARY``: one step's line in a plan for humans."""
    mark = "skip" if plan.skip_reason else "do"
    return f"[{number}] {name:<{width}} {mark:<4} {summary}"


def plan_lines(names: Sequence[str], plans: Sequence[Plan], root: str, width: int) -> list[str]:
    """Each step's head line, then the unified diff of every file it changes."""
    out: list[str] = []
    for number, (name, plan) in enumerate(zip(names, plans, strict=True), 1):
        out.append(plan_head(number, name, plan, width, plan.summary))
        out += [unified_diff(c.path, c.before, c.after, root) for c in plan.files]
    return out


def plan_doc(
    procedure: str, names: Sequence[str], plans: Sequence[Plan], root: str, **fields: object
) -> str:
    """The plan as one JSON object: ok, procedure, check, ``fields``, steps, error.

    Each step: name, status, detail (its summary), diffs and programs; secrets masked.
    """
    steps = [
        {
            "name": name,
            "status": plan_status(plan),
            "detail": mask_secrets(plan.summary),
            "diffs": [
                mask_secrets(unified_diff(c.path, c.before, c.after, root)) for c in plan.files
            ],
            "programs": list(plan.programs),
        }
        for name, plan in zip(names, plans, strict=True)
    ]
    doc = {
        "ok": True,
        "procedure": procedure,
        "check": True,
        **fields,
        "steps": steps,
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
