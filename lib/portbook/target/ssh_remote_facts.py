"""Process and socket facts, read ON THE HOST by the program SshTarget sends (see ssh_remote).

Every function answers one request (a dict) and returns JSON-ready data. Facts
come from psutil when the host's Python can import it, else from /proc (a
request with ``"ps": false`` forces /proc, which is how tests cover both).
Sockets are those of this process's network namespace: the host's.

Standard library only, Python 3.7 or later; no imports from portbook, because
on the host this file is executed on its own (``OPS`` is what it offers).
"""

from __future__ import annotations

import contextlib
import importlib
import os
import sys
from typing import Any

_PS: list[Any] = []


def ps_module(use: bool = True) -> Any:
    """psutil if importable (and ``use``), else None."""
    if not use:
        return None
    if not _PS:
        try:
            _PS.append(importlib.import_module("psutil"))
        except ImportError:
            _PS.append(None)
    return _PS[0]


# --- /proc readers ---------------------------------------------------------------------------


def _stat_fields(pid: int) -> list[str]:
    """/proc/PID/stat after the command name: [state, ppid, ...]."""
    with open(f"/proc/{pid}/stat", "rb") as handle:
        return handle.read().rsplit(b")", 1)[1].decode().split()


def _boot_time() -> float:
    with open("/proc/stat") as handle:
        for line in handle:
            if line.startswith("btime"):
                return float(line.split()[1])
    return 0.0


def _pids() -> list[int]:
    return sorted(int(p) for p in os.listdir("/proc") if p.isdigit())


def _user(uid: int) -> str:
    import pwd

    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return str(uid)


def _proc_info(pid: int) -> dict[str, Any] | None:
    try:
        fields = _stat_fields(pid)
        if fields[0] in ("Z", "X"):
            return None
        with open(f"/proc/{pid}/cmdline", "rb") as handle:
            cmdline = [a.decode("utf-8", "replace") for a in handle.read().split(b"\0")[:-1]]
        with open(f"/proc/{pid}/status") as handle:
            uid = next(int(line.split()[1]) for line in handle if line.startswith("Uid:"))
    except (OSError, IndexError, StopIteration, ValueError):
        return None
    try:
        cwd = os.readlink(f"/proc/{pid}/cwd")
    except OSError:
        cwd = ""
    started = _boot_time() + int(fields[19]) / os.sysconf("SC_CLK_TCK")
    return {
        "pid": pid,
        "ppid": int(fields[1]),
        "cmdline": cmdline,
        "cwd": cwd,
        "user": _user(uid),
        "started": started,
    }


def _ppids() -> dict[int, int]:
    found = {}
    for pid in _pids():
        with contextlib.suppress(OSError, IndexError, ValueError):
            fields = _stat_fields(pid)
            if fields[0] not in ("Z", "X"):
                found[pid] = int(fields[1])
    return found


def _socket_inodes(pid: int) -> set[str]:
    found = set()
    folder = f"/proc/{pid}/fd"
    with contextlib.suppress(OSError):
        for fd in os.listdir(folder):
            with contextlib.suppress(OSError):
                link = os.readlink(folder + "/" + fd)
                if link.startswith("socket:["):
                    found.add(link[8:-1])
    return found


def parse_address(text: str) -> str:
    """An address as /proc/net/tcp{,6} prints it (hex, host-order words) in dotted/colon form."""
    import socket

    raw = bytes.fromhex(text)
    if sys.byteorder == "little":
        raw = b"".join(raw[i : i + 4][::-1] for i in range(0, len(raw), 4))
    return socket.inet_ntop(socket.AF_INET if len(raw) == 4 else socket.AF_INET6, raw)


def parse_listening(text: str) -> dict[str, tuple[int, str]]:
    """inode -> (port, address) for every LISTEN row of a /proc/net/tcp{,6} table."""
    found = {}
    for line in text.splitlines()[1:]:
        parts = line.split()
        if len(parts) > 9 and parts[3] == "0A":
            address, port = parts[1].split(":")
            found[parts[9]] = (int(port, 16), parse_address(address))
    return found


def _proc_listening() -> dict[str, tuple[int, str]]:
    found: dict[str, tuple[int, str]] = {}
    for name in ("/proc/net/tcp", "/proc/net/tcp6"):
        with contextlib.suppress(OSError), open(name) as handle:
            found.update(parse_listening(handle.read()))
    return found


# --- psutil readers --------------------------------------------------------------------------


def _ps_listeners(ps: Any, pids: list[int] | None) -> list[list[Any]]:
    if pids is None:
        conns = [(c, c.pid or 0) for c in ps.net_connections(kind="tcp")]
    else:
        conns = []
        for pid in pids:
            with contextlib.suppress(ps.Error):
                proc = ps.Process(pid)
                get = getattr(proc, "net_connections", None) or proc.connections
                conns.extend((c, pid) for c in get(kind="tcp"))
    return [[c.laddr.port, pid, c.laddr.ip] for c, pid in conns if c.status == "LISTEN" and c.laddr]


def _process(ps: Any, pid: int) -> dict[str, Any] | None:
    if ps is None:
        return _proc_info(pid)
    try:
        proc = ps.Process(pid)
        with proc.oneshot():
            if proc.status() == ps.STATUS_ZOMBIE:
                return None
            info: dict[str, Any] = {"pid": pid, "ppid": proc.ppid(), "cmdline": proc.cmdline()}
            info["started"] = proc.create_time()
            for key, getter in (("cwd", proc.cwd), ("user", proc.username)):
                try:
                    info[key] = str(getter())
                except ps.Error:
                    info[key] = ""
            return info
    except ps.Error:
        return None


# --- the requests ----------------------------------------------------------------------------


def op_listeners(req: dict[str, Any]) -> list[list[Any]]:
    """``[port, pid, address]`` of every listening TCP socket (or only the given pids')."""
    ps = ps_module(req.get("ps", True))
    pids = req.get("pids")
    if ps is not None:
        return _ps_listeners(ps, pids)
    listening = _proc_listening()
    found = []
    for pid in _pids() if pids is None else pids:
        for inode in _socket_inodes(pid):
            if inode in listening:
                port, address = listening.pop(inode)
                found.append([port, pid, address])
    if pids is None:
        found.extend([port, 0, address] for port, address in listening.values())
    return found


def op_process(req: dict[str, Any]) -> dict[str, Any] | None:
    """Facts about one live process, or None."""
    return _process(ps_module(req.get("ps", True)), req["pid"])


def op_all_processes(req: dict[str, Any]) -> list[dict[str, Any]]:
    """Facts about every live process but this one (which is gone once it answers)."""
    ps = ps_module(req.get("ps", True))
    pids = ps.pids() if ps is not None else _pids()
    found = [_process(ps, pid) for pid in pids if pid != os.getpid()]
    return [info for info in found if info is not None]


def op_descendants(req: dict[str, Any]) -> list[int]:
    """Every live descendant of ``pid``."""
    ps = ps_module(req.get("ps", True))
    if ps is not None:
        try:
            return [p.pid for p in ps.Process(req["pid"]).children(recursive=True)]
        except ps.Error:
            return []
    children: dict[int, list[int]] = {}
    for pid, ppid in _ppids().items():
        children.setdefault(ppid, []).append(pid)
    found, frontier = [], [req["pid"]]
    while frontier:
        kids = children.get(frontier.pop(), [])
        found.extend(kids)
        frontier.extend(kids)
    return sorted(found)


def op_environ_of(req: dict[str, Any]) -> dict[str, str] | None:
    """The environment ``pid`` started with, or None when it is gone or unreadable."""
    ps = ps_module(req.get("ps", True))
    if ps is not None:
        try:
            return dict(ps.Process(req["pid"]).environ())
        except ps.Error:
            return None
    try:
        with open(f"/proc/{req['pid']}/environ", "rb") as handle:
            raw = handle.read()
    except OSError:
        return None
    pairs = (item.decode("utf-8", "replace").partition("=") for item in raw.split(b"\0") if item)
    return {key: value for key, _, value in pairs}


def op_own_pids(req: dict[str, Any]) -> list[int]:
    """This request's ancestors: the SSH session serving the controller, up to init."""
    found: list[int] = []
    pid = os.getppid()
    while pid > 0 and pid not in found:
        found.append(pid)
        try:
            pid = int(_stat_fields(pid)[1])
        except (OSError, IndexError, ValueError):
            break
    return found


OPS = {
    "all_processes": op_all_processes,
    "descendants": op_descendants,
    "environ_of": op_environ_of,
    "listeners": op_listeners,
    "own_pids": op_own_pids,
    "process": op_process,
}
