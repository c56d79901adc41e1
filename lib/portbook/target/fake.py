"""An in-memory Target for unit tests: files, sockets, processes and supervisord, all scripted.

Nothing here touches the host. Files are a dict ``path -> (bytes, mode)``;
folders are implied by files or made with ``makedirs``, and writing into a
missing folder fails as it would on disk. Listeners and processes are plain
lists and dicts a test fills in. supervisord is whatever callable the test
puts in ``rpc_handler`` (None means nothing answers on the socket). Every
command run, process spawned, signal sent and XML-RPC call made is recorded
so a test can assert on it.
"""

from __future__ import annotations

import contextlib
import fnmatch
import itertools
import os
import posixpath
import signal as _signal
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..errors import Locked, TargetError
from .base import Listener, ProcInfo, RunResult, Target, read_each

__all__ = ["FakeTarget", "RpcCall", "SpawnRecord"]

RpcHandler = Callable[[str, tuple[Any, ...]], Any]
"""Answers one XML-RPC call: ``(method, args) -> result``; raise SupervisorFault for a fault."""

RunHandler = Callable[[tuple[str, ...]], RunResult]
"""Answers one ``run``: ``argv -> RunResult``."""

_ENDING = (_signal.SIGINT, _signal.SIGTERM, _signal.SIGKILL)


@dataclass(frozen=True)
class SpawnRecord:
    """One ``spawn`` call as the fake saw it, with the pid it handed out."""

    pid: int
    argv: tuple[str, ...]
    cwd: str
    env: dict[str, str]
    log_path: str
    user: str | None


@dataclass(frozen=True)
class RpcCall:
    """One XML-RPC call: the socket it went to, the method and its arguments."""

    socket_path: str
    method: str
    args: tuple[Any, ...]


@dataclass
class FakeTarget:
    """A host held in memory, implementing the ``Target`` protocol.

    ``files`` maps absolute paths to ``(bytes, mode)``. ``processes`` maps pids
    to ``ProcInfo`` (``descendants`` follows their ``ppid``). ``exit_codes``
    holds the codes of processes that ended. ``rpc_handler`` plays supervisord;
    ``run_handler`` answers ``run`` (default: exit 0, no output); ``on_spawn``
    is called after each ``spawn`` so a test can make the new process listen,
    exit or write its log. A signal that ends a process (INT, TERM, KILL) ends
    a fake process unless ``on_signal`` is set, in which case it decides.
    Paths in ``fail_writes`` raise ``TargetError`` on write, append or remove.
    ``process_env`` holds each fake process's environment; ``own`` the pids
    ``own_pids`` reports as portbook's own chain.
    ``lock_holder`` (``(pid, since)``) is whoever holds the root's lock; a test
    sets it to play another run: ``hold_lock`` then refuses, or with ``wait``
    polls until it is cleared. ``locks_taken`` lists every folder locked.
    """

    host: str = "fake"
    files: dict[str, tuple[bytes, int]] = field(default_factory=dict)
    dirs: set[str] = field(default_factory=set)
    listening: list[Listener] = field(default_factory=list)
    processes: dict[int, ProcInfo] = field(default_factory=dict)
    exit_codes: dict[int, int] = field(default_factory=dict)
    env: dict[str, str] = field(default_factory=lambda: {"PATH": "/usr/bin:/bin"})
    rpc_handler: RpcHandler | None = None
    run_handler: RunHandler | None = None
    on_spawn: Callable[[FakeTarget, SpawnRecord], None] | None = None
    on_signal: Callable[[FakeTarget, int, int], None] | None = None
    fail_writes: set[str] = field(default_factory=set)
    spawned: list[SpawnRecord] = field(default_factory=list)
    signals: list[tuple[int, int]] = field(default_factory=list)
    commands: list[tuple[str, ...]] = field(default_factory=list)
    rpc_calls: list[RpcCall] = field(default_factory=list)
    writes: list[str] = field(default_factory=list)
    lock_holder: tuple[int, str] | None = None
    locks_taken: list[str] = field(default_factory=list)
    lock_poll: float = 0.01
    process_env: dict[int, dict[str, str]] = field(default_factory=dict)
    own: set[int] = field(default_factory=set)
    _pids: Iterator[int] = field(default_factory=lambda: itertools.count(40000), repr=False)

    # --- helpers for tests ---------------------------------------------------------------

    def put(self, path: str, data: bytes | str, mode: int = 0o644) -> None:
        """Create or replace a file directly (not recorded in ``writes``)."""
        raw = data.encode() if isinstance(data, str) else data
        self.files[posixpath.normpath(path)] = (raw, mode)

    def text(self, path: str) -> str | None:
        """A file's contents as UTF-8 text, or None when it does not exist."""
        raw = self.read_optional(path)
        return None if raw is None else raw.decode("utf-8")

    def snapshot(self) -> dict[str, tuple[bytes, int]]:
        """A copy of every file and its mode, to compare before and after."""
        return dict(self.files)

    def add_process(
        self,
        pid: int,
        cmdline: Sequence[str],
        *,
        ppid: int = 1,
        cwd: str = "/",
        user: str = "app",
        started: float = 1_700_000_000.0,
    ) -> ProcInfo:
        """Register a live process and return its ``ProcInfo``."""
        info = ProcInfo(pid, ppid, tuple(cmdline), cwd, user, started)
        self.processes[pid] = info
        return info

    def listen(self, port: int, pid: int, address: str = "127.0.0.1") -> Listener:
        """Make ``pid`` listen on ``port``."""
        listener = Listener(port, pid, address)
        self.listening.append(listener)
        return listener

    def end_process(self, pid: int, code: int) -> None:
        """A process exits with ``code``: it and its sockets are gone."""
        self.processes.pop(pid, None)
        self.listening = [lst for lst in self.listening if lst.pid != pid]
        self.exit_codes[pid] = code

    # --- the Target protocol ---------------------------------------------------------------

    def read_optional(self, path: str) -> bytes | None:
        """The file's bytes, or None when it does not exist."""
        found = self.files.get(posixpath.normpath(path))
        if found is None and self._is_dir(path):
            raise TargetError(f"cannot read {path}: Is a directory")
        return None if found is None else found[0]

    def write_atomic(self, path: str, data: bytes, mode: int | None = None) -> None:
        """Replace the file in one step, keeping its mode unless ``mode`` is given (new: 0644)."""
        path = posixpath.normpath(path)
        if path in self.fail_writes:
            raise TargetError(f"cannot write {path}: injected failure")
        if not self._is_dir(posixpath.dirname(path)):
            raise TargetError(f"cannot write {path}: No such file or directory")
        if mode is None:
            old = self.files.get(path)
            mode = old[1] if old is not None else 0o644
        self.files[path] = (bytes(data), mode)
        self.writes.append(path)

    def remove(self, path: str) -> None:
        """Delete a file; a missing file is not an error."""
        path = posixpath.normpath(path)
        if path in self.fail_writes:
            raise TargetError(f"cannot remove {path}: injected failure")
        self.files.pop(path, None)

    def file_mode(self, path: str) -> int | None:
        """The permission bits of ``path``, or None when it does not exist."""
        found = self.files.get(posixpath.normpath(path))
        return None if found is None else found[1]

    def makedirs(self, path: str) -> None:
        """Create a folder and its parents; existing is fine."""
        path = posixpath.normpath(path)
        if path in self.files:
            raise TargetError(f"cannot create {path}: File exists")
        self.dirs.add(path)

    def tree(
        self, root: str, skip_names: frozenset[str], skip_paths: frozenset[str], max_depth: int
    ) -> list[str]:
        """Every file under ``root`` (hidden names and the skipped folders left out), sorted."""
        root = posixpath.normpath(root)
        found = []
        for path in self.files:
            if not path.startswith(root.rstrip("/") + "/"):
                continue
            parts = path[len(root.rstrip("/")) + 1 :].split("/")
            folders = [
                root.rstrip("/") + "/" + "/".join(parts[: i + 1]) for i in range(len(parts) - 1)
            ]
            if (
                any(part.startswith(".") for part in parts)
                or any(part in skip_names for part in parts[:-1])
                or any(folder in skip_paths for folder in folders)
                or len(parts) - 1 > max_depth
            ):
                continue
            found.append(path)
        return sorted(found)

    def read_many(self, paths: Sequence[str]) -> dict[str, bytes | None]:
        """Each path's bytes; None when it is missing or cannot be read."""
        return read_each(self, paths)

    def glob(self, pattern: str) -> list[str]:
        """Sorted files matching a shell pattern (``*`` does not cross ``/``)."""
        parts = posixpath.normpath(pattern).split("/")
        return sorted(
            path
            for path in self.files
            if len(path.split("/")) == len(parts)
            and all(fnmatch.fnmatchcase(p, q) for p, q in zip(path.split("/"), parts, strict=True))
        )

    def run(
        self,
        argv: Sequence[str],
        cwd: str | None = None,
        env: Mapping[str, str] | None = None,
        timeout: float = 60.0,
    ) -> RunResult:
        """Record the command; answer with ``run_handler`` or exit 0 and no output."""
        command = tuple(argv)
        self.commands.append(command)
        if self.run_handler is None:
            return RunResult(0, "", "")
        return self.run_handler(command)

    def spawn(
        self,
        argv: Sequence[str],
        cwd: str,
        env: Mapping[str, str],
        log_path: str,
        user: str | None = None,
    ) -> int:
        """Record a new live process (then call ``on_spawn``); return its pid."""
        pid = next(self._pids)
        record = SpawnRecord(pid, tuple(argv), cwd, dict(env), log_path, user)
        self.spawned.append(record)
        self.add_process(pid, argv, cwd=cwd, user=user or "app", started=time.time())
        if self.on_spawn is not None:
            self.on_spawn(self, record)
        return pid

    def exit_code(self, pid: int) -> int | None:
        """The code a process ended with, None while it is alive (unknown pids: 0)."""
        if pid in self.exit_codes:
            return self.exit_codes[pid]
        return None if pid in self.processes else 0

    def listeners(self) -> list[Listener]:
        """Every listener a test registered."""
        return list(self.listening)

    def listeners_of(self, pids: Iterable[int]) -> list[Listener]:
        """The registered listeners held by the given pids."""
        wanted = set(pids)
        return [lst for lst in self.listening if lst.pid in wanted]

    def process(self, pid: int) -> ProcInfo | None:
        """Facts about a live process, or None when it is gone."""
        return self.processes.get(pid)

    def descendants(self, pid: int) -> list[int]:
        """Pids of every live descendant of ``pid``, by ``ppid``."""
        found: list[int] = []
        frontier = [pid]
        while frontier:
            parent = frontier.pop()
            children = [p for p, info in self.processes.items() if info.ppid == parent]
            found.extend(children)
            frontier.extend(children)
        return sorted(found)

    def send_signal(self, pid: int, signum: int) -> None:
        """Record the signal; INT, TERM and KILL end a live fake process unless scripted."""
        self.signals.append((pid, signum))
        if self.on_signal is not None:
            self.on_signal(self, pid, signum)
        elif signum in _ENDING and pid in self.processes:
            self.end_process(pid, -signum)

    def rpc(self, socket_path: str, method: str, *args: Any) -> Any:
        """Record the call and answer it with ``rpc_handler``; no handler means no answer."""
        self.rpc_calls.append(RpcCall(socket_path, method, args))
        if self.rpc_handler is None:
            raise TargetError(f"supervisord at {socket_path} did not answer: no such socket")
        return self.rpc_handler(method, args)

    def environ(self) -> dict[str, str]:
        """The environment processes started on this host inherit."""
        return dict(self.env)

    @contextlib.contextmanager
    def hold_lock(self, folder: str, info_path: str, wait: bool) -> Iterator[None]:
        """Hold the fake lock for the block; refuse (or wait) while ``lock_holder`` is set.

        While held, ``lock_holder`` is this process and ``"PID TIME"`` sits in
        ``info_path`` as on a real host; it and its folder (when empty) are
        removed on release.
        """
        while self.lock_holder is not None:
            if not wait:
                pid, since = self.lock_holder
                raise Locked(f"{folder}: locked by pid {pid} since {since}")
            time.sleep(self.lock_poll)
        stamp = time.strftime("%Y-%m-%dT%H:%M:%S%z")
        self.lock_holder = (os.getpid(), stamp)
        self.locks_taken.append(folder)
        try:
            self.makedirs(posixpath.dirname(info_path))
            self.write_atomic(info_path, f"{os.getpid()} {stamp}\n".encode())
            try:
                yield
            finally:
                self.remove(info_path)
                self.remove_empty_dir(posixpath.dirname(info_path))
        finally:
            self.lock_holder = None

    def remove_empty_dir(self, path: str) -> None:
        """Forget a folder made with ``makedirs`` if no file or folder lies inside it."""
        path = posixpath.normpath(path)
        prefix = path.rstrip("/") + "/"
        if not any(name.startswith(prefix) for name in (*self.files, *self.dirs)):
            self.dirs.discard(path)

    def append_bytes(self, path: str, data: bytes) -> None:
        """Append to a file (created 0640 when missing); ``fail_writes`` paths raise."""
        path = posixpath.normpath(path)
        if path in self.fail_writes:
            raise TargetError(f"cannot append to {path}: injected failure")
        if not self._is_dir(posixpath.dirname(path)):
            raise TargetError(f"cannot append to {path}: No such file or directory")
        old, mode = self.files.get(path, (b"", 0o640))
        self.files[path] = (old + bytes(data), mode)
        self.writes.append(path)

    def all_processes(self) -> list[ProcInfo]:
        """Every registered live process."""
        return list(self.processes.values())

    def environ_of(self, pid: int) -> dict[str, str] | None:
        """What ``process_env`` holds for a live ``pid`` ({} when the test set none)."""
        if pid not in self.processes:
            return None
        return dict(self.process_env.get(pid, {}))

    def own_pids(self) -> set[int]:
        """The pids a test marked as portbook's own chain (``own``)."""
        return set(self.own)

    def _is_dir(self, path: str) -> bool:
        path = posixpath.normpath(path)
        if path == "/" or path in self.dirs:
            return True
        prefix = path.rstrip("/") + "/"
        return any(name.startswith(prefix) for name in (*self.files, *self.dirs))


def _conforms(fake: FakeTarget) -> Target:
    """Type-check only: FakeTarget satisfies the Target protocol."""
    return fake
