"""The steps of a master restart and an emergency recovery that check, start and verify."""

from __future__ import annotations

import posixpath

from ..config import DEFAULTS
from ..engine.journal import JournalEntry
from ..engine.operation import Op
from ..errors import StepFailed
from ..host.status import wait_healthy
from ..host.strays import describe
from ..host.supervisor import Supervisor
from ..model import Plan
from ..registry.agreement import config_problems, parser_problems
from ..registry.manifest import read_document

__all__ = [
    "CheckConfig",
    "CheckPortsFree",
    "RunRestartScript",
    "StartSupervisord",
    "VerifyServices",
    "restart_script",
]


class CheckPortsFree:
    """Step: every manifest port is free before supervisord starts; name what still holds one.

    Idempotent: yes (reads only).
    Undo: nothing to undo.
    """

    name = "ports-free"

    def check(self, op: Op) -> Plan:
        """Which ports will be checked."""
        ports = ", ".join(str(e.port) for e in op.system.services.values())
        return Plan(f"check that every manifest port is free: {ports or 'none'}")

    def apply(self, op: Op, plan: Plan, entry: JournalEntry) -> str:
        """Fail naming each holder (pid, user, command line)."""
        ports = {e.port: name for name, e in op.system.services.items()}
        held = sorted({(lst.port, lst.pid) for lst in op.target.listeners() if lst.port in ports})
        if held:
            raise StepFailed("; ".join(_held(op, port, pid, ports[port]) for port, pid in held))
        return f"all {len(ports)} manifest port(s) free"

    def undo(self, op: Op, entry: JournalEntry) -> None:
        """Nothing to undo: this step only reads."""


class CheckConfig:
    """Step: supervisor's parser accepts the conf and (``agreement=True``) the four places agree.

    Checked when planning too, so a broken configuration refuses the run before anything
    is stopped (exit 2); checked again here, just before supervisord starts.
    Idempotent: yes (reads only).
    Undo: nothing to undo.
    """

    name = "config"

    def __init__(self, agreement: bool = True) -> None:
        self.agreement = agreement

    def check(self, op: Op) -> Plan:
        """Refuse the run now if the configuration is already broken."""
        problems = self._problems(op)
        if problems:
            op.refuse("configuration: " + "; ".join(problems))
        if not self.agreement:
            return Plan("supervisor's parser accepts the conf")
        return Plan("the four places agree and supervisor's parser accepts the conf")

    def apply(self, op: Op, plan: Plan, entry: JournalEntry) -> str:
        """Fail with every disagreement in one line."""
        problems = self._problems(op)
        if problems:
            raise StepFailed("configuration: " + "; ".join(problems))
        if not self.agreement:
            return "supervisor's parser accepts the conf"
        return f"{len(op.system.services)} service(s) agree in all four places"

    def undo(self, op: Op, entry: JournalEntry) -> None:
        """Nothing to undo: this step only reads."""

    def _problems(self, op: Op) -> list[str]:
        if self.agreement:
            return config_problems(op.target, op.system)
        return parser_problems(op.system)


class StartSupervisord:
    """Step: start supervisord with the system's conf, from the root; wait for its socket.

    Idempotent: no (refuses nothing itself; the steps before it make sure none runs).
    Undo: nothing to undo; a failed start leaves nothing running to stop.
    """

    name = "start"

    def check(self, op: Op) -> Plan:
        """The command that will run."""
        conf = op.settings.rel(op.system.main_conf.path)
        return Plan(f"start supervisord: {op.settings.supervisord} -c {conf}")

    def apply(self, op: Op, plan: Plan, entry: JournalEntry) -> str:
        """Start it; the detail names its pid."""
        supervisor = Supervisor(op.target, op.system)
        op.did(entry, plan.summary)
        supervisor.start()
        pid = supervisor.pid()
        op.note(entry, supervisord=pid)
        return f"supervisord pid {pid} started"

    def undo(self, op: Op, entry: JournalEntry) -> None:
        """Nothing to undo."""


class VerifyServices:
    """Step: every program that should run is RUNNING and its pid owns its port.

    Waits up to ``start_timeout``; the final status is kept on the run for the report.
    Idempotent: yes (reads only).
    Undo: nothing to undo.
    """

    name = "verify"

    def check(self, op: Op) -> Plan:
        """What will be proven."""
        names = sorted({*op.system.programs(), *op.system.services})
        return Plan(f"{len(names)} program(s) RUNNING, each pid owning its manifest port")

    def apply(self, op: Op, plan: Plan, entry: JournalEntry) -> str:
        """Wait for health; fail naming every program that is not."""
        report = wait_healthy(op.target, op.system, op.settings.start_timeout)
        op.report = report
        if not report.ok:
            raise StepFailed(report.summary())
        return report.summary()

    def undo(self, op: Op, entry: JournalEntry) -> None:
        """Nothing to undo: this step only reads."""


class RunRestartScript:
    """Step: run the operator's own restart script (``--use-script``) from the root.

    The script comes from ``portbook.yaml``'s ``restart_script`` when set, else from the
    manifest's ``config.restart_script``, else ``scripts/MASTER_RESTART.sh``; it must lie
    inside the root and be executable.
    Idempotent: as idempotent as the script.
    Undo: nothing to undo.
    """

    name = "restart-script"

    def check(self, op: Op) -> Plan:
        """Refuse when the script is missing, outside the root or not executable."""
        path = restart_script(op)
        shown = op.settings.rel(path)
        mode = op.target.file_mode(path)
        if shown == path:
            op.refuse(f"restart script {path} lies outside the root {op.settings.root}")
        elif mode is None:
            op.refuse(f"{shown}: restart script not found")
        elif not mode & 0o111:
            op.refuse(f"{shown}: restart script is not executable")
        return Plan(f"run {shown} from {op.settings.root}")

    def apply(self, op: Op, plan: Plan, entry: JournalEntry) -> str:
        """Run it; fail with its exit code and last line of output."""
        path = restart_script(op)
        op.did(entry, f"ran {op.settings.rel(path)}")
        timeout = op.settings.stop_timeout + 3 * op.settings.start_timeout
        result = op.target.run([path], cwd=op.settings.root, timeout=timeout)
        op.note(entry, exit_code=result.code)
        if result.code != 0:
            last = (result.stderr.strip() or result.stdout.strip() or "no output").splitlines()
            raise StepFailed(f"{op.settings.rel(path)} exited {result.code}: {last[-1]}")
        return f"{op.settings.rel(path)} exited 0"

    def undo(self, op: Op, entry: JournalEntry) -> None:
        """Nothing to undo."""


def restart_script(op: Op) -> str:
    """The operator's restart script: portbook.yaml's, else the manifest's, else the default."""
    configured = op.settings.restart_script
    if configured == DEFAULTS["restart_script"]:
        doc = read_document(op.system.manifest_text, op.settings.path(op.settings.manifest))
        config = doc.get("config")
        if isinstance(config, dict) and isinstance(config.get("restart_script"), str):
            configured = config["restart_script"]
    return posixpath.normpath(op.settings.path(configured))


def _held(op: Op, port: int, pid: int, service: str) -> str:
    info = op.target.process(pid) if pid else None
    who = describe(info) if info else f"pid {pid or '?'} (not visible)"
    return f"port {port} ({service}) is still held by {who}"
