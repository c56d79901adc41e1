"""Steps 6 and 7 of ADD: put NAME under supervisor without touching anything else, then prove it."""

from __future__ import annotations

import time
from collections.abc import Mapping

from ..engine.journal import JournalEntry
from ..engine.step import Run
from ..errors import CollateralChange, StepFailed
from ..host.probes import owns_port, wait_port_free
from ..host.supervisor import ProgramState
from ..model import Plan
from .restart import master_restart

__all__ = ["ApplyToSupervisor", "VerifyOwnership"]


class ApplyToSupervisor:
    """Step 6: ``reloadConfig`` then ``addProcessGroup NAME`` (or a master restart if asked).

    Targeted mode refuses when supervisor's diff names any other group: the
    disk and the running config disagree about something portbook was not
    asked to change. Starts supervisord first when it is not running.
    Idempotent: no (adding an active group is refused before any change).
    Undo: stop and remove NAME's group; or shut down the supervisord this step
    started; after a master restart, restart again once the files are restored.
    """

    name = "apply"

    def check(self, run: Run) -> Plan:
        """Say which programs supervisor will start, stop or restart."""
        name = run.spec.name
        if run.before is None:
            return Plan(
                f"start supervisord (not running): every program starts, {name} among them",
                programs=(name,),
            )
        if run.restart == "master":
            everyone = tuple(sorted({*run.before, name}))
            return Plan(
                "master restart: stop supervisord, stop strays on the system's "
                "ports, start, wait for every program",
                programs=everyone,
            )
        return Plan(
            f"reloadConfig, then addProcessGroup {name}: only {name} starts", programs=(name,)
        )

    def apply(self, run: Run, plan: Plan, entry: JournalEntry) -> str:
        """Apply the new config to supervisord and wait for NAME to be RUNNING."""
        run.reread()
        supervisor, name = run.supervisor(), run.spec.name
        timeout = run.settings.start_timeout
        if not supervisor.is_up():
            run.journal_note(entry, started_supervisord=True)
            supervisor.start()
            state = supervisor.wait_running(name, timeout)
            return f"started supervisord; {name} RUNNING as pid {state.pid}"
        if run.restart == "master":
            run.journal_note(entry, master_restart=True)
            master_restart(run.target, run.system, timeout)
            state = supervisor.wait_running(name, timeout)
            return f"master restart done; {name} RUNNING as pid {state.pid}"
        run.journal_note(entry, group=name)
        added, changed, removed = supervisor.reload_config()
        others = _others(name, added, changed, removed)
        if others:
            raise CollateralChange(
                f"supervisor would also change other groups ({others}); "
                "apply those first, or use --restart master"
            )
        supervisor.add_group(name)
        state = supervisor.wait_running(name, timeout)
        return f"reloadConfig + addProcessGroup {name}: RUNNING as pid {state.pid}"

    def undo(self, run: Run, entry: JournalEntry) -> None:
        """Take NAME back out of supervisor, or stop what this step started."""
        supervisor = run.supervisor()
        if not supervisor.is_up():
            return
        if entry.data.get("started_supervisord"):
            supervisor.shutdown(run.settings.start_timeout)
        elif entry.data.get("master_restart"):
            supervisor.shutdown(run.settings.start_timeout)
            run.defer(
                "master_restart",
                lambda now: master_restart(now.target, now.system, now.settings.start_timeout),
            )
        elif entry.data.get("group"):
            supervisor.remove_group(entry.data["group"])


class VerifyOwnership:
    """Step 7: NAME RUNNING, its pid (or a descendant) owns PORT, every other pid unchanged.

    Idempotent: yes (reads only).
    Undo: nothing to undo.
    """

    name = "verify"

    def check(self, run: Run) -> Plan:
        """Say what will be proven."""
        ours = {run.spec.name, run.spec.previous_name}
        others = len([s for s in (run.before or {}).values() if s.running and s.name not in ours])
        return Plan(
            f"{run.spec.name} RUNNING and owning port {run.spec.port}; "
            f"{others} other running program(s) keep their pids"
        )

    def apply(self, run: Run, plan: Plan, entry: JournalEntry) -> str:
        """Prove ownership and zero collateral; raise StepFailed naming what is wrong."""
        spec, target = run.spec, run.target
        supervisor = run.supervisor()
        state = supervisor.states().get(spec.name)
        if state is None or not state.running:
            raise StepFailed(f"{spec.name} is {state.state if state else 'absent'} in supervisor")
        deadline = time.monotonic() + run.settings.smoke_timeout
        while not owns_port(target, state.pid, spec.port):
            if time.monotonic() > deadline:
                raise StepFailed(f"pid {state.pid} ({spec.name}) does not listen on {spec.port}")
            time.sleep(0.05)
        now = supervisor.states()
        moved = _moved(run, now)
        if moved:
            raise StepFailed(f"other programs changed: {moved}")
        if spec.previous_name and spec.previous_name != spec.name and spec.previous_name in now:
            raise StepFailed(f"{spec.previous_name} is still a supervisor program")
        old, timeout = spec.previous_port, run.settings.stop_timeout
        if old and old != spec.port and not wait_port_free(run.target, old, timeout):
            raise StepFailed(f"old port {old} is still held after moving {spec.name}")
        moved = f" ({spec.port_move}, {old} now free)" if old and old != spec.port else ""
        return f"{spec.name} pid {state.pid} owns port {spec.port}{moved}; other pids unchanged"

    def undo(self, run: Run, entry: JournalEntry) -> None:
        """Verification changes nothing."""


def _others(name: str, added: list[str], changed: list[str], removed: list[str]) -> str:
    parts = [
        f"{label} {', '.join(sorted(groups))}"
        for label, groups in (
            ("added", [g for g in added if g != name]),
            ("changed", changed),
            ("removed", removed),
        )
        if groups
    ]
    return "; ".join(parts)


def _moved(run: Run, now: Mapping[str, ProgramState]) -> str:
    if run.restart == "master" or run.before is None:
        return ""
    moved = []
    ours = {run.spec.name, run.spec.previous_name}
    for name, before in run.before.items():
        if name in ours:
            continue
        after = now.get(name)
        if before.running and (after is None or after.pid != before.pid):
            moved.append(f"{name} pid {before.pid} -> {after.pid if after else 'gone'}")
    return ", ".join(moved)
