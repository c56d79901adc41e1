"""The local host as a Target: pathlib-style file I/O, subprocess and psutil."""

from __future__ import annotations

import contextlib
import fcntl
import glob as globmod
import os
import socket
import subprocess
import time
import xmlrpc.client
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

import psutil

from ..errors import Locked, TargetError
from . import ssh_remote_files as files
from .base import Listener, ProcInfo, RunResult, SupervisorFault, read_each

__all__ = ["LocalTarget"]


@contextlib.contextmanager
def _translated(action: str) -> Iterator[None]:
    """Turn OS and psutil errors into TargetError naming the action."""
    try:
        yield
    except OSError as exc:
        raise TargetError(f"{action}: {exc.strerror or exc}") from exc
    except psutil.Error as exc:
        raise TargetError(f"{action}: {exc}") from exc


class LocalTarget:
    """The machine portbook runs on."""

    def __init__(self) -> None:
        self.host = "local"
        self._children: dict[int, subprocess.Popen[bytes]] = {}

    def read_optional(self, path: str) -> bytes | None:
        """The file's bytes, or None when it does not exist."""
        with _translated(f"cannot read {path}"):
            return files.read_file(path)

    def write_atomic(self, path: str, data: bytes, mode: int | None = None) -> None:
        """Write a temp file beside ``path``, fsync it, rename it over; keep mode and owner."""
        with _translated(f"cannot write {path}"):
            files.write_atomic(path, data, mode)

    def remove(self, path: str) -> None:
        """Delete a file; a missing file is not an error."""
        with _translated(f"cannot remove {path}"):
            files.remove_file(path)

    def file_mode(self, path: str) -> int | None:
        """The permission bits of ``path``, or None when it does not exist."""
        with _translated(f"cannot stat {path}"):
            return files.file_mode(path)

    def makedirs(self, path: str) -> None:
        """Create a folder and its parents; existing is fine."""
        with _translated(f"cannot create {path}"):
            files.makedirs(path)

    def tree(
        self, root: str, skip_names: frozenset[str], skip_paths: frozenset[str], max_depth: int
    ) -> list[str]:
        """Every file under ``root`` (hidden names and the skipped folders left out), sorted."""
        return files.tree_files(root, sorted(skip_names), sorted(skip_paths), max_depth)

    def read_many(self, paths: Sequence[str]) -> dict[str, bytes | None]:
        """Each path's bytes; None when it is missing or cannot be read."""
        return read_each(self, paths)

    def glob(self, pattern: str) -> list[str]:
        """Sorted paths matching a shell pattern."""
        return sorted(globmod.glob(pattern))

    def run(
        self,
        argv: Sequence[str],
        cwd: str | None = None,
        env: Mapping[str, str] | None = None,
        timeout: float = 60.0,
    ) -> RunResult:
        """Run a command to completion; a non-zero exit is returned, not raised."""
        with _translated(f"cannot run {argv[0]}"):
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
        with _translated(f"cannot start {argv[0]}"), open(log_path, "ab") as log:
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
        with _translated("cannot list sockets"):
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
        with _translated(f"cannot signal pid {pid}"):
            try:
                os.kill(pid, signum)
            except ProcessLookupError:
                return
        child = self._children.get(pid)
        if child is not None:
            child.poll()

    def rpc(self, socket_path: str, method: str, *args: Any) -> Any:
        """Call supervisord's XML-RPC interface over its unix socket."""
        proxy = xmlrpc.client.ServerProxy("http://127.0.0.1", transport=_UnixTransport(socket_path))
        try:
            return getattr(proxy, method)(*args)
        except xmlrpc.client.Fault as exc:
            raise SupervisorFault(exc.faultCode, exc.faultString) from exc
        except (OSError, xmlrpc.client.ProtocolError) as exc:
            raise TargetError(f"supervisord at {socket_path} did not answer: {exc}") from exc

    def environ(self) -> dict[str, str]:
        """The environment processes started on this host inherit."""
        return dict(os.environ)

    @contextlib.contextmanager
    def hold_lock(self, folder: str, info_path: str, wait: bool) -> Iterator[None]:
        """flock ``folder`` for the block; "PID TIME" goes to ``info_path`` while held.

        Locking the folder itself (not a lock file) means a refused or finished
        run leaves no file behind; the info file and its empty parent are removed
        on release.
        """
        with _translated(f"cannot lock {folder}"):
            fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
        try:
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if not wait:
                        raise Locked(_lock_holder(folder, info_path)) from None
                    time.sleep(0.2)
            stamp = time.strftime("%Y-%m-%dT%H:%M:%S%z")
            self.makedirs(os.path.dirname(info_path))
            self.write_atomic(info_path, f"{os.getpid()} {stamp}\n".encode())
            try:
                yield
            finally:
                self.remove(info_path)
                self.remove_empty_dir(os.path.dirname(info_path))
        finally:
            os.close(fd)

    def remove_empty_dir(self, path: str) -> None:
        """Remove a folder if it is empty; a missing or non-empty folder is left as it is."""
        files.remove_empty_dir(path)

    def append_bytes(self, path: str, data: bytes) -> None:
        """Append ``data`` to ``path`` (created 0640 when missing) in one write, then fsync."""
        with _translated(f"cannot append to {path}"):
            files.append_bytes(path, data)

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


class _UnixTransport(xmlrpc.client.Transport):
    """HTTP over a unix socket, as supervisorctl talks to supervisord."""

    def __init__(self, socket_path: str) -> None:
        super().__init__()
        self._socket_path = socket_path

    def make_connection(self, host: Any) -> Any:
        import http.client

        path = self._socket_path

        class _Conn(http.client.HTTPConnection):
            def connect(self) -> None:
                self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                self.sock.settimeout(30)
                self.sock.connect(path)

        return _Conn("localhost")


def _lock_holder(folder: str, info_path: str) -> str:
    deadline = time.monotonic() + 1.0  # the holder writes its pid just after it takes the lock
    while True:
        try:
            with open(info_path, "rb") as handle:
                words = handle.read(200).decode(errors="replace").split()
        except OSError:
            words = []
        if len(words) >= 2:
            return f"{folder}: locked by pid {words[0]} since {words[1]}"
        if time.monotonic() > deadline:
            return f"{folder}: locked by another portbook run"
        time.sleep(0.02)


def _safe(getter: Any) -> str:
    try:
        return str(getter())
    except psutil.Error:
        return ""


def _text(data: bytes | None) -> str:
    return (data or b"").decode("utf-8", "replace")
