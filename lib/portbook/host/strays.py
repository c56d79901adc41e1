"""Probes for recovery: which processes provably belong to the system, and who holds its ports.

Reads only. A process is the system's ("ours") only when one of these proves it:

* its command line runs a script inside the root (``<root>/...`` after argv[0]);
* its working folder is the root or inside it;
* it descends from the system's supervisord: it is in the live supervisord's
  tree, or it was recorded there (pid and start time) before supervisord went
  down, or its environment carries ``SUPERVISOR_SERVER_URL=unix://<socket>``,
  which supervisord stamps on every program it spawns and which survives the
  reparenting that follows a SIGKILLed supervisord.

The cwd and cmdline proofs are only applied to holders of manifest ports:
any process may sit in the root (an operator's shell, an editor), so a process
that holds no port is a stray only by descent. Portbook's own chain
(``Target.own_pids``), pid 0 and pid 1 are never candidates.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from ..errors import one_line
from ..registry.system import System
from ..secrets import mask_secrets
from ..target import ProcInfo, Target

__all__ = [
    "ForeignHolder",
    "Proven",
    "Recorded",
    "StrayScan",
    "describe",
    "is_ours",
    "mask_argv",
    "scan_strays",
    "server_url",
]

_SECRET_ARG = re.compile(r"(?i)^(--?[\w.-]*(pass|secret|token|key|auth)[\w.-]*=).+$")
_SECRET_FLAG = re.compile(r"(?i)^--?[\w.-]*(pass|secret|token|key|auth)[\w.-]*$")

Recorded = Mapping[int, float]
"""Pids (and start times) seen under supervisord before it went down."""


@dataclass(frozen=True)
class Proven:
    """A process provably the system's, the proof in words, and the manifest port it holds."""

    info: ProcInfo
    reason: str
    port: int | None = None
    program: str | None = None

    def line(self) -> str:
        """``pid 4121 (root): python x.py — cwd inside the root``."""
        held = f", holds port {self.port}" if self.port else ""
        return f"{describe(self.info)}{held}; ours: {self.reason}"


@dataclass(frozen=True)
class ForeignHolder:
    """A manifest port held by a process nothing proves is the system's."""

    port: int
    service: str
    info: ProcInfo | None

    def line(self) -> str:
        """``port 8003 (db_poller) is held by pid 1 (alice): python3 -m http.server``."""
        who = describe(self.info) if self.info else "a process whose pid is not visible"
        return f"port {self.port} ({self.service}) is held by {who}, not the system's"


@dataclass
class StrayScan:
    """What a scan found: processes to stop (ours) and foreign holders of manifest ports."""

    ours: list[Proven] = field(default_factory=list)
    foreign: list[ForeignHolder] = field(default_factory=list)


def mask_argv(argv: Iterable[str]) -> str:
    """A command line for humans, on one line, values of secret-looking options masked."""
    out: list[str] = []
    hide_next = False
    for arg in argv:
        if hide_next:
            out.append("***")
            hide_next = False
            continue
        masked = _SECRET_ARG.sub(r"\1***", arg)
        hide_next = masked == arg and bool(_SECRET_FLAG.match(arg))
        out.append(masked)
    return mask_secrets(one_line(" ".join(out)))


def describe(info: ProcInfo) -> str:
    """``pid 4121 (alice): python3 -m http.server 8003`` with secrets masked."""
    return f"pid {info.pid} ({info.user or '?'}): {mask_argv(info.cmdline) or '?'}"


def is_ours(info: ProcInfo, root: str) -> bool:
    """Provably the system's: its cwd is inside the root, or it runs a script inside it."""
    return _place_proof(info, root) is not None


def server_url(system: System) -> str:
    """The ``SUPERVISOR_SERVER_URL`` supervisord gives its programs (its unix socket)."""
    return f"unix://{system.socket_path()}"


def scan_strays(
    target: Target,
    system: System,
    recorded: Recorded | None = None,
    exclude: Iterable[int] = (),
) -> StrayScan:
    """Every process provably ours (orphans by descent, port holders by any proof), and the
    foreign holders of manifest ports. ``exclude``: pids left out (a live supervisord's tree).
    """
    spared = {*target.own_pids(), *exclude}
    url, root = server_url(system), system.settings.root
    everyone = {p.pid: p for p in target.all_processes()}
    processes = {pid: p for pid, p in everyone.items() if pid > 1 and pid not in spared}
    ports = _manifest_ports(system)
    held: dict[int, int] = {}  # holder pid -> the manifest port it listens on
    foreign_candidates: list[tuple[int, int]] = []
    for lst in target.listeners():
        if lst.port in ports and lst.pid not in spared:
            held.setdefault(lst.pid, lst.port)
            foreign_candidates.append((lst.port, lst.pid))
    proven: dict[int, Proven] = {}
    for info in processes.values():
        reason, program = _descent_proof(target, info, url, recorded or {})
        if reason is None and info.pid in held:
            reason = _place_proof(info, root)
        if reason is not None:
            proven[info.pid] = Proven(info, reason, held.get(info.pid), program)
    scan = StrayScan(ours=_with_children(target, proven, processes))
    mine = {p.info.pid for p in scan.ours}
    for port, pid in sorted(set(foreign_candidates)):
        if pid not in mine:
            scan.foreign.append(ForeignHolder(port, ports[port], everyone.get(pid)))
    return scan


def _manifest_ports(system: System) -> dict[int, str]:
    return {entry.port: name for name, entry in system.services.items()}


def _descent_proof(
    target: Target, info: ProcInfo, url: str, recorded: Recorded
) -> tuple[str | None, str | None]:
    """(why it descends from the system's supervisord, the program it ran as), or Nones."""
    env = target.environ_of(info.pid) or {}
    stamped = env.get("SUPERVISOR_SERVER_URL") == url
    program = env.get("SUPERVISOR_PROCESS_NAME") if stamped else None
    started = recorded.get(info.pid)
    if started is not None and abs(started - info.started) < 0.5:
        return "it ran under the system's supervisord before that stopped", program
    if stamped:
        return (
            f"supervisord started it as {program or '?'} "
            "(its SUPERVISOR_SERVER_URL is the system's socket)",
            program,
        )
    return None, None


def _place_proof(info: ProcInfo, root: str) -> str | None:
    inside = root.rstrip("/") + "/"
    if info.cwd == root or info.cwd.startswith(inside):
        return f"its cwd {info.cwd} is inside the root"
    for arg in _program_args(info.cmdline):
        path = posixpath.normpath(posixpath.join(info.cwd or "/", arg))
        if path.startswith(inside):
            return f"it runs {path}, inside the root"
    return None


def _program_args(cmdline: tuple[str, ...]) -> list[str]:
    """argv[0] and the first non-option argument after it (an interpreter's script)."""
    if not cmdline:
        return []
    rest = cmdline[1:]
    if rest[:1] and rest[0] in ("-m", "-c"):
        return [cmdline[0]]
    script = next((a for a in rest if not a.startswith("-")), None)
    return [cmdline[0]] + ([script] if script else [])


def _with_children(
    target: Target, proven: dict[int, Proven], processes: Mapping[int, ProcInfo]
) -> list[Proven]:
    """Add every live descendant of a proven process (descent from ours is a proof)."""
    for pid in list(proven):
        for child in target.descendants(pid):
            if child not in proven and child in processes:
                reason = f"a child of pid {pid}, which is ours"
                proven[child] = Proven(processes[child], reason)
    return sorted(proven.values(), key=lambda p: p.info.pid)
