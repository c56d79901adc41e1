"""Supervisor steps of MODIFY, RENAME and REMOVE: touch one group, never the others.

Undo for each asks the runner (``Run.defer``) to restore the group once the
files are back, so supervisor ends on the old config whatever step failed.
"""

from __future__ import annotations

import signal
import time

from ..engine.journal import JournalEntry
from ..engine.step import Deferred, Run
from ..errors import CollateralChange, StepFailed
from ..host.probes import proven_ours, tree, wait_port_free
from ..host.supervisor import Supervisor
from ..model import Plan, ServiceSpec
from .smoke import SmokeTest

__all__ = [
    "ApplyRemoval",
    "ModifySmokeTest",
    "RestartService",
    "StopService",
    "SwapGroup",
    "VerifyGone",
    "needs_restart",
]


def _restore_group(name: str) -> Deferred:
    """What an undo defers: make supervisor's group ``name`` match the restored config, run it."""

    def restore(run: Run) -> None:
        run.supervisor().restore_group(name, run.settings.start_timeout)

    return restore


def needs_restart(spec: ServiceSpec) -> bool:
    """A modify restarts NAME only when its port or its command changes."""
    return spec.port != spec.previous_port or spec.script is not None or spec.command is not None


def _refuse_others(supervisor: Supervisor, allowed: set[str]) -> None:
    added, changed, removed = supervisor.reload_config()
    others = [
        f"{label} {', '.join(sorted(set(g) - allowed))}"
        for label, g in (("added", added), ("changed", changed), ("removed", removed))
        if set(g) - allowed
    ]
    if others:
        raise CollateralChange(
            f"supervisor would also change other groups ({'; '.join(others)}); apply those first"
        )


class ModifySmokeTest(SmokeTest):
    """MODIFY 4: smoke-test NAME on its new port (stopping NAME first if the port is the same).

    Idempotent: yes.
    Undo: kill the smoke process; NAME's group is restored at the end.
    """

    def check(self, run: Run) -> Plan:
        """Skip when neither port nor command changes."""
        if not needs_restart(run.spec):
            return Plan("port and command unchanged", skip_reason="no restart needed")
        return super().check(run)

    def apply(self, run: Run, plan: Plan, entry: JournalEntry) -> str:
        """Free the port first when NAME keeps it, then run the smoke test."""
        if run.spec.port == run.spec.previous_port:
            run.journal_note(entry, stopped=run.spec.name)
            run.supervisor().stop_process(run.spec.name)
        return super().apply(run, plan, entry)

    def undo(self, run: Run, entry: JournalEntry) -> None:
        """Kill the smoke process and bring NAME back."""
        super().undo(run, entry)
        if entry.data.get("stopped"):
            run.defer(f"restore_group {run.spec.name}", _restore_group(run.spec.name))


class RestartService:
    """MODIFY 5: stop NAME, re-add its group if its section changed, else start it.

    Idempotent: no (restarts NAME).
    Undo: NAME's group is restored on the old config at the end.
    """

    name = "restart"

    def check(self, run: Run) -> Plan:
        """Say that NAME, and only NAME, restarts."""
        if not needs_restart(run.spec):
            return Plan("port and command unchanged", skip_reason="no restart needed")
        return Plan(
            f"stop {run.spec.name}, then start it on port {run.spec.port_move}",
            programs=(run.spec.name,),
        )

    def apply(self, run: Run, plan: Plan, entry: JournalEntry) -> str:
        """Restart NAME alone through XML-RPC."""
        name, supervisor = run.spec.name, run.supervisor()
        run.journal_note(entry, restarted=name)
        supervisor.stop_process(name)
        if run.spec.script is not None or run.spec.command is not None:
            _refuse_others(supervisor, {name})
            supervisor.remove_group(name)
            supervisor.add_group(name)
        else:
            supervisor.start_process(name)
        state = supervisor.wait_running(name, run.settings.start_timeout)
        return f"{name} restarted on port {run.spec.port_move}: RUNNING as pid {state.pid}"

    def undo(self, run: Run, entry: JournalEntry) -> None:
        """Bring NAME back on its old config once files are restored."""
        if entry.data.get("restarted"):
            run.defer(f"restore_group {run.spec.name}", _restore_group(run.spec.name))


class SwapGroup:
    """RENAME 5: start NEW right after OLD stops, then remove OLD's group.

    Idempotent: no.
    Undo: remove NEW's group; OLD's group is restored on the old config at the end.
    """

    name = "swap"

    def check(self, run: Run) -> Plan:
        """Say which groups are swapped."""
        old, new = run.spec.previous_name, run.spec.name
        return Plan(
            f"stop {old}, start {new} on port {run.spec.port}, remove {old}",
            programs=(str(old), new),
        )

    def apply(self, run: Run, plan: Plan, entry: JournalEntry) -> str:
        """Swap the groups with the port free only between OLD stopping and NEW binding."""
        old, new, supervisor = str(run.spec.previous_name), run.spec.name, run.supervisor()
        _refuse_others(supervisor, {old, new})
        run.journal_note(entry, old=old, new=new)
        supervisor.stop_process(old)
        supervisor.add_group(new)
        state = supervisor.wait_running(new, run.settings.start_timeout)
        supervisor.remove_group(old)
        return f"{old} stopped and removed; {new} RUNNING as pid {state.pid}"

    def undo(self, run: Run, entry: JournalEntry) -> None:
        """Take NEW out; OLD comes back at the end."""
        if entry.data.get("new"):
            supervisor = run.supervisor()
            if supervisor.is_up():
                supervisor.remove_group(entry.data["new"])
            run.defer(f"restore_group {entry.data['old']}", _restore_group(entry.data["old"]))


class StopService:
    """REMOVE 1: stop NAME gracefully (its process tree killed if it lingers), remove its group.

    Idempotent: yes (an absent group is fine).
    Undo: NAME's group is restored on the old config at the end.
    """

    name = "stop"

    def check(self, run: Run) -> Plan:
        """Say NAME alone stops."""
        if run.spec.name not in (run.before or {}):
            return Plan(f"{run.spec.name} is not a supervisor program", skip_reason="not running")
        return Plan(f"stop {run.spec.name} and remove its group", programs=(run.spec.name,))

    def apply(self, run: Run, plan: Plan, entry: JournalEntry) -> str:
        """Stop through XML-RPC, then SIGKILL what is provably left of NAME's tree."""
        name, supervisor, target = run.spec.name, run.supervisor(), run.target
        state = supervisor.states().get(name)
        members = []
        if state and state.pid:
            for pid in sorted(tree(target, state.pid)):
                info = target.process(pid)
                if info:
                    members.append([pid, info.started])
        run.journal_note(entry, stopped=name, members=members)
        supervisor.stop_process(name)
        lingering = _wait_gone(run, members, run.settings.stop_timeout)
        for pid, started in lingering:
            if proven_ours(target, pid, started):
                target.send_signal(pid, signal.SIGKILL)
        supervisor.remove_group(name)
        killed = f"; SIGKILLed {len(lingering)} lingering process(es)" if lingering else ""
        return f"{name} stopped ({len(members)} process(es)) and its group removed{killed}"

    def undo(self, run: Run, entry: JournalEntry) -> None:
        """Bring NAME back once the files are restored."""
        if entry.data.get("stopped"):
            run.defer(f"restore_group {run.spec.name}", _restore_group(run.spec.name))


class ApplyRemoval:
    """REMOVE 5: supervisor re-reads the config; nothing but NAME may differ.

    Idempotent: yes.
    Undo: nothing here (StopService's undo restores the group).
    """

    name = "apply"

    def check(self, run: Run) -> Plan:
        """Say supervisor re-reads the config."""
        return Plan("reloadConfig: supervisor forgets the section")

    def apply(self, run: Run, plan: Plan, entry: JournalEntry) -> str:
        """reloadConfig and refuse collateral differences."""
        _refuse_others(run.supervisor(), {run.spec.name})
        return "supervisor's config matches the disk"

    def undo(self, run: Run, entry: JournalEntry) -> None:
        """Nothing to undo."""


class VerifyGone:
    """REMOVE 6: NAME absent from supervisor, none of its processes alive, its port free.

    Idempotent: yes (reads only).
    Undo: nothing to undo.
    """

    name = "verify"

    def check(self, run: Run) -> Plan:
        """Say what will be proven."""
        return Plan(f"{run.spec.name} gone from supervisor; port {run.spec.port} free")

    def apply(self, run: Run, plan: Plan, entry: JournalEntry) -> str:
        """Prove the removal."""
        name, port = run.spec.name, run.spec.port
        if name in run.supervisor().states():
            raise StepFailed(f"{name} is still a supervisor program")
        journal = run.journal
        members = [
            m for e in (journal.entries if journal else []) for m in e.data.get("members", [])
        ]
        alive = _wait_gone(run, members, run.settings.stop_timeout)
        if alive:
            raise StepFailed(f"{name}'s process(es) still alive: {[p for p, _ in alive]}")
        if not wait_port_free(run.target, port, run.settings.stop_timeout):
            raise StepFailed(f"port {port} is still held after removing {name}")
        return f"{name} gone; no process left; port {port} free"

    def undo(self, run: Run, entry: JournalEntry) -> None:
        """Verification changes nothing."""


def _wait_gone(run: Run, members: list[list[float]], timeout: float) -> list[tuple[int, float]]:
    deadline = time.monotonic() + timeout
    while True:
        alive = [(int(p), s) for p, s in members if proven_ours(run.target, int(p), s)]
        if not alive or time.monotonic() > deadline:
            return alive
        time.sleep(0.05)
