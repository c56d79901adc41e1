"""Simulated hosts: a network namespace and an sshd per host, on this machine.

For the SSH tests, ``bench/fleet.py`` and the demo fleet (``simfleet``). A host is::

    FOLDER/                     /tmp/pb-host-TOKEN unless given; removed at the end
      ssh/host_ed25519[.pub]    sshd's host key; ssh/known_hosts: "ADDRESS ssh-ed25519 ..."
      ssh/client_ed25519[.pub]  the login key in ssh/authorized_keys (or ``client_key``'s)
      ssh/sshd_config           sshd's own config (nothing in /etc/ssh is read), sshd.pid
    netns NETNS                 lo, and veth VETH's "b" end with ADDRESS/30
    veth VETH (root namespace)  the "a" end, with PEER/30 (link-local: nothing leaves)

sshd runs as ``ip netns exec NETNS sshd -D -f OWN_CONFIG`` on port 22 in its own
session, so it outlives its builder. Namespace processes share the filesystem
and pid space with this one; their ports are private, so hosts reuse ports.
Teardown (``stop_host_by_name`` works from any process) signals only processes
whose ``/proc/PID/ns/net`` is ``/run/netns/NETNS``, sshd last, then deletes the
namespace, the veth pair and the folder.
"""

from __future__ import annotations

import contextlib
import ipaddress
import os
import secrets
import shutil
import subprocess
from pathlib import Path

from .netns import (
    HostUnavailable,
    netns_pids,
    pick_subnets,
    refuse_taken,
    start_network,
    tear_down,
)
from .ssh_host import SshHost
from .sshd import SSHD, generate_key, start_sshd

__all__ = [
    "SSHD",
    "HostUnavailable",
    "SshHost",
    "create_host",
    "destroy_host",
    "generate_key",
    "netns_pids",
    "pick_subnets",
    "skip_reason",
    "stop_host_by_name",
]


def skip_reason() -> str | None:
    """Why namespace SSH hosts cannot be built here, or None when they can."""
    if os.geteuid() != 0:
        return "SSH host tests need root (they create network namespaces and run sshd)"
    if not os.path.exists(SSHD):
        return f"SSH host tests need {SSHD} (apt-get install openssh-server)"
    if shutil.which("ip") is None:
        return "SSH host tests need `ip` with netns support (apt-get install iproute2)"
    if shutil.which("ssh-keygen") is None:
        return "SSH host tests need ssh-keygen (apt-get install openssh-client)"
    return None


def create_host(
    address: str | None = None,
    peer: str | None = None,
    netns: str | None = None,
    folder: Path | None = None,
    client_key: Path | None = None,
    veth: str | None = None,
) -> SshHost:
    """Build one namespace host with a running sshd (torn down by ``destroy_host``).

    Every part not given is chosen at random: a free link-local /30 (``peer``
    defaults to the other end of ``address``'s /30), ``pb-ssh-TOKEN``,
    ``pbTOKENa``, ``/tmp/pb-host-TOKEN``. ``client_key`` (an ed25519 private
    key with its ``.pub`` beside it) is authorized instead of a new key.
    """
    token = secrets.token_hex(3)
    if address is None:
        peer, address = pick_subnets(1)[0]
    elif peer is None:
        net = ipaddress.ip_network(f"{address}/30", strict=False)
        peer = next(str(h) for h in net.hosts() if str(h) != address)
    folder = folder or Path(f"/tmp/pb-host-{token}")
    host = SshHost(
        token, folder, address, peer, netns or f"pb-ssh-{token}", veth or f"pb{token}a", client_key
    )
    refuse_taken(host)
    folder.mkdir(mode=0o755)
    try:
        start_network(host)
        start_sshd(host)
    except BaseException:
        destroy_host(host)
        raise
    return host


def destroy_host(host: SshHost) -> None:
    """Close its targets, stop what runs in the host (sshd last), delete netns, veth, folder."""
    for target in host.targets:
        with contextlib.suppress(Exception):
            target.close()
    host.targets.clear()
    sshd = [host.sshd.pid] if host.sshd is not None else []
    tear_down(host.netns, host.veth, host.folder, sshd)
    if host.sshd is not None:
        with contextlib.suppress(subprocess.TimeoutExpired):
            host.sshd.wait(timeout=5)  # reap it: it was signalled above
        if host.sshd.poll() is None:  # not in the namespace yet when it was searched
            host.sshd.kill()  # our child, not reaped: its pid cannot be another's
            host.sshd.wait()


def stop_host_by_name(netns: str, veth: str, folder: Path | None = None) -> None:
    """``destroy_host`` from names only, e.g. from another process than the one that built it.

    sshd's pid comes from ``FOLDER/ssh/sshd.pid``; it is signalled only if it
    is in the namespace, like every other process.
    """
    tear_down(netns, veth, folder, [])
