"""The network side of a simulated host: a namespace, a veth pair, and their teardown.

The namespace holds ``lo`` and the veth's "b" end with ADDRESS/30; the "a" end stays in
the root namespace with PEER/30 (link-local: nothing leaves). Teardown signals only
processes whose ``/proc/PID/ns/net`` is ``/run/netns/NETNS``, sshd last, then deletes the
namespace, the veth pair and the host's folder.
"""

from __future__ import annotations

import contextlib
import os
import random
import shutil
import signal
import subprocess
import time
from pathlib import Path

from ..errors import TargetError
from .ssh_host import SshHost

__all__ = [
    "HostUnavailable",
    "netns_pids",
    "pick_subnets",
    "refuse_taken",
    "start_network",
    "tear_down",
]


class HostUnavailable(TargetError):
    """This machine cannot make a namespace host (no netns or veth support): tests skip.

    A TargetError, so exit code 1, as when it was a RuntimeError.
    """


def netns_pids(netns: str) -> list[int]:
    """Every process whose network namespace is ``/run/netns/NETNS`` (none if it is gone)."""
    wanted = _ns_id(f"/run/netns/{netns}")
    if wanted is None:
        return []
    return sorted(
        int(e) for e in os.listdir("/proc") if e.isdigit() and _ns_id(f"/proc/{e}/ns/net") == wanted
    )


def _ns_id(path: str) -> tuple[int, int] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return st.st_dev, st.st_ino


def pick_subnets(count: int) -> list[tuple[str, str]]:
    """``count`` distinct (root end, namespace end) pairs of link-local /30s nothing uses."""
    taken = "".join(
        subprocess.run(["ip", "-4", *a], capture_output=True, text=True, check=False).stdout
        for a in (["-o", "addr"], ["route"])
    )
    chosen: list[tuple[str, str]] = []
    for _ in range(100 * count):
        prefix = f"169.254.{random.choice([n for n in range(100, 200) if n != 169])}."
        fourth = 4 * random.randrange(1, 63)
        pair = (f"{prefix}{fourth + 1}", f"{prefix}{fourth + 2}")
        if prefix not in taken and pair not in chosen:
            chosen.append(pair)
            if len(chosen) == count:
                return chosen
    raise RuntimeError(f"no {count} free 169.254.x.y/30 found")


def _ip(*args: str) -> None:
    done = subprocess.run(["ip", *args], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"ip {' '.join(args)}: {done.stderr.strip()}")


def refuse_taken(host: SshHost) -> None:
    """Refuse names already in use, before building: a failed build's cleanup deletes them."""
    if os.path.exists(f"/run/netns/{host.netns}"):
        raise RuntimeError(f"network namespace {host.netns} already exists")
    link = subprocess.run(["ip", "-o", "link", "show", "dev", host.veth], capture_output=True)
    if link.returncode == 0:
        raise RuntimeError(f"network interface {host.veth} already exists")


def start_network(host: SshHost) -> None:
    """Create the host's namespace and veth pair, addressed and up."""
    inner = host.veth[:-1] + "b"
    try:
        _ip("netns", "add", host.netns)
        _ip("link", "add", host.veth, "type", "veth", "peer", "name", inner)
    except RuntimeError as exc:
        raise HostUnavailable(f"cannot create a network namespace with a veth pair: {exc}") from exc
    _ip("link", "set", inner, "netns", host.netns)
    _ip("addr", "add", f"{host.peer}/30", "dev", host.veth)
    _ip("link", "set", host.veth, "up")
    inside = ("netns", "exec", host.netns, "ip")
    _ip(*inside, "link", "set", "lo", "up")
    _ip(*inside, "addr", "add", f"{host.address}/30", "dev", inner)
    _ip(*inside, "link", "set", inner, "up")


def tear_down(netns: str, veth: str, folder: Path | None, sshd: list[int]) -> None:
    """Stop the namespace's processes (``sshd`` pids last), delete netns, veth and folder."""
    ns = _ns_id(f"/run/netns/{netns}")
    if ns is not None:
        if folder is not None:
            with contextlib.suppress(OSError, ValueError):
                sshd.append(int((folder / "ssh" / "sshd.pid").read_text().strip()))
        _stop_pids([p for p in netns_pids(netns) if p not in sshd], ns)
        _stop_pids(sshd, ns)
        for _ in range(3):  # whatever was started meanwhile
            _stop_pids(netns_pids(netns), ns)
        subprocess.run(["ip", "netns", "del", netns], capture_output=True, check=False)
    link = subprocess.run(
        ["ip", "-d", "-o", "link", "show", "dev", veth], capture_output=True, text=True, check=False
    )
    if link.returncode == 0 and " veth " in link.stdout:
        subprocess.run(["ip", "link", "del", veth], capture_output=True, check=False)
    if folder is not None:
        shutil.rmtree(folder, ignore_errors=True)


def _stop_pids(pids: list[int], ns: tuple[int, int], timeout: float = 5.0) -> None:
    """SIGTERM each pid in namespace ``ns``, then SIGKILL whichever is still there."""
    pids = [p for p in pids if p > 0 and p != os.getpid()]
    _signal(pids, ns, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while pids and time.monotonic() < deadline:
        pids = [p for p in pids if _alive(p)]
        time.sleep(0.05)
    _signal(pids, ns, signal.SIGKILL)


def _signal(pids: list[int], ns: tuple[int, int], sig: signal.Signals) -> None:
    for pid in pids:
        if _ns_id(f"/proc/{pid}/ns/net") == ns:  # checked right before: never a reused pid
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, sig)


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat", "rb") as handle:
            state = handle.read().rsplit(b")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state not in (b"Z", b"X")
