"""SshTarget's remote calls: spawn, exit codes, signals, sockets, process facts, XML-RPC.

A mixin, so ``ssh.py`` stays about the connection: every method here is one
request to the host's Python through ``_call`` and turns the JSON reply into
the protocol's types. ``_call`` and ``_translated`` are SshTarget's: errors are
translated there, in one place.
"""

from __future__ import annotations

import base64
import xmlrpc.client
from collections.abc import Iterable, Mapping, Sequence
from contextlib import AbstractContextManager
from typing import Any

from ..errors import TargetError
from .base import Listener, ProcInfo, SupervisorFault

__all__ = ["RPC_TIMEOUT", "RemoteCalls", "env_json"]

RPC_TIMEOUT = 60.0
READ_BATCH = 200
"""Files one ``read_many`` call carries (a reply is one JSON line with their bytes)."""
"""Seconds supervisord may take to answer one XML-RPC call (``stopProcess`` waits)."""


class RemoteCalls:
    """The process, socket and supervisord half of the Target protocol, over ``_call``."""

    host: str
    _spawned: dict[int, tuple[str, int]]
    _exited: dict[int, int]
    _locks: dict[int, Any]

    def _call(self, op: str, action: str, budget: float = 0.0, **args: Any) -> Any:
        """One request on the host; its reply (TargetError naming ``action`` on failure)."""
        raise NotImplementedError

    def _translated(self, action: str) -> AbstractContextManager[None]:
        """Foreign errors inside become TargetError naming ``action`` (SshTarget's)."""
        raise NotImplementedError

    def _load_facts(self) -> dict[str, Any]:
        """What the host's Python said about itself at connect (SshTarget's)."""
        raise NotImplementedError

    def spawn(
        self,
        argv: Sequence[str],
        cwd: str,
        env: Mapping[str, str],
        log_path: str,
        user: str | None = None,
    ) -> int:
        """Start a command in its own session, output appended to ``log_path``; return its pid."""
        args: dict[str, Any] = {"argv": list(argv), "cwd": cwd, "env": env_json(env)}
        args.update(log=log_path, user=user)
        started = self._call("spawn", f"cannot start {argv[0]}", **args)
        pid = int(started["pid"])
        self._spawned[pid] = (str(started["dir"]), int(started["waiter"]))
        return pid

    def exit_code(self, pid: int) -> int | None:
        """The exit code of a process this target spawned, None while it runs."""
        if pid in self._exited:
            return self._exited[pid]
        folder, waiter = self._spawned.get(pid, (None, None))
        code = self._call(
            "exit_code", f"cannot check pid {pid}", pid=pid, dir=folder, waiter=waiter
        )
        if code is not None and folder is not None:
            self._exited[pid] = int(code)
            del self._spawned[pid]
        return None if code is None else int(code)

    def listeners(self) -> list[Listener]:
        """Every TCP socket listening on this host (in its network namespace)."""
        rows = self._call("listeners", "cannot list sockets", pids=None)
        return [Listener(int(port), int(pid), str(addr)) for port, pid, addr in rows]

    def listeners_of(self, pids: Iterable[int]) -> list[Listener]:
        """TCP sockets listening in the given processes only."""
        wanted = sorted(set(pids))
        if not wanted:
            return []
        rows = self._call("listeners", "cannot list sockets", pids=wanted)
        return [Listener(int(port), int(pid), str(addr)) for port, pid, addr in rows]

    def process(self, pid: int) -> ProcInfo | None:
        """Facts about a live process, or None when it is gone."""
        info = self._call("process", f"cannot inspect pid {pid}", pid=pid)
        return None if info is None else _proc_info(info)

    def descendants(self, pid: int) -> list[int]:
        """Pids of every live descendant of ``pid``."""
        return [
            int(p) for p in self._call("descendants", f"cannot list children of {pid}", pid=pid)
        ]

    def all_processes(self) -> list[ProcInfo]:
        """Facts about every live process on this host (any that vanish meanwhile left out)."""
        return [_proc_info(i) for i in self._call("all_processes", "cannot list processes")]

    def environ_of(self, pid: int) -> dict[str, str] | None:
        """The environment ``pid`` was started with, or None when it is gone or unreadable."""
        found = self._call("environ_of", f"cannot read the environment of {pid}", pid=pid)
        return None if found is None else {str(k): str(v) for k, v in found.items()}

    def tree(
        self, root: str, skip_names: frozenset[str], skip_paths: frozenset[str], max_depth: int
    ) -> list[str]:
        """Every file under ``root`` (hidden names and the skipped folders left out): one call."""
        found = self._call(
            "tree",
            f"cannot list {root}",
            root=root,
            skip_names=sorted(skip_names),
            skip_paths=sorted(skip_paths),
            max_depth=max_depth,
        )
        return sorted(str(p) for p in found)

    def read_many(self, paths: Sequence[str]) -> dict[str, bytes | None]:
        """Each path's bytes (None: missing or unreadable), READ_BATCH paths per call."""
        found: dict[str, bytes | None] = {}
        for start in range(0, len(paths), READ_BATCH):
            batch = list(paths[start : start + READ_BATCH])
            reply = self._call("read_many", f"cannot read {batch[0]}", paths=batch)
            for path in batch:
                data = reply.get(path)
                found[path] = None if data is None else base64.b64decode(data)
        return found

    def own_pids(self) -> set[int]:
        """The SSH session serving this connection and its ancestors, and any lock holder."""
        chain = self._call("own_pids", "cannot list own processes")
        return {int(p) for p in chain} | set(self._locks)

    def send_signal(self, pid: int, signum: int) -> None:
        """Signal one process; a process already gone is not an error."""
        self._call("signal", f"cannot signal pid {pid}", pid=pid, signum=int(signum))

    def environ(self) -> dict[str, str]:
        """The environment processes started over this connection inherit."""
        return dict(self._load_facts()["env"])

    def rpc(self, socket_path: str, method: str, *args: Any) -> Any:
        """Call supervisord's XML-RPC interface over its unix socket on the host.

        The request is marshalled here and relayed byte for byte by the host's
        Python, so faults and types are exactly what a local call would see.
        """
        body = base64.b64encode(xmlrpc.client.dumps(tuple(args), method).encode()).decode()
        action = f"supervisord at {socket_path} did not answer"
        request = {"socket": socket_path, "body": body, "timeout": RPC_TIMEOUT}
        answer = self._call("rpc", action, budget=RPC_TIMEOUT, **request)
        if answer["status"] != 200:
            raise TargetError(f"{self.host}: {action}: HTTP {answer['status']}")
        with self._translated(f"supervisord at {socket_path} answered garbage"):
            try:
                params, _ = xmlrpc.client.loads(base64.b64decode(answer["body"]))
            except xmlrpc.client.Fault as fault:
                raise SupervisorFault(fault.faultCode, fault.faultString) from fault
        return params[0]


def env_json(env: Mapping[str, str] | None) -> dict[str, str] | None:
    """An environment as JSON wants it (None stays None: inherit)."""
    return None if env is None else {str(k): str(v) for k, v in env.items()}


def _proc_info(info: dict[str, Any]) -> ProcInfo:
    return ProcInfo(
        pid=int(info["pid"]),
        ppid=int(info["ppid"]),
        cmdline=tuple(str(a) for a in info["cmdline"]),
        cwd=str(info["cwd"]),
        user=str(info["user"]),
        started=float(info["started"]),
    )
