"""Step 5 of ADD: run the service once by hand, as the seed's manual test, but checked."""

from __future__ import annotations

import posixpath
import secrets
import shlex
import signal
import time

from ..engine.journal import JournalEntry
from ..engine.step import Run
from ..errors import StepFailed
from ..host.probes import listening_ports, proven_ours, tree
from ..model import Plan
from ..target import Target

__all__ = ["SMOKE_STAMP", "SmokeTest", "stamped"]

SMOKE_STAMP = "PORTBOOK_SMOKE_STAMP"
"""Environment variable carrying the smoke run's stamp (journaled before the spawn)."""

_TAIL_LINES = 8


class SmokeTest:
    """Step 5: start NAME's command as supervisor would; it must own PORT, then stop on SIGINT.

    Same argv, cwd, environment and user as supervisor; output in
    ``logs/NAME.smoke.log``. Fails if the process exits, binds another port,
    or does not listen within ``smoke_timeout``; then SIGINT must end it
    within ``stop_timeout`` with the port released.
    Idempotent: yes (starts and stops its own process only).
    Undo: kills the smoke process tree if it is still the one it started.
    """

    name = "smoke-test"

    def check(self, run: Run) -> Plan:
        """Describe the command that will be tried (from the conf as planned)."""
        return Plan(
            f"run {run.spec.name} by hand until it listens on {run.spec.port}, "
            "then SIGINT it and require a clean exit"
        )

    def apply(self, run: Run, plan: Plan, entry: JournalEntry) -> str:
        """Start, wait for the port, stop; raise StepFailed with the log's tail on any fault."""
        run.reread()
        spec, target = run.spec, run.target
        how = run.system.program_run(spec.name, target.environ())
        log = run.settings.path(posixpath.join(run.settings.logs, f"{spec.name}.smoke.log"))
        target.makedirs(posixpath.dirname(log))
        # The stamp is journaled before the spawn: a run killed before it journals the pid
        # still leaves undo a way to find (and prove) its smoke process.
        stamp = secrets.token_hex(8)
        run.journal_note(entry, smoke_stamp=stamp, smoke_cwd=how.cwd)
        env = {**target.environ(), **how.environment, SMOKE_STAMP: stamp}
        started = time.monotonic()
        pid = target.spawn(how.argv, how.cwd, env, log, how.user)
        info = target.process(pid)
        run.journal_note(entry, smoke_pid=pid, smoke_started=info.started if info else 0.0)
        try:
            listen_s = self._wait_listening(run, pid, started, log)
            stop_s = self._stop(run, pid, log)
        except BaseException:
            _kill_tree(target, pid)
            raise
        run.notes["smoke_listen_s"] = f"{listen_s:.3f}"
        run.notes["smoke_stop_s"] = f"{stop_s:.3f}"
        return (
            f"{shlex.join(how.argv)} listened on {spec.port} after {listen_s:.2f}s, "
            f"exited {stop_s:.2f}s after SIGINT"
        )

    def undo(self, run: Run, entry: JournalEntry) -> None:
        """Kill the smoke process tree if it still runs and is provably ours."""
        pid = entry.data.get("smoke_pid")
        if pid:
            if proven_ours(run.target, pid, entry.data.get("smoke_started", 0.0)):
                _kill_tree(run.target, pid)
            return
        stamp = entry.data.get("smoke_stamp")
        if stamp:  # the run died between the spawn and journaling its pid
            for found in stamped(run.target, stamp, entry.data.get("smoke_cwd")):
                _kill_tree(run.target, found)

    def _wait_listening(self, run: Run, pid: int, started: float, log: str) -> float:
        port, target = run.spec.port, run.target
        deadline = started + run.settings.smoke_timeout
        while True:
            ports = listening_ports(target, pid)
            if port in ports:
                return time.monotonic() - started
            if ports:
                raise StepFailed(
                    _with_tail(
                        f"smoke test: {run.spec.name} listens on {sorted(ports)}, not {port}",
                        target,
                        log,
                    )
                )
            code = target.exit_code(pid)
            if code is not None:
                raise StepFailed(
                    _with_tail(
                        f"smoke test: {run.spec.name} exited with code "
                        f"{code} before listening on {port}",
                        target,
                        log,
                    )
                )
            if time.monotonic() > deadline:
                raise StepFailed(
                    _with_tail(
                        f"smoke test: {run.spec.name} not listening on {port} "
                        f"after {run.settings.smoke_timeout:g}s",
                        target,
                        log,
                    )
                )
            time.sleep(0.02)

    def _stop(self, run: Run, pid: int, log: str) -> float:
        target, port = run.target, run.spec.port
        sent = time.monotonic()
        target.send_signal(pid, signal.SIGINT)
        deadline = sent + run.settings.stop_timeout
        while target.exit_code(pid) is None or port in listening_ports(target, pid):
            if time.monotonic() > deadline:
                raise StepFailed(
                    _with_tail(
                        f"smoke test: {run.spec.name} still running "
                        f"{run.settings.stop_timeout:g}s after SIGINT",
                        target,
                        log,
                    )
                )
            time.sleep(0.02)
        if any(lst.port == port for lst in target.listeners()):
            raise StepFailed(f"smoke test: port {port} still held after {run.spec.name} exited")
        return time.monotonic() - sent


def _kill_tree(target: Target, pid: int) -> None:
    for member in sorted(tree(target, pid), reverse=True):
        target.send_signal(member, signal.SIGKILL)
    deadline = time.monotonic() + 5
    while target.exit_code(pid) is None and time.monotonic() < deadline:
        time.sleep(0.02)


def _with_tail(message: str, target: Target, log: str) -> str:
    data = target.read_optional(log) or b""
    tail = data.decode("utf-8", "replace").splitlines()[-_TAIL_LINES:]
    return message + (f" -- last lines of {log}: " + " | ".join(tail) if tail else "")


def stamped(target: Target, stamp: str, cwd: str | None) -> list[int]:
    """Pids whose environment carries ``stamp`` (only processes in ``cwd`` are read)."""
    found = []
    for info in target.all_processes():
        if cwd is not None and info.cwd != cwd:
            continue
        env = target.environ_of(info.pid)
        if env is not None and env.get(SMOKE_STAMP) == stamp:
            found.append(info.pid)
    return found
