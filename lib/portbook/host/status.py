"""``supervisor.status``: each program's state, pid, uptime, port, and whether its pid owns it.

Reads only. A program "should run" when it is a manifest service or its
``autostart`` is not false; the system is healthy (exit 0) only when
supervisord answers and every program that should run is RUNNING with its pid
(or a descendant) listening on its port (the manifest's, else DEFAULT_PORTS').
When another process holds a program's port, the row names it. With ``pending``, a
journal an unfinished (or kept) run left is a problem too: ``service.rollback`` must
decide it before the next procedure can run.
"""

from __future__ import annotations

import json
import posixpath
import time
from dataclasses import asdict, dataclass

from ..config import Settings
from ..errors import PortbookError, TargetError
from ..registry.journal_file import read_journal
from ..registry.system import ConfFile, System
from ..target import Listener, Target
from .probes import owns_port
from .strays import describe
from .supervisor import Supervisor

__all__ = [
    "ProgramStatus",
    "StatusReport",
    "pending_run",
    "read_status",
    "status_json",
    "status_table",
]

_TERMINAL = ("FATAL",)
_NO = ("false", "0", "no", "off")


@dataclass(frozen=True)
class ProgramStatus:
    """One program as supervisor and the sockets see it."""

    name: str
    state: str
    pid: int
    uptime: int | None
    port: int | None
    owns_port: bool
    should_run: bool
    holder: str | None = None

    @property
    def ok(self) -> bool:
        """RUNNING and owning its port, or not expected to run."""
        if not self.should_run:
            return True
        return self.state == "RUNNING" and (self.port is None or self.owns_port)

    def problem(self) -> str:
        """Why the row is not ok ('' when it is)."""
        if self.ok:
            return ""
        if self.holder:
            return f"port {self.port} is held by {self.holder}"
        if self.state != "RUNNING":
            return f"{self.state}, should be RUNNING"
        return f"pid {self.pid} does not listen on {self.port}"


@dataclass(frozen=True)
class StatusReport:
    """supervisord (up or not, its pid) and one row per program."""

    up: bool
    supervisord_pid: int | None
    programs: tuple[ProgramStatus, ...]
    pending: str | None = None

    @property
    def ok(self) -> bool:
        """Everything that should run runs and owns its port, and no run is left pending."""
        return self.up and all(p.ok for p in self.programs) and not self.pending

    @property
    def code(self) -> int:
        """The exit code: 0 healthy, 1 otherwise."""
        return 0 if self.ok else 1

    def failing(self) -> list[ProgramStatus]:
        """Rows that are not ok."""
        return [p for p in self.programs if not p.ok]

    def summary(self) -> str:
        """One line: healthy, or what is wrong."""
        problems = [f"{p.name}: {p.problem()}" for p in self.failing()]
        if not self.up:
            problems = ["supervisord is not running"]
        if self.pending:
            problems.append(self.pending)
        if problems:
            return "; ".join(problems)
        running = len([p for p in self.programs if p.should_run])
        return f"supervisord pid {self.supervisord_pid}: all {running} running, owning ports"

    def as_dict(self) -> dict[str, object]:
        """JSON-ready form (``ok`` per program included)."""
        return {
            "ok": self.ok,
            "supervisord": {"up": self.up, "pid": self.supervisord_pid},
            "programs": [{**asdict(p), "ok": p.ok} for p in self.programs],
            "pending": self.pending,
            "exit_code": self.code,
        }


def read_status(target: Target, system: System, *, pending: bool = False) -> StatusReport:
    """The status of every program in the config, the manifest or the running supervisord;
    with ``pending``, also what an unfinished run's journal left (:func:`pending_run`)."""
    supervisor = Supervisor(target, system)
    try:
        infos = {i["name"]: i for i in supervisor.call("supervisor.getAllProcessInfo")}
        pid: int | None = supervisor.pid()
    except TargetError:
        infos, pid = {}, None
    programs = system.programs()
    names = sorted({*programs, *system.services, *infos})
    listeners: list[Listener] | None = None
    rows = []
    for name in names:
        info = infos.get(name)
        state = str(info["statename"]) if info else ("DOWN" if pid is None else "ABSENT")
        ppid = int(info["pid"]) if info else 0
        port = _port(system, name)
        owns = bool(ppid and port and owns_port(target, ppid, port))
        holder = None
        if port and not owns:
            listeners = target.listeners() if listeners is None else listeners
            holder = _holder(target, port, listeners)
        running = info is not None and state == "RUNNING" and "now" in info and "start" in info
        uptime = int(info["now"]) - int(info["start"]) if info and running else None
        should = name in system.services or _autostart(programs.get(name))
        rows.append(ProgramStatus(name, state, ppid, uptime, port, owns, should, holder))
    left = pending_run(target, system.settings) if pending else None
    return StatusReport(pid is not None, pid, tuple(rows), left)


def pending_run(target: Target, settings: Settings) -> str | None:
    """What the journal of a run that is not going on any more asks the operator to decide."""
    try:
        journal = read_journal(target, settings)
    except PortbookError as exc:
        return f"{exc}: undo it with invoke service.rollback once inspected"
    if journal is None:
        return None
    label = target.read_optional(posixpath.join(settings.journal_dir, "lock")) or b""
    words = label.split()
    holder = int(words[0]) if words and words[0].isdigit() else None
    if not journal.completed and holder and target.process(holder):
        return None  # a run holds the lock: the journal is its own, still going
    name = journal.spec.get("name")
    what = f"{journal.procedure} of {name}" if name else journal.procedure
    where = settings.rel(journal.path)
    if journal.completed:
        return (
            f"a completed {what} kept for --fleet-rollback left {where}: "
            "invoke service.rollback undoes it, --keep-changes accepts it"
        )
    return f"an unfinished {what} (pid {journal.pid}) left {where}: run invoke service.rollback"


def wait_healthy(target: Target, system: System, timeout: float) -> StatusReport:
    """Poll until the system is healthy, a program is FATAL, or ``timeout`` passes."""
    deadline = time.monotonic() + timeout
    while True:
        report = read_status(target, system)
        fatal = any(p.state in _TERMINAL and p.should_run for p in report.programs)
        if report.ok or fatal or time.monotonic() > deadline:
            return report
        time.sleep(0.1)


def status_table(report: StatusReport) -> str:
    """A fixed-width table for humans, then the summary line."""
    lines = [f"{'program':<26}{'state':<10}{'pid':>8}{'uptime':>10}{'port':>7}  owns  note"]
    for p in report.programs:
        owns = "-" if p.port is None else ("yes" if p.owns_port else "no")
        note = p.problem() or ("" if p.should_run else "not autostarted")
        lines.append(
            f"{p.name:<26}{p.state:<10}{p.pid or '-':>8}{_uptime(p.uptime):>10}"
            f"{p.port or '-':>7}  {owns:<4}  {note}".rstrip()
        )
    lines.append(report.summary())
    return "\n".join(lines)


def status_json(report: StatusReport) -> str:
    """Exactly one JSON object."""
    return json.dumps(report.as_dict())


def _port(system: System, name: str) -> int | None:
    entry = system.services.get(name)
    return entry.port if entry else system.fallback_ports.get(name)


def _autostart(found: tuple[ConfFile, dict[str, str]] | None) -> bool:
    if found is None:
        return False
    options = found[1]
    return str(options.get("autostart", "true")).strip().lower() not in _NO


def _holder(target: Target, port: int, listeners: list[Listener]) -> str | None:
    pids = sorted({lst.pid for lst in listeners if lst.port == port})
    if not pids:
        return None
    info = target.process(pids[0]) if pids[0] else None
    return describe(info) if info else f"pid {pids[0] or '?'} (not visible)"


def _uptime(seconds: int | None) -> str:
    if seconds is None:
        return "-"
    hours, rest = divmod(max(seconds, 0), 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}"
