"""An in-memory Target for unit tests: files, sockets, processes and supervisord, all scripted.

Nothing here touches the host. The filesystem is :mod:`.fake_files`, the process table
and sockets :mod:`.fake_processes`; this module adds commands, spawning, signals,
supervisord and the lock. Files are a dict ``path -> (bytes, mode)``;
folders are implied by files or made with ``makedirs``, and writing into a
missing folder fails as it would on disk. Listeners and processes are plain
lists and dicts a test fills in. supervisord is whatever callable the test
puts in ``rpc_handler`` (None means nothing answers on the socket). Every
command run, process spawned, signal sent and XML-RPC call made is recorded
so a test can assert on it.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import posixpath
import signal as _signal
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..errors import Locked, TargetError
from .base import RunResult, Target, read_each
from .fake_files import FakeFiles
from .fake_processes import FakeProcesses

__all__ = ["FakeFiles", "FakeProcesses", "FakeTarget", "RpcCall", "SpawnRecord"]

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
class FakeTarget(FakeProcesses, FakeFiles):
    """A host held in memory, implementing the ``Target`` protocol.

    The files are :class:`FakeFiles`, the processes and sockets :class:`FakeProcesses`.
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
    env: dict[str, str] = field(default_factory=lambda: {"PATH": "/usr/bin:/bin"})
    rpc_handler: RpcHandler | None = None
    run_handler: RunHandler | None = None
    on_spawn: Callable[[FakeTarget, SpawnRecord], None] | None = None
    on_signal: Callable[[FakeTarget, int, int], None] | None = None
    spawned: list[SpawnRecord] = field(default_factory=list)
    signals: list[tuple[int, int]] = field(default_factory=list)
    commands: list[tuple[str, ...]] = field(default_factory=list)
    rpc_calls: list[RpcCall] = field(default_factory=list)
    lock_holder: tuple[int, str] | None = None
    locks_taken: list[str] = field(default_factory=list)
    lock_poll: float = 0.01
    _pids: Iterator[int] = field(default_factory=lambda: itertools.count(40000), repr=False)

    def read_many(self, paths: Sequence[str]) -> dict[str, bytes | None]:
        """Each path's bytes; None when it is missing or cannot be read."""
        return read_each(self, paths)

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


def _conforms(fake: FakeTarget) -> Target:
    """Type-check only: FakeTarget satisfies the Target protocol."""
    return fake
