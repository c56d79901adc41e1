"""Who listens on a port, read without any of portbook's code: an oracle for the tests.

portbook's own probes ask psutil (``LocalTarget``) or its serving Python (``SshTarget``).
This asks the kernel two other ways and requires both to agree:

* ``ss -ltnpH`` (iproute2, over sock_diag netlink): each listening socket's local port and
  its ``users:(("name",pid=N,fd=M),...)``;
* ``/proc/net/tcp`` and ``/proc/net/tcp6`` (state ``0A`` is LISTEN): each listening
  socket's port and inode, and ``/proc/PID/fd/*`` links ``socket:[INODE]``: who holds it.

Inside a network namespace (the SSH hosts) both are read through ``ip netns exec NETNS``;
processes share this pid space, so pids mean the same everywhere. "Owns" means what the
operator means: the pid, or a process descended from it (read from ``/proc/PID/stat``),
listens on the port.
"""

from __future__ import annotations

import os
import re
import subprocess
import time
from collections import defaultdict
from collections.abc import Iterable

__all__ = [
    "descendants",
    "holders",
    "is_free",
    "listening",
    "owns",
    "parse_proc_net_tcp",
    "parse_ss",
]

Listening = dict[int, frozenset[int]]
"""Port -> the pids holding a socket that listens on it (empty: held by no visible process)."""

_USER = re.compile(r"pid=(\d+)")
_LISTEN = "0A"


def parse_ss(text: str) -> Listening:
    """``ss -ltnpH`` output as port -> pids (IPv4 and IPv6 sockets together)."""
    found: defaultdict[int, set[int]] = defaultdict(set)
    for line in text.splitlines():
        fields = line.split()
        if len(fields) < 4 or fields[0] != "LISTEN":
            continue
        port = int(fields[3].rpartition(":")[2])
        found[port].update(int(pid) for pid in _USER.findall(" ".join(fields[5:])))
    return {port: frozenset(pids) for port, pids in found.items()}


def parse_proc_net_tcp(text: str) -> dict[int, set[int]]:
    """``/proc/net/tcp`` (or tcp6) text as port -> inodes of its LISTEN sockets."""
    found: defaultdict[int, set[int]] = defaultdict(set)
    for line in text.splitlines()[1:]:
        fields = line.split()
        if len(fields) > 9 and fields[3] == _LISTEN:
            found[int(fields[1].rpartition(":")[2], 16)].add(int(fields[9]))
    return dict(found)


def listening(
    netns: str | None = None, ports: Iterable[int] | None = None, attempts: int = 5
) -> Listening:
    """Every listening TCP port (or those of ``ports``) and its pids, once ss and /proc agree.

    A socket opened or closed between the two readings makes them differ for a moment
    (other test runs on this machine open and close ports all the time, hence ``ports``):
    read again (up to ``attempts`` times) before calling it a disagreement.
    """
    wanted = None if ports is None else set(ports)
    for _ in range(attempts):
        by_ss = _only(parse_ss(_read(["ss", "-ltnpH"], netns)), wanted)
        by_proc = _only(_from_proc(netns), wanted)
        if by_ss == by_proc:
            return by_ss
        time.sleep(0.1)
    raise AssertionError(f"ss and /proc disagree on listeners: ss {by_ss}, /proc {by_proc}")


def holders(port: int, netns: str | None = None) -> frozenset[int]:
    """The pids listening on ``port`` (empty when nothing does)."""
    return listening(netns, [port]).get(port, frozenset())


def is_free(port: int, netns: str | None = None) -> bool:
    """True when no socket listens on ``port``."""
    return port not in listening(netns, [port])


def owns(pid: int, port: int, netns: str | None = None) -> bool:
    """True when ``pid`` or one of its descendants listens on ``port``."""
    return bool(holders(port, netns) & ({pid} | descendants(pid)))


def descendants(pid: int) -> set[int]:
    """Every live process descended from ``pid``, from the parent pids in ``/proc``."""
    children: defaultdict[int, set[int]] = defaultdict(set)
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as handle:
                    stat = handle.read()
            except OSError:
                continue  # gone meanwhile
            ppid = int(stat.rpartition(")")[2].split()[1])
            children[ppid].add(int(entry))
    found: set[int] = set()
    todo = [pid]
    while todo:
        for child in children.pop(todo.pop(), set()):
            found.add(child)
            todo.append(child)
    return found


def _only(found: Listening, ports: set[int] | None) -> Listening:
    return found if ports is None else {p: pids for p, pids in found.items() if p in ports}


def _from_proc(netns: str | None) -> Listening:
    inodes: defaultdict[int, set[int]] = defaultdict(set)
    for table in ("tcp", "tcp6"):
        text = _read(["cat", f"/proc/net/{table}"], netns)
        for port, found in parse_proc_net_tcp(text).items():
            inodes[port] |= found
    owners = _socket_owners()
    return {
        port: frozenset(pid for inode in found for pid in owners.get(inode, ()))
        for port, found in inodes.items()
    }


def _socket_owners() -> dict[int, set[int]]:
    """Socket inode -> pids with a file descriptor on it."""
    owners: defaultdict[int, set[int]] = defaultdict(set)
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            fds = os.listdir(f"/proc/{entry}/fd")
        except OSError:
            continue
        for fd in fds:
            try:
                link = os.readlink(f"/proc/{entry}/fd/{fd}")
            except OSError:
                continue
            if link.startswith("socket:["):
                owners[int(link[8:-1])].add(int(entry))
    return owners


def _read(argv: list[str], netns: str | None) -> str:
    prefix = ["ip", "netns", "exec", netns] if netns else []
    return subprocess.run(
        [*prefix, *argv], capture_output=True, text=True, check=True, timeout=30
    ).stdout
