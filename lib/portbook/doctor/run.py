"""Run doctor's checks (all, or those ``--only`` names) and turn findings into an exit code.

Checks run in the order of :data:`CHECKS`, each a probe over one shared
:class:`~.checks_base.Context`, so every file and fact is read once. When one of the four
places cannot be read, that is reported once (``agreement.unreadable``, or
``supervisor.parse`` for a conf file), whichever checks were asked for.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field

from portbook.config import Settings
from portbook.errors import InvalidInput, ParseError, PortbookError
from portbook.target import Target

from .checks_agreement import AGREEMENT
from .checks_base import Check, Context, bare_message
from .checks_leftovers import LEFTOVERS
from .checks_live import LIVE
from .checks_policy import POLICY
from .checks_python import CODE, HARDCODED_PYTHON, IMPORTS
from .checks_secrets import SECRETS
from .checks_supervisor import SUPERVISOR
from .checks_text import HARDCODED_TEXT
from .findings import Finding

__all__ = ["CHECKS", "DoctorReport", "check_ids", "run_checks", "select"]

CHECKS: tuple[Check, ...] = (
    AGREEMENT,
    POLICY,
    HARDCODED_PYTHON,
    HARDCODED_TEXT,
    CODE,
    IMPORTS,
    SUPERVISOR,
    SECRETS,
    LIVE,
    LEFTOVERS,
)
"""Every check family, in report order."""

_RANK = {"error": 0, "warning": 1}


@dataclass
class DoctorReport:
    """What a doctor run found: findings (sorted), the ids checked, how many source files were
    scanned and how many of those were parsed as Python, services, seconds."""

    findings: list[Finding] = field(default_factory=list)
    checked: list[str] = field(default_factory=list)
    files: int = 0
    parsed: int = 0
    services: int = 0
    seconds: float = 0.0

    @property
    def errors(self) -> int:
        """How many findings are errors."""
        return sum(1 for f in self.findings if f.severity == "error")

    @property
    def warnings(self) -> int:
        """How many findings are warnings."""
        return sum(1 for f in self.findings if f.severity == "warning")

    @property
    def code(self) -> int:
        """The exit code: 0 when there is no error, else 1."""
        return 1 if self.errors else 0


def check_ids(live: bool = True) -> list[str]:
    """Every check id doctor knows, in report order (live ones only if ``live``)."""
    return [i for c in CHECKS if live or not c.live for i in c.ids]


def select(only: Sequence[str] | None, live: bool = True) -> list[str]:
    """The ids ``--only`` names: ids (``policy.avoid``) or families (``policy``); all if empty.

    InvalidInput (exit 2) for a name that is neither.
    """
    known = check_ids(live)
    if not only:
        return known
    chosen: list[str] = []
    for raw in only:
        name = raw.strip()
        hits = [i for i in known if i == name or i.startswith(name + ".")]
        if not hits:
            families = sorted({i.split(".")[0] for i in known})
            raise InvalidInput(
                f"unknown check {name!r}: use an id ({known[0]}, ...) "
                f"or a family ({', '.join(families)})"
            )
        chosen += [i for i in hits if i not in chosen]
    return chosen


def _place_key(finding: Finding) -> tuple[int, str, str, int]:
    path, _, line = finding.place.rpartition(":")
    if line.isdigit() and path:
        return _RANK[finding.severity], finding.check, path, int(line)
    return _RANK[finding.severity], finding.check, finding.place, 0


def _unreadable(ctx: Context, error: PortbookError) -> Finding:
    confs = (ctx.settings.path(ctx.settings.supervisor_conf),)
    if isinstance(error, ParseError):
        is_conf = error.path in confs or error.path.endswith(".conf")
        return Finding(
            "supervisor.parse" if is_conf else "agreement.unreadable",
            "error",
            ctx.place(error.path, error.line),
            bare_message(error),
            "fix that file first: the other checks of the four places need it",
        )
    return Finding(
        "agreement.unreadable",
        "error",
        ctx.place(ctx.settings.root),
        str(error),
        "fix access to the file first: the other checks need it",
    )


def run_checks(
    target: Target,
    settings: Settings,
    only: Sequence[str] | None = None,
    *,
    live: bool = True,
) -> DoctorReport:
    """Run the selected checks on ``target``; nothing is changed. InvalidInput for a bad name."""
    started = time.perf_counter()
    wanted = set(select(only, live))
    ctx = Context(target, settings)
    report = DoctorReport(checked=[i for i in check_ids(live) if i in wanted])
    for check in CHECKS:
        if (check.live and not live) or wanted.isdisjoint(check.ids):
            continue
        try:
            for finding in check.probe(ctx):
                if finding.check in wanted:
                    report.findings.append(finding)
        except PortbookError as exc:  # the host would not tell (permissions, I/O): say so
            family = check.ids[0].split(".")[0]
            report.findings.append(
                Finding(
                    "doctor.check-failed",
                    "error",
                    settings.root,
                    f"the {family} checks could not run: {exc}",
                    "fix what the message names, or run doctor as the system's user",
                )
            )
    if ctx.read_error is not None:
        report.findings.append(_unreadable(ctx, ctx.read_error))
    unique = {(f.check, f.place, f.message): f for f in report.findings}
    report.findings = sorted(unique.values(), key=_place_key)
    if "sources" in ctx.__dict__:
        report.files = len(ctx.sources)
    report.parsed = ctx.parsed
    report.services = len(ctx.system.services) if ctx.system else 0
    report.seconds = time.perf_counter() - started
    return report
