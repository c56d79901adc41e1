"""A host over SSH as a Target: one Fabric Connection, one Python on the host serving it.

Agentless: the host needs sshd, a POSIX login shell, python3, supervisord and
the system; nothing is installed. At its first call the connection starts one
Python process on the host (``ssh_exec.Remote``): the program (``ssh_remote``,
``ssh_remote_files``, ``ssh_remote_facts``, ``ssh_remote_spawn``) is sent over the channel, and each
file read or atomic write, probe, signal, spawn or XML-RPC call to supervisord
is one JSON line each way, however much it reads: one shell and one Python
start per connection, not per call. (SFTP was used for files at first; a write
cost seven round trips there, one here, and the write code is now the same one
LocalTarget runs.) The lock is a second remote process holding ``flock`` on the
root for as long as its channel stays open: it dies with the connection, never
stale.

Host keys are checked (``~/.ssh/known_hosts``, plus ``known_hosts`` when given):
an unknown or changed key refuses the connection. ``commands`` counts remote
commands started, ``round_trips`` every exchange that waits for the host
(commands and requests), so callers can see what a procedure costs.

Foreign exceptions (paramiko, invoke, socket, the remote program's errors) are
translated into ``TargetError`` here, in ``_translated``, and nowhere else.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import json
import xml.parsers.expat
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import invoke.exceptions
import paramiko
from fabric import Connection

from ..errors import Locked, PortbookError, TargetError
from .base import RunResult, Target
from .ssh_calls import RemoteCalls, env_json
from .ssh_exec import HeldLock, Remote, RemoteError, check_host_keys, describe

__all__ = ["SshTarget", "connect"]

_FOREIGN = (
    OSError,
    EOFError,
    UnicodeDecodeError,
    json.JSONDecodeError,
    binascii.Error,
    paramiko.SSHException,
    invoke.exceptions.Failure,
    invoke.exceptions.ThreadException,
    xml.parsers.expat.ExpatError,
)


class SshTarget(RemoteCalls):
    """A host reached over one SSH connection; see the module docstring."""

    def __init__(
        self,
        connection: Connection,
        *,
        known_hosts: str | None = None,
        python: str = "python3",
        use_psutil: bool = True,
        check_host_key: bool = True,
        accept_new_keys: bool = False,
    ) -> None:
        self.connection = connection
        port = int(connection.port or 22)
        self.host = connection.original_host + (f":{port}" if port != 22 else "")
        self.commands = 0
        self._trips = 0
        self._facts: dict[str, Any] | None = None
        self._remote = Remote(connection, python, self._count)
        self._remote.use_psutil = use_psutil
        self._spawned: dict[int, tuple[str, int]] = {}
        self._exited: dict[int, int] = {}
        self._locks: dict[int, HeldLock] = {}
        if check_host_key:
            with self._translated("host key check failed"):
                check_host_keys(connection, known_hosts, accept_new_keys)

    # --- connection ----------------------------------------------------------------------

    @property
    def round_trips(self) -> int:
        """Exchanges that waited for the host: commands, requests, lock releases."""
        return self._trips

    def open(self) -> None:
        """Connect (host key checked) and learn the host's Python and environment."""
        with self._translated("cannot connect"):
            self.connection.open()
        self._load_facts()

    def close(self) -> None:
        """Release held locks, stop the serving Python and close the connection."""
        for held in list(self._locks.values()):
            with contextlib.suppress(Exception):
                held.release(timeout=5)
        self._locks.clear()
        self._remote.close()
        self.connection.close()

    def __enter__(self) -> SshTarget:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- files (the serving Python, ssh_remote_files: one round trip each) ---------------

    def read_optional(self, path: str) -> bytes | None:
        """The file's bytes, or None when it does not exist."""
        data = self._call("read", f"cannot read {path}", path=path)
        return None if data is None else base64.b64decode(data)

    def write_atomic(self, path: str, data: bytes, mode: int | None = None) -> None:
        """Replace ``path`` atomically (temp file, fsync, rename), keeping mode and owner."""
        encoded = base64.b64encode(data).decode("ascii")
        self._call("write", f"cannot write {path}", path=path, data=encoded, mode=mode)

    def remove(self, path: str) -> None:
        """Delete a file; a missing file is not an error."""
        self._call("remove", f"cannot remove {path}", path=path)

    def file_mode(self, path: str) -> int | None:
        """The permission bits of ``path``, or None when it does not exist."""
        mode = self._call("file_mode", f"cannot stat {path}", path=path)
        return None if mode is None else int(mode)

    def makedirs(self, path: str) -> None:
        """Create a folder and its parents; existing is fine."""
        self._call("makedirs", f"cannot create {path}", path=path)

    def remove_empty_dir(self, path: str) -> None:
        """Remove a folder if it is empty; a missing or non-empty folder is left as it is."""
        self._call("remove_empty_dir", f"cannot remove {path}", path=path)

    def append_bytes(self, path: str, data: bytes) -> None:
        """Append ``data`` to ``path`` (created 0640 when missing) in one write, then fsync."""
        encoded = base64.b64encode(data).decode("ascii")
        self._call("append", f"cannot append to {path}", path=path, data=encoded)

    def glob(self, pattern: str) -> list[str]:
        """Sorted paths matching a shell pattern, as Python's ``glob.glob`` on the host."""
        found = self._call("glob", f"cannot glob {pattern}", pattern=pattern)
        return sorted(str(p) for p in found)

    # --- commands and processes (one remote Python call each) ----------------------------

    def run(
        self,
        argv: Sequence[str],
        cwd: str | None = None,
        env: Mapping[str, str] | None = None,
        timeout: float = 60.0,
    ) -> RunResult:
        """Run a command to completion; a non-zero exit is returned, not raised."""
        args = {"argv": list(argv), "cwd": cwd, "env": env_json(env), "timeout": timeout}
        try:
            done = self._call("run", f"cannot run {argv[0]}", budget=timeout, **args)
        except TargetError as exc:
            if isinstance(exc.__cause__, RemoteError) and exc.__cause__.kind == "timeout":
                raise TargetError(
                    f"{self.host}: {argv[0]} did not finish within {timeout:g}s"
                ) from exc
            raise
        return RunResult(int(done["code"]), str(done["stdout"]), str(done["stderr"]))

    @contextlib.contextmanager
    def hold_lock(self, folder: str, info_path: str, wait: bool) -> Iterator[None]:
        """flock ``folder`` on the host for the block; "PID TIME" of the holder in ``info_path``.

        The holder is the serving Python on the host, so a local portbook run there
        and this one exclude each other. Its pid is in ``own_pids`` while held.
        """
        with self._translated(f"cannot lock {folder}"):
            self._load_facts()
            try:
                held = self._remote.lock(folder, info_path, wait)
            except RemoteError as exc:
                if exc.kind == "locked":
                    raise Locked(f"{folder}: {exc.text}") from None
                raise
        self._locks[held.pid] = held
        try:
            yield
        finally:
            del self._locks[held.pid]
            # best effort: if the connection is gone, the host saw EOF and let go already
            with contextlib.suppress(RemoteError, *_FOREIGN):
                held.release()

    # --- internals -----------------------------------------------------------------------

    @contextlib.contextmanager
    def _translated(self, action: str) -> Iterator[None]:
        """The one place foreign and remote errors become TargetError naming action and host."""
        try:
            yield
        except PortbookError:
            raise
        except RemoteError as exc:
            raise TargetError(f"{self.host}: {action}: {exc.text}") from exc
        except _FOREIGN as exc:
            raise TargetError(f"{self.host}: {action}: {describe(exc)}") from exc

    def _count(self, command: bool) -> None:
        self._trips += 1
        self.commands += int(command)

    def _load_facts(self) -> dict[str, Any]:
        if self._facts is None:
            with self._translated(f"cannot start {self._remote.python}"):
                facts = self._remote.call("facts", {})
            # the interpreter's real path from now on: no PATH lookups, no pyenv shims
            self._remote.python = str(facts["python"] or self._remote.python)
            self._facts = facts
        return self._facts

    def _call(self, op: str, action: str, budget: float = 0.0, **args: Any) -> Any:
        self._check_locks()
        self._load_facts()
        with self._translated(action):
            return self._remote.call(op, args, budget)

    def _check_locks(self) -> None:
        for held in self._locks.values():
            held.check(self.host)


def connect(
    host: str,
    *,
    user: str | None = None,
    port: int | None = None,
    key_filename: str | None = None,
    known_hosts: str | None = None,
    use_agent: bool = True,
    python: str = "python3",
    use_psutil: bool = True,
    connect_timeout: int = 10,
    accept_new_keys: bool = False,
) -> SshTarget:
    """Open an SshTarget to ``host`` (``user@host:port`` works too); host key checked.

    ``key_filename`` alone is tried when given (no other keys looked for);
    ``known_hosts`` adds a known_hosts file to ``~/.ssh/known_hosts``;
    ``accept_new_keys`` records an unknown host's key there (a changed key is refused).
    """
    kwargs: dict[str, Any] = {"allow_agent": use_agent}
    if key_filename:
        kwargs.update(key_filename=key_filename, look_for_keys=False)
    connection = Connection(
        host, user=user, port=port, connect_timeout=connect_timeout, connect_kwargs=kwargs
    )
    target = SshTarget(
        connection,
        known_hosts=known_hosts,
        python=python,
        use_psutil=use_psutil,
        accept_new_keys=accept_new_keys,
    )
    try:
        target.open()
    except BaseException:
        target.close()
        raise
    return target


def _conforms(target: SshTarget) -> Target:
    """Type-check only: SshTarget satisfies the Target protocol."""
    return target
