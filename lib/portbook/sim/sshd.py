"""The sshd of a simulated host: its keys, its own config, started inside the namespace.

sshd runs as ``ip netns exec NETNS sshd -D -f OWN_CONFIG`` on port 22 in its own
session, so it outlives its builder; nothing in /etc/ssh is read.
"""

from __future__ import annotations

import os
import socket
import subprocess
import time
from pathlib import Path

from .ssh_host import SshHost

__all__ = ["SSHD", "generate_key", "start_sshd"]

SSHD = "/usr/sbin/sshd"
_SFTP = ("/usr/lib/openssh/sftp-server", "/usr/libexec/openssh/sftp-server")


def generate_key(path: Path, comment: str) -> str:
    """Generate an ed25519 key pair at ``path`` (+ ``.pub``); the public key's line."""
    subprocess.run(
        ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", comment, "-f", str(path)],
        check=True,
        capture_output=True,
        stdin=subprocess.DEVNULL,
    )
    return path.with_suffix(".pub").read_text().strip()


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


def start_sshd(host: SshHost) -> None:
    """Write the host's keys and config, start its sshd (``host.sshd``), wait for port 22."""
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
