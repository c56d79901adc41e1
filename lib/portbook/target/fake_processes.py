"""The processes and sockets of an in-memory host (:class:`FakeTarget`'s process table).

Processes are a dict ``pid -> ProcInfo`` (``descendants`` follows their ``ppid``),
listeners a list; a test fills both in. ``exit_codes`` holds the codes of processes
that ended, ``process_env`` each process's environment, ``own`` the pids ``own_pids``
reports as portbook's own chain.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from .base import Listener, ProcInfo

__all__ = ["FakeProcesses"]


@dataclass
class FakeProcesses:
    """A process table and the sockets its processes listen on, held in memory."""

    listening: list[Listener] = field(default_factory=list)
    processes: dict[int, ProcInfo] = field(default_factory=dict)
    exit_codes: dict[int, int] = field(default_factory=dict)
    process_env: dict[int, dict[str, str]] = field(default_factory=dict)
    own: set[int] = field(default_factory=set)

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
