"""A small REC.IO-shaped system held in a FakeTarget: the four places, nothing on disk.

The system, as the fixtures build it::

    manifest          core: main_app 8001; watchdog: kalshi_market_watchdog 8005
    DEFAULT_PORTS     main_app 8001, kalshi_market_watchdog 8005, old_poller 8010
    supervisord.conf  [unix_http_server] file=ROOT/.run/supervisor.sock,
                      [inet_http_server] port=127.0.0.1:8002,
                      [program:main_app] (a secret in its environment),
                      [program:legacy_proxy] (command ... --port 8123)
    scripts           backend/api/main_app.py, backend/api/legacy_proxy.py
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from portbook.config import Settings, load_settings
from portbook.registry.system import System, read_system
from portbook.target import SupervisorFault
from portbook.target.fake import FakeTarget

ROOT = "/srv/recio"
MANIFEST = "backend/core/config/MASTER_PORT_MANIFEST.json"
FALLBACK = "backend/core/port_config.py"
CONF = "backend/supervisord.conf"
SOCKET = ".run/supervisor.sock"

MANIFEST_DOC: dict[str, Any] = {
    "system_info": {"name": "REC.IO Trading System", "version": "2.1"},
    "core_services": {
        "main_app": {"port": 8001, "description": "Main web application", "status": "RUNNING"},
    },
    "watchdog_services": {
        "kalshi_market_watchdog": {
            "port": 8005,
            "description": "Kalshi market watchdog",
            "status": "RUNNING",
        },
    },
}

FALLBACK_TEXT = '''"""Centralized port configuration."""

# Fallback ports: keep in step with MASTER_PORT_MANIFEST.json
DEFAULT_PORTS = {
    "main_app": 8001,
    "kalshi_market_watchdog": 8005,
    "old_poller": 8010,
}


def get_port(service_name):
    return DEFAULT_PORTS[service_name]
'''

CONF_TEXT = """; REC.IO supervisord configuration
[unix_http_server]
file={root}/.run/supervisor.sock

[inet_http_server]
port=127.0.0.1:8002

[supervisord]
logfile={root}/logs/supervisord.log
pidfile={root}/.run/supervisord.pid
directory={root}

[rpcinterface:supervisor]
supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface

[supervisorctl]
serverurl=unix://{root}/.run/supervisor.sock

[program:main_app]
command={root}/venv/bin/python backend/api/main_app.py
directory={root}
autostart=true
autorestart=true
stderr_logfile=logs/main_app.err.log
stdout_logfile=logs/main_app.out.log
environment=PYTHONPATH=".",DB_PASSWORD="hunter2"

[program:legacy_proxy]
command={root}/venv/bin/python backend/api/legacy_proxy.py --port 8123
directory={root}
autostart=true
autorestart=true
stderr_logfile=logs/legacy_proxy.err.log
stdout_logfile=logs/legacy_proxy.out.log
"""

SCRIPT = """from backend.core.port_config import get_port

PORT = get_port("{name}")
"""


def make_recio(root: str = ROOT, **manifest_changes: Any) -> FakeTarget:
    """A FakeTarget holding the system above under ``root``."""
    doc = json.loads(json.dumps(MANIFEST_DOC))
    doc.update(manifest_changes)
    target = FakeTarget(host="recio-test")
    target.put(f"{root}/{MANIFEST}", json.dumps(doc, indent=2) + "\n")
    target.put(f"{root}/{FALLBACK}", FALLBACK_TEXT)
    target.put(f"{root}/{CONF}", CONF_TEXT.format(root=root))
    for name in ("main_app", "legacy_proxy"):
        target.put(f"{root}/backend/api/{name}.py", SCRIPT.format(name=name), mode=0o755)
    target.makedirs(f"{root}/logs")
    target.makedirs(f"{root}/.run")
    return target


def settings_for(root: str = ROOT, yaml_text: str | None = None) -> Settings:
    """Settings for ``root`` with the defaults (and optional portbook.yaml text)."""
    return load_settings(None, root, yaml_text)


@pytest.fixture
def target() -> FakeTarget:
    """The REC.IO-shaped system at /srv/recio, supervisord not answering."""
    return make_recio()


@pytest.fixture
def settings() -> Settings:
    """Default settings for /srv/recio."""
    return settings_for()


@pytest.fixture
def system(target: FakeTarget, settings: Settings) -> System:
    """The fake system as read through the Target seam."""
    return read_system(target, settings)


class FakeSupervisor:
    """supervisord's XML-RPC interface, as a FakeTarget ``rpc_handler``.

    Programs are ``name -> (state, pid)``. ``addProcessGroup`` starts the new
    program as a fake process listening on ``ports[name]``; ``reload_diff``
    is what ``reloadConfig`` answers (default: just the new group added).
    """

    def __init__(self, target: FakeTarget, programs: dict[str, tuple[str, int]]) -> None:
        self.target = target
        self.programs = dict(programs)
        self.ports: dict[str, int] = {}
        self.reload_diff: tuple[list[str], list[str], list[str]] | None = None
        self.calls: list[str] = []
        self._next_pid = 600
        target.rpc_handler = self

    def __call__(self, method: str, args: tuple[Any, ...]) -> Any:
        self.calls.append(method)
        if method == "supervisor.getState":
            return {"statecode": 1, "statename": "RUNNING"}
        if method == "supervisor.getPID":
            return 99
        if method == "supervisor.getAllProcessInfo":
            return [
                {"name": n, "statename": s, "pid": p, "start": 1700000000}
                for n, (s, p) in self.programs.items()
            ]
        if method == "supervisor.reloadConfig":
            return [list(self.reload_diff or ([], [], []))]
        if method == "supervisor.addProcessGroup":
            (name,) = args
            pid = self._next_pid = self._next_pid + 1
            self.target.add_process(pid, ["python", f"backend/api/{name}.py"], ppid=99)
            if name in self.ports:
                self.target.listen(self.ports[name], pid)
            self.programs[name] = ("RUNNING", pid)
            return True
        groups = ("supervisor.stopProcessGroup", "supervisor.removeProcessGroup")
        if method in groups and args[0] not in self.programs:
            raise SupervisorFault(10, f"BAD_NAME: {args[0]}")
        if method == "supervisor.stopProcessGroup":
            _, pid = self.programs[args[0]]
            self.target.end_process(pid, 0)
            self.programs[args[0]] = ("STOPPED", 0)
            return []
        if method == "supervisor.removeProcessGroup":
            self.programs.pop(args[0])
            return True
        raise AssertionError(f"unexpected XML-RPC call {method}{args}")
