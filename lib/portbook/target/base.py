"""The Target protocol: everything a step may do to a host, and the facts it may read.

Steps and probes use only this interface, never subprocess, psutil, fabric or
paramiko directly, so the same procedure runs on the local host and over SSH.
Implementations translate their foreign exceptions into ``TargetError`` here,
at the seam, and nowhere else.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any, Protocol

from ..errors import TargetError, one_line

__all__ = ["Listener", "ProcInfo", "RunResult", "SupervisorFault", "Target", "read_each"]


@dataclass(frozen=True)
class RunResult:
    """The outcome of a finished command."""

    code: int
    stdout: str
    stderr: str


@dataclass(frozen=True)
class Listener:
    """A TCP socket in LISTEN state and the process holding it (pid 0 when unknown)."""

    port: int
    pid: int
    address: str


@dataclass(frozen=True)
class ProcInfo:
    """What identifies a process: enough to prove it is ours before signalling it."""

    pid: int
    ppid: int
    cmdline: tuple[str, ...]
    cwd: str
    user: str
    started: float

    def describe(self) -> str:
        """``pid 4121: python foo.py`` as operators read it, on one line."""
        return f"pid {self.pid}: {one_line(' '.join(self.cmdline)) or '?'}"


class SupervisorFault(TargetError):
    """supervisord answered an XML-RPC call with a fault (``faultCode`` kept)."""

    def __init__(self, code: int, text: str) -> None:
        super().__init__(f"supervisor fault {code}: {text}")
        self.fault_code = code
        self.fault_text = text


def read_each(target: Target, paths: Sequence[str]) -> dict[str, bytes | None]:
    """``read_many`` as one ``read_optional`` per path (None for a file that cannot be read)."""
    found: dict[str, bytes | None] = {}
    for path in paths:
        try:
            found[path] = target.read_optional(path)
        except TargetError:
            found[path] = None
    return found


class Target(Protocol):
    """A host portbook acts on. Paths are absolute POSIX paths on that host."""

    host: str

    def read_optional(self, path: str) -> bytes | None:
        """The file's bytes, or None when it does not exist."""

    def write_atomic(self, path: str, data: bytes, mode: int | None = None) -> None:
        """Replace ``path`` atomically (temp file, fsync, rename), keeping mode and owner."""

    def remove(self, path: str) -> None:
        """Delete a file; a missing file is not an error."""

    def file_mode(self, path: str) -> int | None:
        """The permission bits of ``path``, or None when it does not exist."""

    def makedirs(self, path: str) -> None:
        """Create a folder and its parents; existing is fine."""

    def tree(
        self, root: str, skip_names: frozenset[str], skip_paths: frozenset[str], max_depth: int
    ) -> list[str]:
        """Every file under ``root`` (hidden names and the skipped folders left out), sorted."""

    def read_many(self, paths: Sequence[str]) -> dict[str, bytes | None]:
        """Each path's bytes; None when it is missing or cannot be read. One exchange if remote."""

    def glob(self, pattern: str) -> list[str]:
        """Sorted paths matching a shell pattern."""

    def run(
        self,
        argv: Sequence[str],
        cwd: str | None = None,
        env: Mapping[str, str] | None = None,
        timeout: float = 60.0,
    ) -> RunResult:
        """Run a command to completion; a non-zero exit is returned, not raised."""

    def spawn(
        self,
        argv: Sequence[str],
        cwd: str,
        env: Mapping[str, str],
        log_path: str,
        user: str | None = None,
    ) -> int:
        """Start a command in its own session, output appended to ``log_path``; return its pid."""

    def exit_code(self, pid: int) -> int | None:
        """The exit code of a process this target spawned, None while it runs."""

    def listeners(self) -> list[Listener]:
        """Every TCP socket listening on this host."""

    def listeners_of(self, pids: Iterable[int]) -> list[Listener]:
        """TCP sockets listening in the given processes only."""

    def process(self, pid: int) -> ProcInfo | None:
        """Facts about a live process, or None when it is gone."""

    def descendants(self, pid: int) -> list[int]:
        """Pids of every live descendant of ``pid``."""

    def send_signal(self, pid: int, signum: int) -> None:
        """Signal one process; a process already gone is not an error."""

    def rpc(self, socket_path: str, method: str, *args: Any) -> Any:
        """Call supervisord's XML-RPC interface over its unix socket."""

    def environ(self) -> dict[str, str]:
        """The environment processes started on this host inherit."""

    def hold_lock(self, folder: str, info_path: str, wait: bool) -> AbstractContextManager[None]:
        """Hold an exclusive lock on ``folder`` for a block; raise Locked naming the holder."""

    def remove_empty_dir(self, path: str) -> None:
        """Remove a folder if it is empty; a missing or non-empty folder is left as it is."""

    def append_bytes(self, path: str, data: bytes) -> None:
        """Append ``data`` to ``path`` (created 0640 when missing) in one write, then fsync."""

    def all_processes(self) -> list[ProcInfo]:
        """Facts about every live process on this host (any that vanish meanwhile left out)."""

    def environ_of(self, pid: int) -> dict[str, str] | None:
        """The environment ``pid`` was started with, or None when it is gone or unreadable."""

    def own_pids(self) -> set[int]:
        """Pids portbook must never signal: its own process and every ancestor (or session)."""
