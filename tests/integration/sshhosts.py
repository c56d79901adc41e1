"""Real SSH hosts for integration tests: one network namespace and one sshd per host.

Each host is built from parts that exist only for the test and are torn down after it::

    /tmp/pb-host-TOKEN/               the host's folder (removed at the end)
      ssh/host_ed25519[.pub]          sshd's generated host key
      ssh/client_ed25519[.pub]        the key the test logs in with (authorized_keys)
      ssh/known_hosts                 "ADDRESS ssh-ed25519 ..." so host keys are checked
      ssh/sshd_config, sshd.log       sshd's own config; nothing in /etc/ssh is read
      system/                         the demo system (a copy), see ``install_system``
    netns pb-ssh-TOKEN                lo up, and veth pbTOKENb with ADDRESS/30
    veth pbTOKENa (root namespace)    the other end, with ADDRESS-1/30

The /30 lies in 169.254.0.0/16 (link-local, chosen where no route or address
exists) and exists only between the two veth ends: no traffic leaves the machine.
sshd runs as ``ip netns exec NS /usr/sbin/sshd -D -f OWN_CONFIG`` on port 22.
Processes inside a namespace share the filesystem and the pid space with the
test, so a host's supervisord and services are ordinary processes started
through the SSH session; their ports are private to the namespace, so every
host can use the same ports.

Teardown signals only processes whose network namespace is the host's (all of
them were started through its sshd), then sshd itself, by pid; then it deletes
the namespace, the veth pair and the folder.
"""

from __future__ import annotations

import contextlib
import os
import random
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from portbook.config import Settings, load_settings
from portbook.demo import install_demo
from portbook.target.ssh import SshTarget, connect

SSHD = "/usr/sbin/sshd"
SFTP_SERVERS = ("/usr/lib/openssh/sftp-server", "/usr/libexec/openssh/sftp-server")

__all__ = [
    "SSHD",
    "HostUnavailable",
    "SshHost",
    "create_host",
    "destroy_host",
    "install_system",
    "skip_reason",
    "ssh_host",
]


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
    sshd: subprocess.Popen[bytes] | None = None
    targets: list[SshTarget] = field(default_factory=list)

    @property
    def key(self) -> Path:
        """The client's private key (authorized on the host)."""
        return self.folder / "ssh" / "client_ed25519"

    @property
    def known_hosts(self) -> Path:
        """A known_hosts file naming this host's key only."""
        return self.folder / "ssh" / "known_hosts"

    def connect(self) -> SshTarget:
        """A new SshTarget logged in as root, host key checked against ``known_hosts``."""
        target = connect(
            self.address,
            user="root",
            key_filename=str(self.key),
            known_hosts=str(self.known_hosts),
            use_agent=False,
        )
        self.targets.append(target)
        return target

    def netns_pids(self) -> list[int]:
        """Every live process whose network namespace is this host's."""
        try:
            wanted = os.stat(f"/run/netns/{self.netns}").st_ino
        except OSError:
            return []
        found = []
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            with contextlib.suppress(OSError):
                if os.stat(f"/proc/{entry}/ns/net").st_ino == wanted:
                    found.append(int(entry))
        return sorted(found)


def _ip(*args: str) -> None:
    done = subprocess.run(["ip", *args], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"ip {' '.join(args)}: {done.stderr.strip()}")


def _taken_networks() -> str:
    out = subprocess.run(["ip", "-4", "-o", "addr"], capture_output=True, text=True, check=False)
    routes = subprocess.run(["ip", "-4", "route"], capture_output=True, text=True, check=False)
    return out.stdout + routes.stdout


def _pick_subnet() -> tuple[str, str]:
    """(root end, namespace end) of a link-local /30 nothing on this machine uses."""
    taken = _taken_networks()
    for _ in range(100):
        third = random.choice([n for n in range(100, 200) if n != 169])
        fourth = 4 * random.randrange(1, 63)
        prefix = f"169.254.{third}."
        if prefix in taken:
            continue
        return f"{prefix}{fourth + 1}", f"{prefix}{fourth + 2}"
    raise RuntimeError("no free 169.254.x.y/30 found")


def _keygen(path: Path, comment: str) -> str:
    subprocess.run(
        ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", comment, "-f", str(path)],
        check=True,
        capture_output=True,
    )
    return path.with_suffix(".pub").read_text().strip()


def _sshd_config(host: SshHost) -> str:
    ssh = host.folder / "ssh"
    sftp = next((p for p in SFTP_SERVERS if os.path.exists(p)), "internal-sftp")
    return "\n".join(
        [
            "Port 22",
            f"ListenAddress {host.address}",
            f"HostKey {ssh / 'host_ed25519'}",
            f"PidFile {ssh / 'sshd.pid'}",
            f"AuthorizedKeysFile {ssh / 'authorized_keys'}",
            "PermitRootLogin prohibit-password",
            "PubkeyAuthentication yes",
            "PasswordAuthentication no",
            "KbdInteractiveAuthentication no",
            "UsePAM no",
            "StrictModes no",
            "PrintMotd no",
            "MaxSessions 64",
            "MaxStartups 64",
            "LogLevel ERROR",
            f"Subsystem sftp {sftp}",
            "",
        ]
    )


def _start_network(host: SshHost) -> None:
    try:
        _ip("netns", "add", host.netns)
        _ip("link", "add", host.veth, "type", "veth", "peer", "name", host.veth[:-1] + "b")
    except RuntimeError as exc:
        raise HostUnavailable(f"cannot create a network namespace with a veth pair: {exc}") from exc
    _ip("link", "set", host.veth[:-1] + "b", "netns", host.netns)
    _ip("addr", "add", f"{host.peer}/30", "dev", host.veth)
    _ip("link", "set", host.veth, "up")
    inside = ("netns", "exec", host.netns, "ip")
    _ip(*inside, "link", "set", "lo", "up")
    _ip(*inside, "addr", "add", f"{host.address}/30", "dev", host.veth[:-1] + "b")
    _ip(*inside, "link", "set", host.veth[:-1] + "b", "up")


def _start_sshd(host: SshHost) -> None:
    ssh = host.folder / "ssh"
    ssh.mkdir(parents=True, mode=0o700)
    host_pub = _keygen(ssh / "host_ed25519", f"pb-host-{host.token}")
    client_pub = _keygen(ssh / "client_ed25519", "portbook-tests")
    (ssh / "authorized_keys").write_text(client_pub + "\n")
    (ssh / "known_hosts").write_text(f"{host.address} {host_pub}\n")
    (ssh / "sshd_config").write_text(_sshd_config(host))
    os.makedirs("/run/sshd", mode=0o755, exist_ok=True)  # sshd's privilege separation dir
    log = open(ssh / "sshd.log", "ab")  # noqa: SIM115 - handed to the child
    with log:
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


def create_host() -> SshHost:
    """Build one namespace host with a running sshd (torn down by ``destroy_host``)."""
    token = secrets.token_hex(3)
    peer, address = _pick_subnet()
    folder = Path(f"/tmp/pb-host-{token}")
    folder.mkdir(mode=0o755)
    host = SshHost(token, folder, address, peer, f"pb-ssh-{token}", f"pb{token}a")
    try:
        _start_network(host)
        _start_sshd(host)
    except BaseException:
        destroy_host(host)
        raise
    return host


def destroy_host(host: SshHost) -> None:
    """Stop what runs in the host (by pid), sshd, then delete namespace, veth and folder."""
    for target in host.targets:
        with contextlib.suppress(Exception):
            target.close()
    sshd_pid = host.sshd.pid if host.sshd else None
    _stop_pids([p for p in host.netns_pids() if p != sshd_pid])
    if host.sshd is not None and host.sshd.poll() is None:
        host.sshd.terminate()
        try:
            host.sshd.wait(timeout=5)
        except subprocess.TimeoutExpired:
            host.sshd.kill()
            host.sshd.wait(timeout=5)
    _stop_pids(host.netns_pids())
    subprocess.run(["ip", "netns", "del", host.netns], capture_output=True, check=False)
    links = subprocess.run(["ip", "-o", "link"], capture_output=True, text=True, check=False)
    if f" {host.veth}@" in links.stdout or f" {host.veth}:" in links.stdout:
        subprocess.run(["ip", "link", "del", host.veth], capture_output=True, check=False)
    shutil.rmtree(host.folder, ignore_errors=True)


def _stop_pids(pids: list[int], timeout: float = 5.0) -> None:
    """SIGTERM each pid, then SIGKILL whichever is still there after ``timeout``."""
    own = os.getpid()
    pids = [p for p in pids if p != own]
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while pids and time.monotonic() < deadline:
        pids = [p for p in pids if _alive(p)]
        time.sleep(0.05)
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat", "rb") as handle:
            state = handle.read().rsplit(b")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state not in (b"Z", b"X")


@contextlib.contextmanager
def ssh_host() -> Iterator[SshHost]:
    """A namespace SSH host for the block, torn down afterwards."""
    host = create_host()
    try:
        yield host
    finally:
        destroy_host(host)


def install_system(host: SshHost, name: str = "system") -> Settings:
    """Copy the demo (its default ports) into the host's folder; its settings.

    supervisord is run as ``<this python> -m supervisor.supervisord`` so the
    host needs no supervisord on its PATH (the filesystem is shared).
    """
    root = host.folder / name
    install_demo(str(root))
    yaml_text = f'supervisord: "{sys.executable} -m supervisor.supervisord"\nsmoke_timeout: 20\n'
    (root / "portbook.yaml").write_text(yaml_text)
    return load_settings(None, str(root), yaml_text)
