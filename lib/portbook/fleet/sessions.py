"""One SSH session per selected host, opened in parallel and kept for the whole run.

A session is the host's ``SshTarget`` and its ``Settings``: the inventory's
root, python and ``portbook`` overrides over invoke's ``portbook`` config, over
the host's own ``<root>/portbook.yaml``. A host that cannot be reached (DNS,
refused, timeout, authentication, host key) is *unreachable*; one whose
settings are wrong is refused (exit 2). Neither stops the other hosts from
being opened.
"""

from __future__ import annotations

import contextlib
import posixpath
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from ..config import Settings, load_settings
from ..errors import InvalidInput, PortbookError
from ..target import Target
from .inventory import Host

__all__ = ["HostSession", "SessionOptions", "close_sessions", "open_sessions"]


@dataclass(frozen=True)
class SessionOptions:
    """How to open sessions: invoke's ``portbook`` config, host key policy, timeout."""

    config: Mapping[str, Any]
    accept_new_keys: bool = False
    connect_timeout: int = 10


@dataclass
class HostSession:
    """A selected host: its open target and settings, or why it has none."""

    host: Host
    target: Target | None = None
    settings: Settings | None = None
    error: str | None = None
    unreachable: bool = False
    code: int = 0

    @property
    def name(self) -> str:
        """The host's inventory name."""
        return self.host.name

    @property
    def address(self) -> str:
        """Where SSH connects (``address`` or ``address:port``)."""
        port = self.host.port
        return self.host.address + (f":{port}" if port != 22 else "")


def open_sessions(hosts: Sequence[Host], options: SessionOptions) -> list[HostSession]:
    """Connect to every host at once (threads); a session per host, in the given order."""
    if not hosts:
        return []
    with ThreadPoolExecutor(max_workers=min(len(hosts), 16)) as pool:
        return list(pool.map(lambda host: _open(host, options), hosts))


def close_sessions(sessions: Sequence[HostSession]) -> None:
    """Close every open target (locks released, the serving Python stopped, SSH closed)."""
    for session in sessions:
        close = getattr(session.target, "close", None)
        if close is not None:
            with contextlib.suppress(Exception):
                close()


def host_settings(host: Host, target: Target, config: Mapping[str, Any]) -> Settings:
    """The host's settings: invoke config, then the inventory's overrides, root and python."""
    values = {k: v for k, v in config.items() if k != "root"}
    values.update(host.config)
    if host.python:
        values["python"] = host.python
    root = host.root
    if root is None:
        raise InvalidInput(f"host {host.name}: no root (set `root` in the inventory)")
    raw = target.read_optional(posixpath.join(root, "portbook.yaml"))
    return load_settings(values, root, raw.decode("utf-8", "replace") if raw else None)


def _open(host: Host, options: SessionOptions) -> HostSession:
    from ..target.ssh import connect

    session = HostSession(host)
    try:
        session.target = connect(
            host.address,
            user=host.user,
            port=host.port if host.port != 22 else None,  # else ~/.ssh/config's Port, or 22
            key_filename=host.key,
            known_hosts=host.known_hosts,
            python=host.remote_python,
            accept_new_keys=options.accept_new_keys or host.accept_new_keys,
            connect_timeout=options.connect_timeout,
        )
    except PortbookError as exc:
        session.error, session.unreachable, session.code = str(exc), True, 1
        return session
    try:
        session.settings = host_settings(host, session.target, options.config)
    except PortbookError as exc:
        session.error, session.code = str(exc), exc.code
    return session
