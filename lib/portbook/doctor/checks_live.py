"""Live state (Rule 5): supervisord answers, and each manifest port is held by its own program.

For every manifest service: its program should be RUNNING and its pid (or a child) should
listen on the manifest port. Every other holder of that port is classified:

* another program's process (its environment carries supervisord's
  ``SUPERVISOR_PROCESS_NAME`` for this system's socket, or it is in that program's tree);
* a process of the system that supervisord does not run (a manual test run left over, an
  orphan of a killed supervisord): cwd or script inside the root (``strays.is_ours``);
* anything else is foreign, named with pid, user and (masked) command line.
"""

from __future__ import annotations

from collections.abc import Iterator

from portbook.errors import PortbookError
from portbook.host.probes import listening_ports, tree
from portbook.host.strays import describe, is_ours, server_url
from portbook.host.supervisor import ProgramState, Supervisor
from portbook.registry.system import System
from portbook.target import Listener

from .checks_base import Check, Context
from .findings import Finding

__all__ = ["LIVE", "supervisor_up"]


def supervisor_up(ctx: Context) -> tuple[Supervisor | None, str]:
    """The system's supervisord when it answers on its socket, else None and why not."""

    def compute() -> tuple[Supervisor | None, str]:
        system = ctx.system
        if system is None:
            return None, "the config cannot be read"
        try:
            supervisor = Supervisor(ctx.target, system)
        except PortbookError as exc:
            return None, str(exc)
        if supervisor.is_up():
            return supervisor, ""
        return None, f"supervisord does not answer on {ctx.place(supervisor.socket)}"

    result: tuple[Supervisor | None, str] = ctx.memo("supervisor", compute)
    return result


class _Holders:
    """Who holds a port, by pid: a program of this system, a stray of it, or a foreigner."""

    def __init__(
        self, ctx: Context, system: System, states: dict[str, ProgramState], up: bool
    ) -> None:
        self.ctx, self.system, self.states, self.up = ctx, system, states, up
        self.url = server_url(system) if _has_socket(system) else ""
        self._trees: dict[str, set[int]] | None = None

    def trees(self) -> dict[str, set[int]]:
        if self._trees is None:
            self._trees = {
                name: tree(self.ctx.target, s.pid)
                for name, s in self.states.items()
                if s.running and s.pid
            }
        return self._trees

    def program_of(self, pid: int) -> str | None:
        env = self.ctx.target.environ_of(pid) or {}
        if self.url and env.get("SUPERVISOR_SERVER_URL") == self.url:
            return env.get("SUPERVISOR_PROCESS_NAME") or "?"
        return next((n for n, pids in self.trees().items() if pid in pids), None)

    def finding(self, pid: int, port: int, service: str) -> Finding:
        info = self.ctx.target.process(pid) if pid else None
        who = describe(info) if info else f"pid {pid or '?'} (not visible: another user's?)"
        place = f"pid {pid}" if pid else f"port {port}"
        program = self.program_of(pid) if pid else None
        if program is not None and program != service:
            return Finding(
                "live.wrong-program",
                "error",
                place,
                f"port {port} ({service}) is held by program {program}: {who}",
                f"make {program} read its own port (get_port({program!r})) and restart both",
            )
        if info is not None and (program == service or is_ours(info, self.ctx.settings.root)):
            return Finding(
                "live.stray",
                "error",
                place,
                f"port {port} ({service}) is held by {who}, a process of the system that "
                "supervisord does not run",
                f"stop it (invoke recover.emergency), then start {service} under supervisord",
            )
        return Finding(
            "live.foreign-holder",
            "error",
            place,
            f"port {port} ({service}) is held by {who}, not the system's",
            f"stop that process, or move {service}: "
            f"invoke service.modify --name {service} --port auto",
        )


def _has_socket(system: System) -> bool:
    try:
        system.socket_path()
    except PortbookError:
        return False
    return True


def _service(
    ctx: Context, holders: _Holders, name: str, port: int, listeners: list[Listener]
) -> Iterator[Finding]:
    state = holders.states.get(name)
    running = state is not None and state.running and state.pid > 0
    mine = tree(ctx.target, state.pid) if running and state else set()
    held = {lst.pid for lst in listeners if lst.port == port}
    if running and state and not held & mine:
        other = sorted(listening_ports(ctx.target, state.pid, listeners) - {port})
        also = f"; it listens on {', '.join(map(str, other))}" if other else ""
        yield Finding(
            "agreement.not-listening",
            "error",
            name,
            f"{name} (pid {state.pid}) is RUNNING but does not listen on its port {port}{also}",
            f"restart it so it reads its port again: invoke service.modify --name {name} "
            f"--port {port} or supervisor.restart",
        )
    elif not running and holders.up and name in ctx.programs:
        what = state.state if state else "not loaded in supervisord"
        yield Finding(
            "live.not-running",
            "error",
            name,
            f"{name} is {what}, not RUNNING",
            f"see logs/{name}.err.log, then invoke supervisor.restart",
        )
    for pid in sorted(held - mine):
        yield holders.finding(pid, port, name)


def check_live(ctx: Context) -> Iterator[Finding]:
    """``supervisor.socket``, ``agreement.not-listening``, ``live.*``."""
    system = ctx.system
    if system is None:
        return
    supervisor, why = supervisor_up(ctx)
    states: dict[str, ProgramState] = {}
    up = supervisor is not None
    if supervisor is None:
        socket = system.socket_path() if _has_socket(system) else system.main_conf.path
        yield Finding(
            "supervisor.socket",
            "error",
            ctx.place(socket),
            f"supervisord is not reachable: {why}",
            "start it: invoke supervisor.restart",
        )
    else:
        try:
            states = supervisor.states()
        except PortbookError as exc:
            up = False
            place = ctx.place(supervisor.socket)
            yield Finding(
                "supervisor.socket", "error", place, str(exc), "invoke supervisor.restart"
            )
    listeners = ctx.target.listeners()
    holders = _Holders(ctx, system, states, up)
    for name, entry in sorted(system.services.items()):
        yield from _service(ctx, holders, name, entry.port, listeners)


LIVE = Check(
    (
        "supervisor.socket",
        "agreement.not-listening",
        "live.not-running",
        "live.wrong-program",
        "live.stray",
        "live.foreign-holder",
    ),
    True,
    check_live,
)
