"""Remote calls over one Fabric Connection: host keys, the program sent, the command, the reply.

A call is one SSH command, ``exec PYTHON -c PROGRAM REQUEST``: PROGRAM joins
``ssh_remote_facts``, ``ssh_remote_files``, ``ssh_remote_spawn`` and ``ssh_remote``
(their source, as files in this package), REQUEST is JSON, and the one JSON line
that comes back is the reply. Every value reaches the remote shell through
``shlex.quote``; paths, names and argv travel inside the JSON, so nothing the
operator typed is ever parsed by a shell. ``exec`` replaces the login shell, so each
call costs one shell start (the host's rc files) plus one Python start.

The lock is the one call that stays open: its program goes in on stdin (so the
holder's command line stays short), its reply comes back, and closing its stdin
releases it.

Host keys are checked against known_hosts (Fabric alone accepts any key).

Failures raise ``RemoteError`` (the host reported one) or foreign exceptions
(paramiko, invoke, socket); ``ssh.py`` translates both, in one place.
"""

from __future__ import annotations

import contextlib
import json
import os
import shlex
from collections.abc import Callable
from importlib import resources
from typing import Any

import invoke.exceptions
import paramiko

from ..errors import TargetError

__all__ = [
    "GLOBAL_KNOWN_HOSTS",
    "PROBE_TIMEOUT",
    "AcceptNewPolicy",
    "HeldLock",
    "Remote",
    "RemoteError",
    "check_host_keys",
    "describe",
    "parse_reply",
    "program",
    "stdin_command",
]

GLOBAL_KNOWN_HOSTS = "/etc/ssh/ssh_known_hosts"
"""OpenSSH's system-wide known_hosts, read besides ``~/.ssh/known_hosts``."""

PROBE_TIMEOUT = 120.0
"""Seconds any one remote call may take beyond its own timeout before it counts as hung."""

_LOADER = """import sys
F={{"__name__": "portbook_remote_facts"}}
exec(compile({facts!r}, "ssh_remote_facts.py", "exec"), F)
W={{"__name__": "portbook_remote_files"}}
exec(compile({files!r}, "ssh_remote_files.py", "exec"), W)
S={{"__name__": "portbook_remote_spawn"}}
exec(compile({spawn!r}, "ssh_remote_spawn.py", "exec"), S)
A={{"__name__": "portbook_remote"}}
exec(compile({actions!r}, "ssh_remote.py", "exec"), A)
sys.exit(A["main"](sys.argv, dict(F["OPS"], **W["OPS"], **S["OPS"], **A["OPS"])))
"""

_PROGRAM: list[str] = []


class RemoteError(Exception):
    """The host answered with an error (``kind``: os, timeout, connect, locked...)."""

    def __init__(self, kind: str, text: str) -> None:
        super().__init__(text)
        self.kind = kind
        self.text = text


def program() -> str:
    """The Python program a call runs on the host (the four remote modules, loaded in order)."""
    if not _PROGRAM:
        here = resources.files(__package__ or "portbook.target")
        facts = here.joinpath("ssh_remote_facts.py").read_text(encoding="utf-8")
        files = here.joinpath("ssh_remote_files.py").read_text(encoding="utf-8")
        spawn = here.joinpath("ssh_remote_spawn.py").read_text(encoding="utf-8")
        actions = here.joinpath("ssh_remote.py").read_text(encoding="utf-8")
        _PROGRAM.append(_LOADER.format(facts=facts, files=files, spawn=spawn, actions=actions))
    return _PROGRAM[0]


def stdin_command(python: str, request: dict[str, Any], size: int) -> str:
    """``exec PYTHON -c BOOT REQUEST``, every part quoted for the remote shell; BOOT reads
    the program (``size`` bytes) from stdin first, so a long program costs no argv space."""
    boot = f"import sys;exec(sys.stdin.buffer.read({int(size)}))"
    return " ".join(
        ["exec", shlex.quote(python), "-c", shlex.quote(boot), shlex.quote(json.dumps(request))]
    )


def parse_reply(stdout: str, stderr: str, code: int | None, python: str) -> Any:
    """The ``ok`` value of the reply line; RemoteError for an error reply or no reply."""
    lines = [line for line in stdout.splitlines() if line.startswith("{")]
    if not lines:
        detail = (stderr.strip().splitlines() or [f"exit code {code}, no reply"])[-1]
        if code == 127:
            detail = f"{python} not found on the host ({detail})"
        raise RemoteError("protocol", detail)
    doc = json.loads(lines[-1])
    if "error" in doc:
        raise RemoteError(str(doc.get("kind", "os")), str(doc["error"]))
    return doc.get("ok")


class Remote:
    """Sends requests to the host's Python: one long-lived ``serve`` process per connection.

    The first call starts ``PYTHON -c LOADER {"op": "serve"}`` on a session
    channel (one remote command: a shell and a Python start); every call after
    that is one JSON line each way on that channel. A call that times out or
    finds the channel gone drops it; the next call starts a new one.
    ``count(True)`` is called for every command started, ``count(False)`` for
    any other exchange that waits for the host.
    """

    def __init__(self, connection: Any, python: str, count: Callable[[bool], None]) -> None:
        self.connection = connection
        self.python = python
        self.count = count
        self.use_psutil = True
        self._channel: Any = None
        self._reader: Any = None

    def call(self, op: str, args: dict[str, Any], budget: float = 0.0) -> Any:
        """Run one request on the host; its reply's ``ok`` value.

        ``budget`` is how long the request itself may take (a command's own
        timeout); the call is abandoned after that plus PROBE_TIMEOUT.
        """
        request = {"op": op, "ps": self.use_psutil, **args}
        if self._channel is None or self._channel.closed:
            self._start()
        self.count(False)
        try:
            self._channel.settimeout(PROBE_TIMEOUT + budget)
            self._channel.sendall((json.dumps(request) + "\n").encode())
            line = self._reader.readline()
        except BaseException:
            self.close()
            raise
        if not line:
            self.close()
            raise RemoteError("protocol", f"{self.python} on the host stopped answering")
        return parse_reply(line.decode("utf-8", "replace"), "", 0, self.python)

    def close(self) -> None:
        """Close the serving channel (the host's Python sees EOF and exits)."""
        channel, self._channel, self._reader = self._channel, None, None
        if channel is not None:
            with contextlib.suppress(Exception):
                channel.close()

    def _start(self) -> None:
        source = program().encode()
        self.count(True)
        channel = self.connection.create_session()
        try:
            channel.settimeout(PROBE_TIMEOUT)
            channel.exec_command(stdin_command(self.python, {"op": "serve"}, len(source)))
            channel.sendall(source)
            reader = channel.makefile("rb")
            line = reader.readline().decode("utf-8", "replace")
            if not line:
                stderr = channel.makefile_stderr("rb").read().decode("utf-8", "replace")
                parse_reply("", stderr, channel.recv_exit_status(), self.python)
            parse_reply(line, "", 0, self.python)
        except BaseException:
            channel.close()
            raise
        self._channel, self._reader = channel, reader

    def lock(self, folder: str, info: str, wait: bool) -> HeldLock:
        """flock ``folder`` on the host (held by the serving Python) until released."""
        budget = WAIT_BUDGET if wait else 0.0
        held = self.call("acquire", {"folder": folder, "info": info, "wait": wait}, budget)
        return HeldLock(self, self._channel, folder, int(held["pid"]), str(held["since"]))

    def serves_on(self, channel: Any) -> bool:
        """True while ``channel`` is still the one this Remote's requests go to."""
        return self._channel is channel


WAIT_BUDGET = 7 * 24 * 3600.0
"""How long ``--wait`` may wait for another run's lock (the host checks we are still there)."""


class HeldLock:
    """A lock the serving Python holds on the host; ``release`` asks it to let go.

    If that process or its channel is gone, the host saw EOF (or the process
    died) and the kernel dropped the flock: the lock is lost.
    """

    def __init__(self, remote: Remote, channel: Any, folder: str, pid: int, since: str) -> None:
        self.remote = remote
        self.channel = channel
        self.folder = folder
        self.pid = pid
        self.since = since

    def lost(self) -> bool:
        """True when the serving process or its channel is gone (or was replaced)."""
        transport = self.channel.get_transport()
        return bool(
            not self.remote.serves_on(self.channel)
            or self.channel.closed
            or self.channel.exit_status_ready()
            or transport is None
            or not transport.is_active()
        )

    def check(self, host: str) -> None:
        """Refuse to go on once the holder is gone: another run may hold the lock by now.

        (Fabric would quietly reconnect for the next command; the run must stop.)
        """
        if self.lost():
            raise TargetError(
                f"{host}: the connection was lost, and with it the lock on {self.folder}; stopping"
            )

    def release(self, timeout: float = 30.0) -> None:
        """Let go: the host removes the info file and unlocks (nothing to do if lost)."""
        if not self.lost():
            self.remote.call("release", {"folder": self.folder}, timeout)


class AcceptNewPolicy(paramiko.MissingHostKeyPolicy):  # type: ignore[misc]
    """OpenSSH's ``accept-new``: record an unknown host's key; a changed key is still refused.

    paramiko itself raises ``BadHostKeyException`` for a known name whose key
    differs, before any policy is asked.
    """

    def __init__(self, record_in: str) -> None:
        self.record_in = record_in

    def missing_host_key(self, client: Any, hostname: str, key: Any) -> None:
        """Append ``hostname key`` to the known_hosts file and accept it."""
        folder = os.path.dirname(self.record_in)
        if folder:
            os.makedirs(folder, mode=0o700, exist_ok=True)
        with open(self.record_in, "a", encoding="ascii") as handle:
            handle.write(f"{hostname} {key.get_name()} {key.get_base64()}\n")
        client.get_host_keys().add(hostname, key.get_name(), key)


def check_host_keys(connection: Any, known_hosts: str | None, accept_new: bool = False) -> None:
    """Refuse unknown or changed host keys (Fabric alone accepts any); check an open connection.

    Keys come from ``/etc/ssh/ssh_known_hosts``, ``~/.ssh/known_hosts`` (hashed
    entries too) and ``known_hosts`` when given (which must exist, unless
    ``accept_new``). With ``accept_new`` an unknown host's key is recorded in
    ``known_hosts`` (else ``~/.ssh/known_hosts``) and accepted.
    """
    user_file = os.path.expanduser("~/.ssh/known_hosts")
    if known_hosts and not os.path.exists(known_hosts) and not accept_new:
        raise FileNotFoundError(2, f"no such known_hosts file: {known_hosts}")
    paths = [GLOBAL_KNOWN_HOSTS, user_file, known_hosts or ""]
    paths = [path for path in paths if path and os.path.exists(path)]
    client = connection.client
    if accept_new:
        client.set_missing_host_key_policy(AcceptNewPolicy(known_hosts or user_file))
    else:
        client.set_missing_host_key_policy(paramiko.RejectPolicy())
    for path in paths:
        client.load_system_host_keys(path)
    if connection.is_connected:
        port = int(connection.port or 22)
        name = connection.host if port == 22 else f"[{connection.host}]:{port}"
        keys = paramiko.HostKeys()
        for path in paths:
            keys.load(path)
        remote_key = connection.transport.get_remote_server_key()
        if accept_new and keys.lookup(name) is None:
            AcceptNewPolicy(known_hosts or user_file).missing_host_key(client, name, remote_key)
        elif not keys.check(name, remote_key):
            raise paramiko.SSHException(f"host key of {name} is not in known_hosts")


def describe(exc: BaseException) -> str:
    """One line for a foreign exception (paramiko, invoke, socket)."""
    if isinstance(exc, invoke.exceptions.CommandTimedOut):
        return f"no answer within {exc.timeout:g}s"
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return str(exc) or type(exc).__name__
