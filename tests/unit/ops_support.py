"""A consistent REC.IO-shaped system in a FakeTarget, and a fake supervisord daemon for it.

The four places agree: main_app 8001 (core), kalshi_market_watchdog 8005
(watchdog), each with a ``[program:X]`` (``stopwaitsecs=0``) and a script that
calls ``get_port``. ``FakeDaemon`` plays supervisord: ``start`` (running the
supervisord command) spawns one fake process per program, listening on its
port and stamped with ``SUPERVISOR_SERVER_URL``; ``shutdown`` ends them and
itself, except pids in ``wedged`` (they survive) or when ``hangs`` is set.
"""

from __future__ import annotations

import itertools
import signal
from typing import Any

from portbook.config import Settings, load_settings
from portbook.target import RunResult, SupervisorFault
from portbook.target.fake import FakeTarget

from .conftest import CONF, FALLBACK, ROOT, make_recio

SOCKET = f"{ROOT}/.run/supervisor.sock"
PIDFILE = f"{ROOT}/.run/supervisord.pid"
URL = f"unix://{SOCKET}"
PORTS = {"main_app": 8001, "kalshi_market_watchdog": 8005}
NOW = 1_700_000_500.0

_FALLBACK = """DEFAULT_PORTS = {
    "main_app": 8001,
    "kalshi_market_watchdog": 8005,
}


def get_port(service_name):
    return DEFAULT_PORTS[service_name]
"""

_PROGRAM = """
[program:{name}]
command={root}/venv/bin/python backend/api/{name}.py
directory={root}
autostart=true
stopwaitsecs=0
stdout_logfile=logs/{name}.out.log
"""

_HEAD = """[unix_http_server]
file={root}/.run/supervisor.sock

[supervisord]
logfile={root}/logs/supervisord.log
pidfile={root}/.run/supervisord.pid
directory={root}

[rpcinterface:supervisor]
supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface
"""

SCRIPT = 'from backend.core.port_config import get_port\n\nPORT = get_port("{name}")\n'


def make_consistent() -> FakeTarget:
    """The fake system with the four places in agreement."""
    target = make_recio()
    target.put(f"{ROOT}/{FALLBACK}", _FALLBACK)
    conf = _HEAD.format(root=ROOT) + "".join(
        _PROGRAM.format(name=n, root=ROOT) for n in sorted(PORTS)
    )
    target.put(f"{ROOT}/{CONF}", conf)
    for name in PORTS:
        target.put(f"{ROOT}/backend/api/{name}.py", SCRIPT.format(name=name))
    return target


def fast_settings(**extra: Any) -> Settings:
    """Default settings with short waits."""
    lines = ["stop_timeout: 0.2", "start_timeout: 2", *(f"{k}: {v}" for k, v in extra.items())]
    return load_settings(None, ROOT, "\n".join(lines) + "\n")


class FakeDaemon:
    """supervisord for a FakeTarget: RPC handler, and started by the supervisord command."""

    def __init__(self, target: FakeTarget, pid: int = 99) -> None:
        self.target = target
        self.pid = pid
        self.programs: dict[str, int] = {}
        self.wedged: set[str] = set()
        self.hangs = False
        self.start_fails = False
        self.calls: list[str] = []
        self._pids = itertools.count(700)
        target.run_handler = self.on_run
        target.on_signal = self.on_signal

    # --- the host -------------------------------------------------------------------------

    def up(self, conf_arg: str = f"{ROOT}/{CONF}") -> None:
        """supervisord runs (pidfile, socket, programs) and answers on its socket."""
        self.target.add_process(
            self.pid, ["/usr/bin/python3", "/usr/bin/supervisord", "-c", conf_arg], cwd=ROOT
        )
        self.target.put(PIDFILE, f"{self.pid}\n")
        self.target.put(SOCKET, b"", mode=0o700)
        for name, port in PORTS.items():
            pid = next(self._pids)
            self.target.add_process(pid, ["python", f"backend/api/{name}.py"], ppid=self.pid)
            self.target.process_env[pid] = {
                "SUPERVISOR_SERVER_URL": URL,
                "SUPERVISOR_PROCESS_NAME": name,
            }
            self.target.listen(port, pid)
            self.programs[name] = pid
        self.target.rpc_handler = self

    def die(self) -> None:
        """SIGKILL supervisord: programs stay as orphans, socket and pidfile stay behind."""
        self.target.end_process(self.pid, -9)
        self.target.rpc_handler = None
        for pid in self.programs.values():
            info = self.target.processes[pid]
            self.target.processes[pid] = type(info)(
                info.pid, 1, info.cmdline, ROOT, info.user, info.started
            )

    def on_run(self, argv: tuple[str, ...]) -> RunResult:
        """The supervisord command starts it (unless ``start_fails``)."""
        if any("supervisord" in a for a in argv) and "-c" in argv:
            if self.start_fails:
                return RunResult(2, "", "Error: another program is already listening")
            self.pid += 1000
            self.up()
        return RunResult(0, "", "")

    def on_signal(self, target: FakeTarget, pid: int, signum: int) -> None:
        """Wedged programs ignore SIGTERM; a hanging supervisord ignores it too."""
        if pid not in target.processes or signum not in (signal.SIGTERM, signal.SIGKILL):
            return
        wedged = {self.programs.get(n) for n in self.wedged}
        if signum == signal.SIGTERM and (pid in wedged or (pid == self.pid and self.hangs)):
            return
        if pid == self.pid:
            self.die()
        else:
            target.end_process(pid, -signum)

    # --- XML-RPC ---------------------------------------------------------------------------

    def __call__(self, method: str, args: tuple[Any, ...]) -> Any:
        self.calls.append(method)
        if method == "supervisor.getState":
            return {"statecode": 1, "statename": "RUNNING"}
        if method == "supervisor.getPID":
            return self.pid
        if method == "supervisor.getAllProcessInfo":
            return [self._info(n, p) for n, p in sorted(self.programs.items())]
        if method == "supervisor.shutdown":
            self._shutdown()
            return True
        raise SupervisorFault(1, f"UNKNOWN_METHOD {method}")

    def _info(self, name: str, pid: int) -> dict[str, Any]:
        alive = pid in self.target.processes
        return {
            "name": name,
            "statename": "RUNNING" if alive else "STOPPED",
            "pid": pid if alive else 0,
            "start": int(NOW) - 60,
            "now": int(NOW),
        }

    def _shutdown(self) -> None:
        if self.hangs:
            return
        for name, pid in self.programs.items():
            if name not in self.wedged:
                self.target.end_process(pid, 0)
        self.target.end_process(self.pid, 0)
        self.target.rpc_handler = None
        self.target.remove(SOCKET)
        self.target.remove(PIDFILE)
