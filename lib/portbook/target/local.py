"""The local host as a Target: pathlib-style file I/O, subprocess and psutil.

Files are :mod:`.local_files`, processes and sockets :mod:`.local_processes`; this module
adds supervisord's XML-RPC over its unix socket and the lock.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import socket
import time
import xmlrpc.client
from collections.abc import Iterator, Sequence
from typing import Any

from ..errors import Locked, TargetError
from .base import SupervisorFault, read_each
from .local_errors import translated
from .local_files import LocalFiles
from .local_processes import LocalProcesses

__all__ = ["LocalTarget"]


class LocalTarget(LocalProcesses, LocalFiles):
    """The machine portbook runs on."""

    def __init__(self) -> None:
        """The local host, named ``local``."""
        super().__init__()
        self.host = "local"

    def read_many(self, paths: Sequence[str]) -> dict[str, bytes | None]:
        """Each path's bytes; None when it is missing or cannot be read."""
        return read_each(self, paths)

    def rpc(self, socket_path: str, method: str, *args: Any) -> Any:
        """Call supervisord's XML-RPC interface over its unix socket."""
        proxy = xmlrpc.client.ServerProxy("http://127.0.0.1", transport=_UnixTransport(socket_path))
        try:
            return getattr(proxy, method)(*args)
        except xmlrpc.client.Fault as exc:
            raise SupervisorFault(exc.faultCode, exc.faultString) from exc
        except (OSError, xmlrpc.client.ProtocolError) as exc:
            raise TargetError(f"supervisord at {socket_path} did not answer: {exc}") from exc

    def environ(self) -> dict[str, str]:
        """The environment processes started on this host inherit."""
        return dict(os.environ)

    @contextlib.contextmanager
    def hold_lock(self, folder: str, info_path: str, wait: bool) -> Iterator[None]:
        """flock ``folder`` for the block; "PID TIME" goes to ``info_path`` while held.

        Locking the folder itself (not a lock file) means a refused or finished
        run leaves no file behind; the info file and its empty parent are removed
        on release.
        """
        with translated(f"cannot lock {folder}"):
            fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
        try:
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if not wait:
                        raise Locked(_lock_holder(folder, info_path)) from None
                    time.sleep(0.2)
            stamp = time.strftime("%Y-%m-%dT%H:%M:%S%z")
            self.makedirs(os.path.dirname(info_path))
            self.write_atomic(info_path, f"{os.getpid()} {stamp}\n".encode())
            try:
                yield
            finally:
                self.remove(info_path)
                self.remove_empty_dir(os.path.dirname(info_path))
        finally:
            os.close(fd)


class _UnixTransport(xmlrpc.client.Transport):
    """HTTP over a unix socket, as supervisorctl talks to supervisord."""

    def __init__(self, socket_path: str) -> None:
        super().__init__()
        self._socket_path = socket_path

    def make_connection(self, host: Any) -> Any:
        import http.client

        path = self._socket_path

        class _Conn(http.client.HTTPConnection):
            def connect(self) -> None:
                self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                self.sock.settimeout(30)
                self.sock.connect(path)

        return _Conn("localhost")


def _lock_holder(folder: str, info_path: str) -> str:
    deadline = time.monotonic() + 1.0  # the holder writes its pid just after it takes the lock
    while True:
        try:
            with open(info_path, "rb") as handle:
                words = handle.read(200).decode(errors="replace").split()
        except OSError:
            words = []
        if len(words) >= 2:
            return f"{folder}: locked by pid {words[0]} since {words[1]}"
        if time.monotonic() > deadline:
            return f"{folder}: locked by another portbook run"
        time.sleep(0.02)
