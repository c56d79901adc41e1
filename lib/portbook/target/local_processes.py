"""The local host's processes and sockets: subprocess for commands, psutil for facts."""

from __future__ import annotations

import contextlib
import os
import subprocess
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import psutil

from ..errors import TargetError
from .base import Listener, ProcInfo, RunResult
from .local_errors import translated

__all__ = ["LocalProcesses"]


class LocalProcesses:
    """Commands, spawned children, signals and process facts on this machine."""

    def __init__(self) -> None:
        """No child spawned yet."""
        self._children: dict[int, subprocess.Popen[bytes]] = {}

    def run(
        self,
        argv: Sequence[str],
        cwd: str | None = None,
        env: Mapping[str, str] | None = None,
        timeout: float = 60.0,
    ) -> RunResult:
        """Run a command to completion; a non-zero exit is returned, not raised."""
        with translated(f"cannot run {argv[0]}"):
            try:
                done = subprocess.run(
                    list(argv),
                    cwd=cwd,
                    env=dict(env) if env is not None else None,
                    capture_output=True,
                    timeout=timeout,
                    stdin=subprocess.DEVNULL,
                    check=False,
                )
            except subprocess.TimeoutExpired as exc:
                raise TargetError(f"{argv[0]} did not finish within {timeout:g}s") from exc
        return RunResult(done.returncode, _text(done.stdout), _text(done.stderr))

    def spawn(
        self,
        argv: Sequence[str],
        cwd: str,
        env: Mapping[str, str],
        log_path: str,
        user: str | None = None,
    ) -> int:
        """Start a command in its own session, output appended to ``log_path``; return its pid."""
        with translated(f"cannot start {argv[0]}"), open(log_path, "ab") as log:
            child = subprocess.Popen(
                list(argv),
                cwd=cwd,
                env=dict(env),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                user=user if user and os.geteuid() == 0 else None,
            )
        self._children[child.pid] = child
        return child.pid

    def exit_code(self, pid: int) -> int | None:
        """The exit code of a process this target spawned, None while it runs."""
        child = self._children.get(pid)
        if child is None:
            return None if psutil.pid_exists(pid) else 0
        return child.poll()

    def listeners(self) -> list[Listener]:
        """Every TCP socket listening on this host."""
        with translated("cannot list sockets"):
            conns = psutil.net_connections(kind="tcp")
        return [
            Listener(port=c.laddr.port, pid=c.pid or 0, address=c.laddr.ip)
            for c in conns
            if c.status == psutil.CONN_LISTEN and c.laddr
        ]

    def listeners_of(self, pids: Iterable[int]) -> list[Listener]:
        """TCP sockets listening in the given processes only (cheaper than ``listeners``)."""
        found: list[Listener] = []
        for pid in pids:
            try:
                conns = psutil.Process(pid).net_connections(kind="tcp")
            except psutil.Error:
                continue
            found.extend(
                Listener(port=c.laddr.port, pid=pid, address=c.laddr.ip)
                for c in conns
                if c.status == psutil.CONN_LISTEN and c.laddr
            )
        return found

    def process(self, pid: int) -> ProcInfo | None:
        """Facts about a live process, or None when it is gone."""
        try:
            proc = psutil.Process(pid)
            with proc.oneshot():
                if proc.status() == psutil.STATUS_ZOMBIE:
                    return None
                return ProcInfo(
                    pid=pid,
                    ppid=proc.ppid(),
                    cmdline=tuple(proc.cmdline()),
                    cwd=_safe(proc.cwd),
                    user=_safe(proc.username),
                    started=proc.create_time(),
                )
        except psutil.Error:
            return None

    def descendants(self, pid: int) -> list[int]:
        """Pids of every live descendant of ``pid``."""
        try:
            return [p.pid for p in psutil.Process(pid).children(recursive=True)]
        except psutil.Error:
            return []

    def send_signal(self, pid: int, signum: int) -> None:
        """Signal one process; a process already gone is not an error."""
        with translated(f"cannot signal pid {pid}"):
            try:
                os.kill(pid, signum)
            except ProcessLookupError:
                return
        child = self._children.get(pid)
        if child is not None:
            child.poll()

    def environ(self) -> dict[str, str]:
        """The environment processes started on this host inherit."""
        return dict(os.environ)

    def all_processes(self) -> list[ProcInfo]:
        """Facts about every live process on this host (any that vanish meanwhile left out)."""
        found = []
        for proc in psutil.process_iter():
            info = self.process(proc.pid)
            if info is not None:
                found.append(info)
        return found

    def environ_of(self, pid: int) -> dict[str, str] | None:
        """The environment ``pid`` was started with, or None when it is gone or unreadable."""
        try:
            return dict(psutil.Process(pid).environ())
        except psutil.Error:
            return None

    def own_pids(self) -> set[int]:
        """This process and every ancestor: portbook never signals its own chain."""
        pids = {os.getpid()}
        with contextlib.suppress(psutil.Error):
            pids.update(p.pid for p in psutil.Process().parents())
        return pids


def _safe(getter: Any) -> str:
    try:
        return str(getter())
    except psutil.Error:
        return ""


def _text(data: bytes | None) -> str:
    return (data or b"").decode("utf-8", "replace")
