"""Probes for supervisord as a process: find the system's, prove it is that one, spot stale files.

Reads only. supervisord is "the system's" when it answers on the system's
socket (its pid from ``getPID``), or when its command line is a supervisord
whose ``-c`` resolves (against its own cwd) to the system's conf:
then a wedged supervisord that no longer answers is still found, through its
pidfile or a scan. A socket nobody answers on, and a pidfile whose pid is not
the system's supervisord, are stale.
"""

from __future__ import annotations

import contextlib
import posixpath
from dataclasses import dataclass

from ..errors import TargetError
from ..registry.system import System, expand, section
from ..target import ProcInfo, Target
from .supervisor import Supervisor

__all__ = [
    "Daemon",
    "find_daemon",
    "is_system_supervisord",
    "pidfile_path",
    "read_pidfile",
    "supervisord_conf_arg",
]


@dataclass(frozen=True)
class Daemon:
    """The system's supervisord as found: its process (None when none runs), whether it
    answers, and the runtime files a dead one left behind."""

    info: ProcInfo | None
    answers: bool
    socket: str
    pidfile: str
    stale: tuple[str, ...]

    def line(self) -> str:
        """One line for reports."""
        if self.info is None:
            return "supervisord is not running"
        how = "answers on its socket" if self.answers else "does NOT answer on its socket"
        return f"supervisord pid {self.info.pid} {how}"


def supervisord_conf_arg(info: ProcInfo) -> str | None:
    """The ``-c``/``--configuration`` argument of a supervisord command line, if any."""
    args = list(info.cmdline)
    for i, arg in enumerate(args):
        if arg in ("-c", "--configuration") and i + 1 < len(args):
            return args[i + 1]
        for prefix in ("--configuration=", "-c"):
            if arg.startswith(prefix) and len(arg) > len(prefix):
                return arg[len(prefix) :]
    return None


def is_system_supervisord(info: ProcInfo, system: System, named_by_pidfile: bool = False) -> bool:
    """True when ``info`` is a supervisord running this system's conf.

    A relative ``-c`` is resolved against the process's own cwd. Only when the
    system's own pidfile names the pid, and its cwd cannot be read, is it resolved
    against the root as well: otherwise any supervisord started with
    ``-c backend/supervisord.conf`` elsewhere would pass as this system's.
    """
    if not any("supervisord" in arg for arg in info.cmdline[:3]):
        return False
    conf = supervisord_conf_arg(info)
    if conf is None:
        return False
    if posixpath.isabs(conf):
        bases = ["/"]
    elif info.cwd:
        bases = [info.cwd]
    else:
        bases = [system.settings.root] if named_by_pidfile else []
    wanted = system.main_conf.path
    return any(posixpath.normpath(posixpath.join(base, conf)) == wanted for base in bases)


def pidfile_path(system: System) -> str:
    """supervisord's pidfile: ``[supervisord] pidfile=``, else supervisord.pid in its cwd."""
    value = section(system.main_conf, "supervisord").get("pidfile") or "supervisord.pid"
    return system.resolve(expand(value, system.main_conf.path), system.supervisord_cwd())


def read_pidfile(target: Target, path: str) -> int | None:
    """The pid written in a pidfile, or None when missing or unreadable."""
    try:
        raw = target.read_optional(path)
    except TargetError:
        return None
    try:
        return int((raw or b"").split()[0]) if raw and raw.split() else None
    except ValueError:
        return None


def find_daemon(target: Target, system: System) -> Daemon:
    """The system's supervisord, found by socket, pidfile or scan, and any stale files."""
    supervisor = Supervisor(target, system)
    socket, pidfile = supervisor.socket, pidfile_path(system)
    info, answers = None, False
    with contextlib.suppress(TargetError):
        info = target.process(supervisor.pid())
        answers = info is not None
    if info is None:
        info = _by_pidfile(target, system, pidfile) or _by_scan(target, system)
    stale = []
    if info is None and target.file_mode(socket) is not None:
        stale.append(socket)
    written = read_pidfile(target, pidfile)
    if target.file_mode(pidfile) is not None and (info is None or written != info.pid):
        stale.append(pidfile)
    return Daemon(info, answers, socket, pidfile, tuple(stale))


def _by_pidfile(target: Target, system: System, pidfile: str) -> ProcInfo | None:
    pid = read_pidfile(target, pidfile)
    info = target.process(pid) if pid and pid > 1 else None
    ours = info is not None and is_system_supervisord(info, system, named_by_pidfile=True)
    return info if ours else None


def _by_scan(target: Target, system: System) -> ProcInfo | None:
    found = [p for p in target.all_processes() if p.pid > 1 and is_system_supervisord(p, system)]
    return min(found, key=lambda p: p.started) if found else None
