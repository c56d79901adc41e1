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
import random
import secrets
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

from ..target.ssh import SshTarget, connect

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

SSHD = "/usr/sbin/sshd"
_SFTP = ("/usr/lib/openssh/sftp-server", "/usr/libexec/openssh/sftp-server")


class HostUnavailable(RuntimeError):
    """This machine cannot make a namespace host (no netns or veth support): tests skip."""


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


@dataclass
class SshHost:
    """One namespace host: where to reach it, its keys, and what to tear down."""

    token: str
    folder: Path
    address: str
    peer: str
    netns: str
    veth: str
    client_key: Path | None = None
    sshd: subprocess.Popen[bytes] | None = None
    targets: list[SshTarget] = field(default_factory=list)

    @property
    def key(self) -> Path:
        """The client's private key (authorized on the host)."""
        return self.client_key or self.folder / "ssh" / "client_ed25519"

    @property
    def known_hosts(self) -> Path:
        """A known_hosts file naming this host's key only."""
        return self.folder / "ssh" / "known_hosts"

    def login(self) -> SshTarget:
        """A new SshTarget logged in as root (host key checked); the caller closes it."""
        return connect(
            self.address,
            user="root",
            key_filename=str(self.key),
            known_hosts=str(self.known_hosts),
            use_agent=False,
        )

    def connect(self) -> SshTarget:
        """Like ``login``, but the target is closed by ``destroy_host``."""
        target = self.login()
        self.targets.append(target)
        return target


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


def generate_key(path: Path, comment: str) -> str:
    """Generate an ed25519 key pair at ``path`` (+ ``.pub``); the public key's line."""
    subprocess.run(
        ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", comment, "-f", str(path)],
        check=True,
        capture_output=True,
        stdin=subprocess.DEVNULL,
    )
    return path.with_suffix(".pub").read_text().strip()


def _ip(*args: str) -> None:
    done = subprocess.run(["ip", *args], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"ip {' '.join(args)}: {done.stderr.strip()}")


def _refuse_taken(host: SshHost) -> None:
    """Refuse names already in use, before building: a failed build's cleanup deletes them."""
    if os.path.exists(f"/run/netns/{host.netns}"):
        raise RuntimeError(f"network namespace {host.netns} already exists")
    link = subprocess.run(["ip", "-o", "link", "show", "dev", host.veth], capture_output=True)
    if link.returncode == 0:
        raise RuntimeError(f"network interface {host.veth} already exists")


def _start_network(host: SshHost) -> None:
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


_SSHD_CONFIG = """\
Port 22
ListenAddress {address}
HostKey {ssh}/host_ed25519
PidFile {ssh}/sshd.pid
AuthorizedKeysFile {ssh}/authorized_keys
PermitRootLogin prohibit-password
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
PrintMotd no
MaxSessions 64
MaxStartups 64
LogLevel ERROR
Subsystem sftp {sftp}
"""


def _start_sshd(host: SshHost) -> None:
    ssh = host.folder / "ssh"
    ssh.mkdir(parents=True, mode=0o700)
    host_pub = generate_key(ssh / "host_ed25519", f"pb-host-{host.token}")
    if host.client_key is None:
        client_pub = generate_key(ssh / "client_ed25519", "portbook-tests")
    else:
        client_pub = host.client_key.with_suffix(".pub").read_text().strip()
    (ssh / "authorized_keys").write_text(client_pub + "\n")
    (ssh / "known_hosts").write_text(f"{host.address} {' '.join(host_pub.split()[:2])}\n")
    sftp = next((p for p in _SFTP if os.path.exists(p)), "internal-sftp")
    (ssh / "sshd_config").write_text(_SSHD_CONFIG.format(address=host.address, ssh=ssh, sftp=sftp))
    os.makedirs("/run/sshd", mode=0o755, exist_ok=True)  # sshd's privilege separation dir
    with open(ssh / "sshd.log", "ab") as log:
        host.sshd = subprocess.Popen(
            ["ip", "netns", "exec", host.netns, SSHD, "-D", "-e", "-f", str(ssh / "sshd_config")],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    deadline = time.monotonic() + 10
    while True:
        with socket.socket() as sock:
            sock.settimeout(0.5)
            if sock.connect_ex((host.address, 22)) == 0:
                return
        if host.sshd.poll() is not None or time.monotonic() > deadline:
            text = (ssh / "sshd.log").read_text(errors="replace").strip()
            raise RuntimeError(f"sshd did not start in {host.netns}: {text}")
        time.sleep(0.05)


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
    _refuse_taken(host)
    folder.mkdir(mode=0o755)
    try:
        _start_network(host)
        _start_sshd(host)
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
    _teardown(host.netns, host.veth, host.folder, sshd)
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
    _teardown(netns, veth, folder, [])


def _teardown(netns: str, veth: str, folder: Path | None, sshd: list[int]) -> None:
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
