"""supervisord through its XML-RPC socket: state, targeted group changes, start and stop.

Only the calls portbook needs; every call goes through ``Target.rpc`` so the
same code drives a local or a remote supervisord.
"""

from __future__ import annotations

import posixpath
import time
from dataclasses import dataclass
from typing import Any

from ..errors import StepFailed, TargetError
from ..registry.system import System
from ..secrets import mask_output
from ..target import SupervisorFault, Target

__all__ = ["ProgramState", "Supervisor"]

_BAD_NAME = 10  # supervisor.xmlrpc.Faults.BAD_NAME
_NOT_RUNNING = 70
_ALREADY_STARTED = 60


@dataclass(frozen=True)
class ProgramState:
    """One program as supervisor reports it."""

    name: str
    state: str
    pid: int
    started: int

    @property
    def running(self) -> bool:
        """True when supervisor says RUNNING."""
        return self.state == "RUNNING"


class Supervisor:
    """The system's supervisord, reached through its unix socket on a target."""

    def __init__(self, target: Target, system: System) -> None:
        self.target = target
        self.system = system
        self.socket = system.socket_path()

    def call(self, method: str, *args: Any) -> Any:
        """One XML-RPC call (``supervisor.getState``...)."""
        return self.target.rpc(self.socket, method, *args)

    def is_up(self) -> bool:
        """True when supervisord answers on its socket."""
        try:
            self.call("supervisor.getState")
        except TargetError:
            return False
        return True

    def pid(self) -> int:
        """supervisord's own pid."""
        return int(self.call("supervisor.getPID"))

    def states(self) -> dict[str, ProgramState]:
        """Every process supervisor manages, by name."""
        infos = self.call("supervisor.getAllProcessInfo")
        return {
            i["name"]: ProgramState(i["name"], i["statename"], int(i["pid"]), int(i["start"]))
            for i in infos
        }

    def reload_config(self) -> tuple[list[str], list[str], list[str]]:
        """Re-read the config; return the (added, changed, removed) group names."""
        added, changed, removed = self.call("supervisor.reloadConfig")[0]
        return list(added), list(changed), list(removed)

    def add_group(self, name: str) -> None:
        """Activate group ``name`` from the config (autostart starts it)."""
        self.call("supervisor.addProcessGroup", name)

    def remove_group(self, name: str) -> None:
        """Stop group ``name`` if it runs, then remove it; a missing group is fine."""
        try:
            self.call("supervisor.stopProcessGroup", name, True)
        except SupervisorFault as fault:
            if fault.fault_code not in (_BAD_NAME, _NOT_RUNNING):
                raise
        try:
            self.call("supervisor.removeProcessGroup", name)
        except SupervisorFault as fault:
            if fault.fault_code != _BAD_NAME:
                raise

    def start(self) -> None:
        """Start supervisord with the system's conf, from the root, and wait for its socket."""
        settings = self.system.settings
        argv = [*settings.supervisord.split(), "-c", self.system.main_conf.path]
        result = self.target.run(argv, cwd=settings.root, timeout=settings.start_timeout)
        if result.code != 0:
            raise StepFailed(
                f"supervisord did not start: {(result.stderr or result.stdout).strip()}"
            )
        deadline = time.monotonic() + settings.start_timeout
        while not self.is_up():
            if time.monotonic() > deadline:
                raise StepFailed(f"supervisord started but {self.socket} never answered")
            time.sleep(0.05)

    def shutdown(self, timeout: float = 30.0) -> None:
        """Ask supervisord to stop its programs and exit; wait until its socket is dead."""
        pid = self.pid()
        self.call("supervisor.shutdown")
        deadline = time.monotonic() + timeout
        while self.target.process(pid) is not None:
            if time.monotonic() > deadline:
                raise StepFailed(f"supervisord pid {pid} did not exit within {timeout:g}s")
            time.sleep(0.05)

    def stop_process(self, name: str) -> None:
        """Stop one program (supervisor's stopsignal, then SIGKILL after stopwaitsecs)."""
        try:
            self.call("supervisor.stopProcess", name, True)
        except SupervisorFault as fault:
            if fault.fault_code != _NOT_RUNNING:
                raise

    def start_process(self, name: str) -> None:
        """Start one program and let supervisor wait out its startsecs."""
        try:
            self.call("supervisor.startProcess", name, True)
        except SupervisorFault as fault:
            if fault.fault_code != _ALREADY_STARTED:
                raise

    def restore_group(self, name: str, timeout: float) -> None:
        """Make group ``name`` match the config on disk again and run it (after an undo).

        Re-reads the config; a group the config no longer has is removed, a new
        or changed one is re-added, and one that merely stopped is started.
        """
        added, changed, removed = self.reload_config()
        if name in removed:
            self.remove_group(name)
            return
        if name in changed:
            self.remove_group(name)
            added.append(name)
        if name in added:
            self.add_group(name)
        elif name in self.states() and not self.states()[name].running:
            self.start_process(name)
        if name in self.states():
            self.wait_running(name, timeout)

    def wait_running(self, name: str, timeout: float, since: float | None = None) -> ProgramState:
        """Wait until ``name`` is RUNNING; fail when it goes FATAL/EXITED/BACKOFF or times out.

        The failure names the program's error log and quotes its last line, so the
        operator sees why it did not start without opening the log. ``since`` is
        when the caller's whole wait began (``time.monotonic()``), for the message.
        """
        began = time.monotonic() if since is None else since
        deadline = time.monotonic() + timeout
        while True:
            state = self.states().get(name)
            if state and state.running:
                return state
            if state and state.state in ("FATAL", "EXITED", "STOPPED", "UNKNOWN"):
                raise StepFailed(
                    f"{name} is {state.state} in supervisor, not RUNNING{self._log_hint(name)}"
                )
            if time.monotonic() > deadline:
                now = state.state if state else "absent"
                waited = time.monotonic() - began
                raise StepFailed(
                    f"{name} not RUNNING after {waited:.0f}s ({now}){self._log_hint(name)}"
                )
            time.sleep(0.05)

    def error_log(self, name: str, lines: int = 10) -> tuple[str, list[str]]:
        """The path of ``name``'s error log (its output log when stderr is redirected) and its tail.

        ``("", [])`` when supervisor does not know the program or keeps no log for it.
        """
        try:
            info = self.call("supervisor.getProcessInfo", name)
            for key, method in (
                ("stderr_logfile", "supervisor.tailProcessStderrLog"),
                ("stdout_logfile", "supervisor.tailProcessStdoutLog"),
            ):
                text = str(self.call(method, name, 0, 4096 * lines)[0])
                if text.strip():
                    tail = mask_output(text).rstrip("\n").splitlines()[-lines:]
                    return self._log_path(info.get(key)), tail
            return self._log_path(info.get("stderr_logfile")), []
        except TargetError:
            return "", []

    def _log_path(self, path: object) -> str:
        """A log path supervisor reports, absolute (relative ones are from the system's root)."""
        if not path:
            return ""
        return posixpath.normpath(posixpath.join(self.system.settings.root, str(path)))

    def _log_hint(self, name: str) -> str:
        """``; PATH ends: LAST LINE`` for a failure message (one line), or ``""``."""
        path, tail = self.error_log(name, lines=5)
        last = next((line.strip() for line in reversed(tail) if line.strip()), "")
        if not path:
            return ""
        return f"; {path} ends: {last}" if last else f"; {path} is empty"
