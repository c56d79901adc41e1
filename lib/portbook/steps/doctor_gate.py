"""doctor's static checks around every procedure: refuse what would make an error worse,
and never end with a finding that was not there before.
"""

from __future__ import annotations

import re
from collections import Counter

from ..doctor.findings import Finding
from ..doctor.run import run_checks
from ..engine.journal import JournalEntry
from ..engine.step import Run
from ..errors import Refused, StepFailed
from ..model import Plan, ServiceSpec

__all__ = ["DoctorAfter", "DoctorBefore", "finding_key"]

# what the procedure's own steps repair or rule on for NAME (the four-place edits, and the
# service-code step refusing or --fix-code rewriting a hardcoded port), so no reason to refuse
_REPAIRED_BY_PROCEDURE = ("agreement.", "code.unknown-service", "code.no-get-port", "hardcoded.")


def finding_key(finding: Finding, spec: ServiceSpec | None = None) -> tuple[str, str, str]:
    """A finding's identity across the procedure's own edits.

    Line numbers shift, a rename changes the name, a modify changes the port or category: the
    same problem restated is not a new one. So the key is the check, the file, and the message
    with the old name read as the new one and numbers and categories blanked.
    """
    path, _, line = finding.place.rpartition(":")
    message = finding.message
    if spec is not None and spec.previous_name and spec.previous_name != spec.name:
        message = re.sub(rf"\b{re.escape(spec.previous_name)}\b", spec.name, message)
    message = re.sub(r"\b(core|watchdog)\b", "CATEGORY", re.sub(r"\d+", "N", message))
    return finding.check, path if line.isdigit() else finding.place, message


def _concerns(finding: Finding, spec: ServiceSpec) -> bool:
    names = {n for n in (spec.name, spec.previous_name) if n}
    ports = {str(p) for p in (spec.port, spec.previous_port) if p}
    words = set(re.findall(r"[A-Za-z0-9_]+", f"{finding.place} {finding.message}"))
    return bool(words & names or words & ports)


def _kept_on_purpose(run: Run, finding: Finding) -> bool:
    """remove keeps NAME's script (unless --delete-code) and records it, so doctor's warning
    that the kept script reads NAME's port is expected. Never an error: a remove that leaves
    an error doctor did not have before fails."""
    procedure = run.journal.procedure if run.journal else ""
    return (
        procedure == "remove"
        and not run.spec.delete_code
        and finding.severity == "warning"
        and finding.check == "code.orphaned-service"
        and _concerns(finding, run.spec)
    )


def _counts(errors: int, warnings: int) -> str:
    return f"{errors} error(s), {warnings} warning(s)"


class DoctorBefore:
    """Before anything changes: doctor's static checks; refuse on an error about NAME or its port.

    Idempotent: yes (reads only).
    Undo: nothing to undo.
    """

    name = "doctor-before"

    def check(self, run: Run) -> Plan:
        """Run the static checks, keep them as the baseline, refuse on an error about NAME."""
        report = run_checks(run.target, run.settings, live=False)
        run.baseline = tuple(finding_key(f, run.spec) for f in report.findings)
        run.notes["doctor_before"] = _counts(report.errors, report.warnings)
        for f in report.findings:
            if (
                f.severity == "error"
                and _concerns(f, run.spec)
                and not f.check.startswith(_REPAIRED_BY_PROCEDURE)
            ):
                raise Refused(f"doctor: {f.check} at {f.place}: {f.message} (fix first: {f.fix})")
        return Plan(
            f"doctor's static checks before: {run.notes['doctor_before']}, "
            f"none about {run.spec.name}"
        )

    def apply(self, run: Run, plan: Plan, entry: JournalEntry) -> str:
        """Nothing to do: the checks ran while planning."""
        return plan.summary

    def undo(self, run: Run, entry: JournalEntry) -> None:
        """Nothing to undo."""


class DoctorAfter:
    """Last step: doctor's static checks again; any finding not in the baseline fails the run.

    Idempotent: yes (reads only).
    Undo: nothing to undo (its failure makes the runner undo everything before it).
    """

    name = "doctor-after"

    def check(self, run: Run) -> Plan:
        """Say what will be compared."""
        return Plan("doctor's static checks after: no finding that was not there before")

    def apply(self, run: Run, plan: Plan, entry: JournalEntry) -> str:
        """Fail with the first new finding, if any."""
        report = run_checks(run.target, run.settings, live=False)
        room = Counter(run.baseline)
        new: list[Finding] = []
        expected: list[Finding] = []
        for f in report.findings:
            key = finding_key(f, run.spec)
            if room[key] > 0:
                room[key] -= 1
            else:
                (expected if _kept_on_purpose(run, f) else new).append(f)
        new.sort(key=lambda f: f.severity != "error")  # an error first
        if new:
            f = new[0]
            raise StepFailed(
                f"doctor: this change would introduce {f.check} at {f.place}: "
                f"{f.message}" + (f" (and {len(new) - 1} more)" if len(new) > 1 else "")
            )
        now = _counts(report.errors, report.warnings)
        detail = f"no new finding: {now} (before: {run.notes.get('doctor_before', '?')})"
        for f in expected:
            detail += f"; kept on purpose: {f.check} (warning) at {f.place}"
        return detail

    def undo(self, run: Run, entry: JournalEntry) -> None:
        """Nothing to undo."""
