"""An oracle apart from the code under test: did an ADD really happen on a demo copy?

It reads the four places with the standard library alone (``json``, ``ast``,
``configparser``), asks supervisord over its socket with supervisor's own XML-RPC
transport, and asks the kernel (psutil) which process listens on the port. It imports
nothing of portbook, so a benchmark can judge portbook, Ansible and a restart script by
the same rule.
"""

from __future__ import annotations

import ast
import configparser
import contextlib
import json
import os
import socket
import time
import xmlrpc.client
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil
from supervisor.xmlrpc import SupervisorTransport

MANIFEST = "backend/core/config/MASTER_PORT_MANIFEST.json"
FALLBACK = "backend/core/port_config.py"
CONF = "backend/supervisord.conf"
SOCKET = ".run/supervisor.sock"

__all__ = ["Added", "Verdict", "program_pids", "rpc", "verify_added"]


@dataclass(frozen=True)
class Added:
    """What the ADD was asked to do."""

    name: str
    port: int
    category: str  # core | watchdog
    script: str  # path relative to the root
    script_text: str


@dataclass
class Verdict:
    """Each fact the oracle checked, and whether it held."""

    facts: dict[str, bool] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when every fact held."""
        return bool(self.facts) and all(self.facts.values())

    @property
    def failed(self) -> str:
        """The facts that did not hold, and the notes, on one line."""
        bad = [name for name, held in self.facts.items() if not held]
        return "; ".join([*bad, *self.notes])


def rpc(root: str) -> Any:
    """An XML-RPC proxy to the copy's supervisord, through supervisor's own transport."""
    transport = SupervisorTransport(None, None, "unix://" + os.path.join(root, SOCKET))
    return xmlrpc.client.ServerProxy("http://127.0.0.1", transport=transport)


def program_pids(root: str) -> dict[str, int]:
    """Every program's pid as supervisord reports it (0 when not running)."""
    return {i["name"]: int(i["pid"]) for i in rpc(root).supervisor.getAllProcessInfo()}


def _fallback_ports(text: str) -> dict[str, int]:
    for node in ast.parse(text).body:
        if isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == "DEFAULT_PORTS" for t in node.targets
        ):
            value: dict[str, int] = ast.literal_eval(node.value)
            return value
    return {}


def _conf_command(root: Path, name: str) -> str | None:
    parser = configparser.RawConfigParser(inline_comment_prefixes=(";", "#"), strict=False)
    parser.read_string((root / CONF).read_text())
    section = f"program:{name}"
    return parser.get(section, "command") if parser.has_section(section) else None


def _listeners(port: int) -> set[int]:
    return {
        c.pid
        for c in psutil.net_connections(kind="inet")
        if c.status == psutil.CONN_LISTEN and c.laddr and c.laddr.port == port and c.pid
    }


def _tree(pid: int) -> set[int]:
    with contextlib.suppress(psutil.Error):
        return {pid, *(c.pid for c in psutil.Process(pid).children(recursive=True))}
    return set()


def _accepts(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1.0):
            return True
    except OSError:
        return False


def _files(root: Path, want: Added) -> dict[str, bool]:
    manifest = json.loads((root / MANIFEST).read_text())
    entry = manifest.get(f"{want.category}_services", {}).get(want.name) or {}
    command = _conf_command(root, want.name) or ""
    script = root / want.script
    return {
        "manifest entry with the port": entry.get("port") == want.port,
        "DEFAULT_PORTS entry with the port": _fallback_ports((root / FALLBACK).read_text()).get(
            want.name
        )
        == want.port,
        "[program:NAME] runs the script": want.script in command,
        "script as asked": script.is_file() and script.read_text() == want.script_text,
    }


def verify_added(root: str, want: Added, settle: float = 10.0) -> Verdict:
    """Check the ADD on ``root``: the four places, supervisor RUNNING, the port owned.

    Waits up to ``settle`` s for supervisor to call the program RUNNING (a method that
    returns as soon as the port listens may finish before ``startsecs`` is over).
    """
    verdict = Verdict()
    try:
        verdict.facts.update(_files(Path(root), want))
    except (OSError, ValueError, SyntaxError, configparser.Error) as exc:
        verdict.facts["the four places readable"] = False
        verdict.notes.append(f"{type(exc).__name__}: {exc}")
    deadline = time.monotonic() + settle
    info: dict[str, Any] = {}
    while True:
        try:
            info = rpc(root).supervisor.getProcessInfo(want.name)
        except (OSError, xmlrpc.client.Error) as exc:
            info = {"statename": f"unknown ({type(exc).__name__}: {exc})", "pid": 0}
        if info.get("statename") == "RUNNING" or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    pid = int(info.get("pid") or 0)
    verdict.facts["supervisor says RUNNING"] = info.get("statename") == "RUNNING"
    verdict.facts["its pid (or a child) listens on the port"] = bool(
        pid and _listeners(want.port) & _tree(pid)
    )
    verdict.facts["the port accepts a connection"] = _accepts(want.port)
    if info.get("statename") != "RUNNING":
        verdict.notes.append(f"state {info.get('statename')}")
    return verdict
