"""doctor's output: a table for humans, one JSON object, and the ``--fix --check`` plan.

Formatting only. Every string passes through ``mask_secrets``; the secrets check itself
only ever puts a key in a finding, never a value.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from ..doctor.findings import Finding
from ..doctor.run import DoctorReport
from ..model import Plan
from ..secrets import mask_secrets
from .plans import plan_doc, plan_lines

__all__ = ["finding_dict", "plan_json", "plan_text", "report_json", "report_text"]


def finding_dict(finding: Finding) -> dict[str, object]:
    """A finding as JSON, secrets masked."""
    return {k: mask_secrets(v) if isinstance(v, str) else v for k, v in finding.as_dict().items()}


def _summary(report: DoctorReport) -> str:
    scope = f"{report.services} services, {report.files} files, {len(report.checked)} checks"
    if not report.findings:
        return f"doctor: no findings ({scope}, {report.seconds:.2f}s)"
    return (
        f"doctor: {report.errors} error(s), {report.warnings} warning(s) "
        f"({scope}, {report.seconds:.2f}s); exit {report.code}"
    )


def report_text(report: DoctorReport) -> str:
    """One block per finding (severity, check, place; message; fix), then a summary line."""
    width = max((len(f.check) for f in report.findings), default=10) + 2
    lines: list[str] = []
    for f in report.findings:
        mark = "  [--fix]" if f.fixable else ""
        lines.append(f"{f.severity:<8}{f.check:<{width}}{f.place}")
        lines.append(f"{'':<8}{f.message}")
        lines.append(f"{'':<8}fix: {f.fix}{mark}")
    lines.append(_summary(report))
    return mask_secrets("\n".join(lines))


def report_json(report: DoctorReport, host: str, root: str, **extra: Any) -> str:
    """Exactly one JSON object: ok, counts, the ids checked, every finding, the exit code."""
    doc: dict[str, Any] = {
        "ok": report.code == 0,
        "procedure": "doctor",
        "host": host,
        "root": root,
        "checked": report.checked,
        "files": report.files,
        "parsed": report.parsed,
        "services": report.services,
        "seconds": round(report.seconds, 3),
        "errors": report.errors,
        "warnings": report.warnings,
        "findings": [finding_dict(f) for f in report.findings],
        "exit_code": report.code,
    }
    doc.update(extra)
    return json.dumps(doc)


def plan_text(names: Sequence[str], plans: Sequence[Plan], root: str) -> str:
    """``doctor --fix --check``: each repair's plan and every file's unified diff."""
    programs = sorted({p for plan in plans for p in plan.programs})
    out = [
        "plan: doctor --fix; nothing changed yet",
        *plan_lines(names, plans, root, 24),
        f"supervisor programs touched: {', '.join(programs) or 'none'}",
    ]
    return mask_secrets("\n".join(out))


def plan_json(names: Sequence[str], plans: Sequence[Plan], root: str) -> str:
    """``doctor --fix --check --json``: the same plan as one JSON object."""
    return plan_doc("doctor --fix", names, plans, root)
