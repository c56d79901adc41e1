"""Real parts for integration tests: a demo system copy, its own supervisord, real ports."""

from __future__ import annotations

import contextlib
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from portbook.config import Settings, load_settings
from portbook.demo import demo_up, install_demo
from portbook.supervisor import Supervisor
from portbook.system import read_system
from portbook.target import LocalTarget

REPO = Path(__file__).resolve().parents[2]
DEMO_SERVICES = ("main_app", "trade_manager", "trade_executor", "btc_price_watchdog", "db_poller")
_used_bases: set[int] = set()


def _free_base() -> int:
    """A random block of 300 ports in 20000-29999 none of which anything listens on now."""
    while True:
        base = 20000 + 300 * random.randrange(33)
        if base not in _used_bases and all(_port_free(p) for p in range(base, base + 300, 3)):
            _used_bases.add(base)
            if len(_used_bases) > 20:
                _used_bases.clear()
            return base


def _port_free(port: int) -> bool:
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


@dataclass
class DemoSystem:
    """A running copy of the demo system in a short temp folder."""

    root: str
    base: int
    target: LocalTarget

    @property
    def settings(self) -> Settings:
        """Settings as the CLI would load them for this root."""
        yaml_text = Path(self.root, "portbook.yaml").read_text()
        return load_settings(None, self.root, yaml_text)

    def supervisor(self) -> Supervisor:
        """The demo's supervisord."""
        return Supervisor(self.target, read_system(self.target, self.settings))

    def states(self) -> dict[str, tuple[str, int]]:
        """Supervisor's process list: name -> (state, pid), read straight from its socket."""
        socket_path = os.path.join(self.root, ".run", "supervisor.sock")
        infos = self.target.rpc(socket_path, "supervisor.getAllProcessInfo")
        return {i["name"]: (i["statename"], i["pid"]) for i in infos}

    def files(self) -> dict[str, tuple[bytes, int]]:
        """Every managed file's bytes and mode (logs, runtime and journal folders excluded)."""
        out = {}
        for path in Path(self.root).rglob("*"):
            rel = path.relative_to(self.root).as_posix()
            if (
                path.is_file()
                and not rel.startswith(("logs/", ".run/", ".portbook/"))
                and "__pycache__" not in rel
            ):
                out[rel] = (path.read_bytes(), path.stat().st_mode)
        return out

    def cli(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        """Run ``python -m portbook ARGS --root ROOT`` as an operator would."""
        return subprocess.run(
            [sys.executable, "-m", "portbook", *args, "--root", self.root],
            capture_output=True,
            text=True,
            timeout=timeout,
            env=cli_env(),
            cwd=self.root,
        )

    def port(self, name: str) -> int:
        """The demo port of a service in this copy."""
        return self.base + DEMO_SERVICES.index(name)


def cli_env() -> dict[str, str]:
    """The environment for CLI subprocesses: portbook importable from the checkout."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(REPO / "lib"), str(REPO)])
    return env


def make_demo(start: bool = True) -> DemoSystem:
    """Install a demo copy with its own ports (and start it)."""
    base = _free_base()
    root = tempfile.mkdtemp(prefix="pb-")
    ports = {name: base + i for i, name in enumerate(DEMO_SERVICES)}
    install_demo(root, ports)
    Path(root, "portbook.yaml").write_text(
        f"ranges:\n  core: [{base + 100}, {base + 199}]\n  watchdog: [{base + 100}, {base + 199}]\n"
        "smoke_timeout: 20\n"
    )
    system = DemoSystem(root, base, LocalTarget())
    if start:
        demo_up(system.target, system.settings)
    return system


def teardown_demo(system: DemoSystem) -> None:
    """Shut its supervisord down and kill any process still running from inside the root."""
    try:
        supervisor = system.supervisor()
        if supervisor.is_up():
            supervisor.shutdown(timeout=20)
    except Exception:
        pass
    import psutil

    for proc in psutil.process_iter(["pid", "cwd", "cmdline"]):
        cwd = proc.info.get("cwd") or ""
        if cwd == system.root or cwd.startswith(system.root + "/"):
            with contextlib.suppress(psutil.Error):
                proc.send_signal(signal.SIGKILL)
    time.sleep(0.1)
    shutil.rmtree(system.root, ignore_errors=True)


@pytest.fixture
def demo() -> Iterator[DemoSystem]:
    """A running demo system, torn down afterwards."""
    system = make_demo()
    try:
        yield system
    finally:
        teardown_demo(system)
