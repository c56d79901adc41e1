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
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psutil
import pytest
from portbook.config import Settings, load_settings
from portbook.host.supervisor import Supervisor
from portbook.registry.system import read_system
from portbook.sim.demo import demo_up, install_demo
from portbook.target import LocalTarget

from ..leakcheck import session_tempdir

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
        """Run ``python -m playbooks ARGS --root ROOT`` as an operator would."""
        return subprocess.run(
            [sys.executable, "-m", "playbooks", *args, "--root", self.root],
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
    """Install a demo copy with its own ports in the run's folder (and start it).

    If anything fails on the way (a service that never listens makes ``demo_up``
    raise), the copy's supervisord, programs and folder are removed before the
    error goes on: the caller's try/finally has not begun yet.
    """
    base = _free_base()
    root = session_tempdir("pb-")
    system = DemoSystem(root, base, LocalTarget())
    try:
        install_demo(root, {name: base + i for i, name in enumerate(DEMO_SERVICES)})
        Path(root, "portbook.yaml").write_text(
            f"ranges:\n  core: [{base + 100}, {base + 199}]\n"
            f"  watchdog: [{base + 100}, {base + 199}]\nsmoke_timeout: 20\n"
        )
        if start:
            demo_up(system.target, system.settings)
    except BaseException:
        teardown_demo(system, graceful=False)
        raise
    return system


def teardown_demo(system: DemoSystem, graceful: bool = True) -> None:
    """Shut its supervisord down, kill whatever still runs from inside the root, remove it.

    ``graceful=False`` SIGKILLs supervisord instead (a wedged program would make a
    shutdown wait out its stopwaitsecs). Processes are found by their cwd or an
    argument inside the root (supervisord's ``-c``), again until none is left, so a
    program supervisord spawned just before it died goes too. The root's ``venv``
    is a link into the running virtualenv: removed as a link, never followed.
    """
    with contextlib.suppress(Exception):
        supervisor = system.supervisor()
        if supervisor.is_up() and graceful:
            supervisor.shutdown(timeout=20)
        elif supervisor.is_up():
            os.kill(supervisor.pid(), signal.SIGKILL)
    deadline = time.monotonic() + 10
    while (procs := _inside(system.root)) and time.monotonic() < deadline:
        for proc in procs:
            with contextlib.suppress(psutil.Error):
                proc.kill()
        psutil.wait_procs(procs, timeout=2)
    shutil.rmtree(system.root, ignore_errors=True)


def _inside(root: str) -> list[psutil.Process]:
    """Live processes (not this one) whose cwd, or one of whose arguments, is inside ``root``."""
    found = []
    for proc in psutil.process_iter(["cwd", "cmdline", "status"]):
        args = [proc.info["cwd"] or "", *(proc.info["cmdline"] or [])]
        inside = any(a == root or root + "/" in a for a in args)
        if inside and proc.pid != os.getpid() and proc.info["status"] != psutil.STATUS_ZOMBIE:
            found.append(proc)
    return found


@pytest.fixture
def demo() -> Iterator[DemoSystem]:
    """A running demo system, torn down afterwards."""
    system = make_demo()
    try:
        yield system
    finally:
        teardown_demo(system)


# --- helpers for restart, status and recovery tests --------------------------------------

WEDGED_SERVICE = '''"""REC.IO demo service: {name}, wedged: it ignores SIGTERM (a test double)."""

import contextlib
import signal

import uvicorn

from backend.core.health import health_app
from backend.core.port_config import get_port

SERVICE_PORT = get_port("{name}")
app = health_app("{name}")


class Stubborn(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self):
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        yield


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    config = uvicorn.Config(app, host="127.0.0.1", port=SERVICE_PORT, log_level="warning")
    Stubborn(config).run()
'''


def wedge(system: DemoSystem, name: str) -> None:
    """Replace ``name``'s script with one that ignores SIGTERM (before the demo starts)."""
    Path(system.root, "backend", "api", f"{name}.py").write_text(WEDGED_SERVICE.format(name=name))


def set_yaml(system: DemoSystem, **values: object) -> None:
    """Append settings to the demo's portbook.yaml."""
    with open(Path(system.root, "portbook.yaml"), "a") as handle:
        for key, value in values.items():
            handle.write(f"{key}: {value}\n")


def kill_supervisord(system: DemoSystem) -> dict[str, int]:
    """SIGKILL the demo's supervisord, leaving its programs running as orphans; their pids."""
    states = {name: pid for name, (_, pid) in system.states().items()}
    pid = system.supervisor().pid()
    os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            if psutil.Process(pid).status() == psutil.STATUS_ZOMBIE:
                break
        except psutil.NoSuchProcess:
            break
        time.sleep(0.05)
    return states


def alive(pid: int) -> bool:
    """True while ``pid`` runs (a zombie counts as gone)."""
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def wait_dead(pid: int, timeout: float = 10.0) -> bool:
    """Wait until ``pid`` is gone; False on timeout."""
    deadline = time.monotonic() + timeout
    while alive(pid):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def wait_listening(port: int, timeout: float = 15.0) -> None:
    """Wait until something accepts connections on 127.0.0.1:``port``."""
    deadline = time.monotonic() + timeout
    while True:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        if time.monotonic() > deadline:
            raise AssertionError(f"nothing listens on {port}")
        time.sleep(0.05)


@contextlib.contextmanager
def foreign_server(port: int) -> Iterator[subprocess.Popen[bytes]]:
    """``python3 -m http.server PORT`` from outside any demo root (cwd /), killed afterwards."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SUPERVISOR_")}
    proc = subprocess.Popen(
        [sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1"],
        cwd="/",
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        wait_listening(port)
        yield proc
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait(timeout=10)


def cli_json(system: DemoSystem, *args: str) -> tuple[int, dict[str, object]]:
    """Run a task with ``--json``; its exit code and the one object it printed."""
    import json

    result = system.cli(*args, "--json")
    assert result.stdout.strip(), result.stderr
    return result.returncode, json.loads(result.stdout)
