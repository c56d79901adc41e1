"""The steps of a master restart and an emergency recovery that stop things.

Each is a step (``check`` plans from what is true now, ``apply`` acts on fresh
facts, ``undo`` has nothing to undo) and records every signal and removal with
``Op.did`` (journal and audit log) before doing it.
"""

from __future__ import annotations

import contextlib

from ..engine.journal import JournalEntry
from ..engine.operation import Op
from ..errors import StepFailed, TargetError
from ..host.daemon import Daemon, find_daemon
from ..host.probes import tree
from ..host.strays import StrayScan, describe, scan_strays
from ..host.supervisor import Supervisor
from ..model import Plan
from ..target import ProcInfo
from .stopping import stop_all, wait_gone

__all__ = ["RemoveStaleFiles", "ShutDownSupervisord", "StopStrays"]


class ShutDownSupervisord:
    """Step 1: stop the system's supervisord: ``supervisor.shutdown``, then SIGTERM, then
    SIGKILL, each to supervisord's own pid only (proven by its socket, or by a command line
    running the system's conf).

    Before acting it records the pid and start time of supervisord and of every process in
    its tree, in the journal and on the run, so that whatever survives is provably the
    system's once supervisord is gone.
    Idempotent: yes (a supervisord that is not running is skipped).
    Undo: nothing to undo; a stopped supervisord is started again by the start step, or by
    ``supervisor.restart``.
    """

    name = "supervisord-down"

    def check(self, op: Op) -> Plan:
        """Which supervisord would be stopped, how, and its programs."""
        daemon = find_daemon(op.target, op.system)
        if daemon.info is None:
            return Plan(daemon.line(), skip_reason="supervisord is not running")
        lines = [f"stop {describe(daemon.info)}: {_how(daemon)}"]
        if daemon.answers:
            for name, state in sorted(Supervisor(op.target, op.system).states().items()):
                op.before[name] = state.pid
                lines.append(f"  {name} {state.state} pid {state.pid or '-'} stops with it")
        return Plan("\n".join(lines))

    def apply(self, op: Op, plan: Plan, entry: JournalEntry) -> str:
        """Record its tree, then stop it; fail if even SIGKILL does not end it."""
        daemon = find_daemon(op.target, op.system)
        if daemon.info is None:
            return "supervisord was not running"
        info = daemon.info
        self._record(op, entry, info)
        if daemon.answers and self._graceful(op, entry, info):
            return f"supervisord pid {info.pid} shut down gracefully"
        why = "its supervisord" if not daemon.answers else "did not exit after supervisor.shutdown"
        stop_all(op, entry, [(info, f"the system's supervisord; {why}")], op.settings.stop_timeout)
        return f"supervisord pid {info.pid} stopped by signal"

    def undo(self, op: Op, entry: JournalEntry) -> None:
        """Nothing to undo: a stopped process cannot be un-stopped."""

    @staticmethod
    def _record(op: Op, entry: JournalEntry, info: ProcInfo) -> None:
        for pid in sorted(tree(op.target, info.pid)):
            found = op.target.process(pid)
            if found is not None:
                op.recorded[pid] = found.started
        op.note(entry, supervisord=info.pid, recorded=op.recorded)

    @staticmethod
    def _graceful(op: Op, entry: JournalEntry, info: ProcInfo) -> bool:
        op.did(entry, f"supervisor.shutdown to supervisord {describe(info)}")
        with contextlib.suppress(TargetError):  # it may drop the connection as it goes
            Supervisor(op.target, op.system).call("supervisor.shutdown")
        grace = _stopwait(op) + op.settings.stop_timeout
        return not wait_gone(op.target, [info], grace)


class StopStrays:
    """Step 2: stop stray processes: orphans of the system's programs and holders of its
    manifest ports, only those provably the system's (``portbook.host.strays``).

    SIGTERM, then SIGKILL after ``stop_timeout``, identity (pid and start time) re-checked
    before each signal. A foreign holder of a manifest port refuses the run before any
    change (exit 2) unless ``--kill-foreign``, which stops it the same way; with
    ``foreign="ignore"`` (the master restart inside ``service.add``) it is left alone.
    Idempotent: yes (nothing left to stop is a no-op).
    Undo: nothing to undo; the processes were the broken system's, the start step starts
    the system's programs again.
    """

    name = "strays"

    def __init__(self, foreign: str = "refuse") -> None:
        self.foreign = foreign

    def check(self, op: Op) -> Plan:
        """What is a stray now (and why it is ours), and any foreign holder."""
        daemon = find_daemon(op.target, op.system)
        live = tree(op.target, daemon.info.pid) if daemon.info else set()
        scan = scan_strays(op.target, op.system, op.recorded, exclude=live)
        for proven in scan.ours:
            if proven.program and proven.port:
                op.before.setdefault(proven.program, proven.info.pid)
        lines = [f"  stop {p.line()}" for p in scan.ours]
        lines += [self._foreign_plan(op, holder.line()) for holder in scan.foreign]
        if not lines and not live:
            return Plan("no stray processes", skip_reason="no stray processes")
        count = len(scan.ours) + (len(scan.foreign) if op.kill_foreign else 0)
        first = f"stop {count} stray process(es)" if count else "no stray process now"
        if live:
            first += f"; then any of supervisord's {len(live) - 1} processes that outlive it"
        return Plan("\n".join([first, *lines]))

    def apply(self, op: Op, plan: Plan, entry: JournalEntry) -> str:
        """Scan again (supervisord is down now) and stop what is provably ours."""
        scan = scan_strays(op.target, op.system, op.recorded)
        victims = [(p.info, f"ours: {p.reason}") for p in scan.ours]
        if op.kill_foreign and self.foreign == "refuse":
            victims += [(h.info, f"foreign, port {h.port}") for h in scan.foreign if h.info]
        if not victims:
            return "no stray processes"
        stop_all(op, entry, victims, op.settings.stop_timeout)
        return _summary(scan, victims)

    def undo(self, op: Op, entry: JournalEntry) -> None:
        """Nothing to undo: a stopped process cannot be un-stopped."""

    def _foreign_plan(self, op: Op, line: str) -> str:
        if self.foreign == "ignore":
            return f"  leave alone: {line}"
        if op.kill_foreign:
            return f"  stop (--kill-foreign): {line}"
        op.refuse(f"{line}; left alone: stop it yourself or pass --kill-foreign")
        return f"  REFUSE: {line}"


class RemoveStaleFiles:
    """Step 3: remove the socket and pidfile a dead supervisord left behind.

    Only once no supervisord of the system runs: a socket nobody answers on and a
    pidfile whose pid is not the system's supervisord are stale.
    Idempotent: yes.
    Undo: nothing to undo; supervisord writes both again when it starts.
    """

    name = "stale-files"

    def check(self, op: Op) -> Plan:
        """Which stale files would go."""
        daemon = find_daemon(op.target, op.system)
        if daemon.info is not None:
            return Plan("remove the socket and pidfile if supervisord leaves them behind")
        if not daemon.stale:
            return Plan("no stale files", skip_reason="no stale socket or pidfile")
        return Plan("remove stale " + ", ".join(_rel(op, p) for p in daemon.stale))

    def apply(self, op: Op, plan: Plan, entry: JournalEntry) -> str:
        """Remove them; refuse to if a supervisord of the system is running again."""
        daemon = find_daemon(op.target, op.system)
        if daemon.info is not None:
            raise StepFailed(f"{daemon.line()}: not removing its socket or pidfile")
        for path in daemon.stale:
            op.did(entry, f"removed stale {_rel(op, path)}")
            op.target.remove(path)
        if not daemon.stale:
            return "no stale files"
        return "removed stale " + ", ".join(_rel(op, p) for p in daemon.stale)

    def undo(self, op: Op, entry: JournalEntry) -> None:
        """Nothing to undo: supervisord recreates both when it starts."""


def _how(daemon: Daemon) -> str:
    if daemon.answers:
        return "supervisor.shutdown, then SIGTERM, then SIGKILL to its pid"
    return "it does not answer on its socket: SIGTERM, then SIGKILL to its pid"


def _stopwait(op: Op) -> float:
    waits = [float(o.get("stopwaitsecs", 10)) for _, o in op.system.programs().values()]
    return max(waits, default=10.0)


def _summary(scan: StrayScan, victims: list[tuple[ProcInfo, str]]) -> str:
    foreign = len(victims) - len(scan.ours)
    text = f"stopped {len(scan.ours)} stray process(es) of the system"
    return text + (f" and {foreign} foreign holder(s)" if foreign else "")


def _rel(op: Op, path: str) -> str:
    return op.settings.rel(path)
