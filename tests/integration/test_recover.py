"""recover.emergency against a real broken system: a SIGKILLed supervisord, its orphans still
on their ports, a stale socket and pidfile, a service that ignores SIGTERM, and a foreign
process on a manifest port that must survive unless --kill-foreign."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from portbook.host.probes import owns_port

from . import oracle
from .conftest import (
    DemoSystem,
    alive,
    cli_json,
    foreign_server,
    kill_supervisord,
    make_demo,
    set_yaml,
    teardown_demo,
    wait_dead,
    wedge,
)

pytestmark = pytest.mark.integration

WEDGED = "db_poller"
SOCKET = ".run/supervisor.sock"
PIDFILE = ".run/supervisord.pid"


@pytest.fixture
def broken() -> Iterator[tuple[DemoSystem, dict[str, int]]]:
    """The demo with a wedged db_poller, its supervisord SIGKILLed: orphans hold every port."""
    system = make_demo(start=False)
    try:
        wedge(system, WEDGED)
        set_yaml(system, stop_timeout=2)
        from portbook.sim.demo import demo_up

        demo_up(system.target, system.settings)
        orphans = kill_supervisord(system)
        yield system, orphans
    finally:
        teardown_demo(system, graceful=False)


def _all_running_and_owning(system: DemoSystem) -> dict[str, int]:
    states = system.states()
    assert {s for s, _ in states.values()} == {"RUNNING"}, states
    for name, (_, pid) in states.items():
        assert owns_port(system.target, pid, system.port(name)), name
        assert oracle.owns(pid, system.port(name)), name
    return {name: pid for name, (_, pid) in states.items()}


def _audit(system: DemoSystem) -> str:
    path = Path(system.root, ".portbook", "audit.log")
    return path.read_text() if path.exists() else ""


def test_orphans_wedged_service_and_stale_files_are_recovered(
    broken: tuple[DemoSystem, dict[str, int]],
) -> None:
    system, orphans = broken
    assert all(alive(pid) for pid in orphans.values())
    assert Path(system.root, SOCKET).exists() and Path(system.root, PIDFILE).exists()
    code, report = cli_json(system, "recover.emergency")
    assert code == 0, report
    assert [s["name"] for s in report["steps"]][:3] == ["supervisord-down", "strays", "stale-files"]
    pids = _all_running_and_owning(system)
    assert not any(alive(pid) for pid in orphans.values())
    assert not set(pids.values()) & set(orphans.values())
    actions = "\n".join(report["actions"])
    assert f"SIGKILL to pid {orphans[WEDGED]}" in actions  # it ignored SIGTERM
    assert f"SIGKILL to pid {orphans['main_app']}" not in actions  # it did not
    assert f"removed stale {SOCKET}" in actions and f"removed stale {PIDFILE}" in actions
    services = {s["name"]: s for s in report["services"]}
    assert services[WEDGED]["previous_pid"] == orphans[WEDGED]
    assert all(s["ok"] and s["owns_port"] for s in services.values())
    log = _audit(system)
    assert "\trecover\tbegin recover" in log and "\trecover\tend: exit 0" in log
    assert f"SIGTERM to pid {orphans[WEDGED]}" in log
    assert not Path(system.root, ".portbook", "journal.json").exists()


def test_check_lists_what_it_would_stop_and_why_and_changes_nothing(
    broken: tuple[DemoSystem, dict[str, int]],
) -> None:
    system, orphans = broken
    files = system.files()
    result = system.cli("recover.emergency", "--check")
    assert result.returncode == 0, result.stdout + result.stderr
    for name, pid in orphans.items():
        assert f"stop pid {pid} " in result.stdout
        assert f"supervisord started it as {name}" in result.stdout
    assert f"remove stale {SOCKET}, {PIDFILE}" in result.stdout
    assert all(alive(pid) for pid in orphans.values())
    assert Path(system.root, SOCKET).exists() and Path(system.root, PIDFILE).exists()
    assert system.files() == files
    assert not Path(system.root, ".portbook").exists()


def test_foreign_holder_refuses_names_it_and_is_left_alone(
    broken: tuple[DemoSystem, dict[str, int]],
) -> None:
    system, orphans = broken
    victim = "trade_executor"
    import os
    import signal

    os.kill(orphans[victim], signal.SIGKILL)
    assert wait_dead(orphans[victim])
    with foreign_server(system.port(victim)) as foreign:
        code, report = cli_json(system, "recover.emergency")
        assert code == 2, report
        error = str(report["error"])
        assert f"port {system.port(victim)} ({victim}) is held by pid {foreign.pid} (root)" in error
        assert "-m http.server" in error and "--kill-foreign" in error
        assert foreign.poll() is None
        assert all(alive(pid) for name, pid in orphans.items() if name != victim)
        assert Path(system.root, SOCKET).exists()
        assert _audit(system) == ""


def test_kill_foreign_stops_the_foreign_holder_and_recovers(
    broken: tuple[DemoSystem, dict[str, int]],
) -> None:
    system, orphans = broken
    victim = "trade_executor"
    import os
    import signal

    os.kill(orphans[victim], signal.SIGKILL)
    assert wait_dead(orphans[victim])
    with foreign_server(system.port(victim)) as foreign:
        code, report = cli_json(system, "recover.emergency", "--kill-foreign")
        assert code == 0, report
        assert foreign.wait(timeout=10) is not None
        assert f"SIGTERM to pid {foreign.pid} (root)" in "\n".join(report["actions"])
        assert "foreign, port" in _audit(system)
        _all_running_and_owning(system)


def test_orphan_outside_the_root_is_proven_ours_by_supervisords_environment() -> None:
    """A program with cwd / and a command outside the root, orphaned: only its environment
    (SUPERVISOR_SERVER_URL, stamped by supervisord) proves it is the system's."""
    system = make_demo(start=False)
    try:
        port = _add_outside_program(system, "static_files")
        from portbook.sim.demo import demo_up

        demo_up(system.target, system.settings)
        orphans = kill_supervisord(system)
        code, report = cli_json(system, "recover.emergency")
        assert code == 0, report
        line = next(a for a in report["actions"] if f"pid {orphans['static_files']} " in a)
        assert "supervisord started it as static_files" in line
        assert not alive(orphans["static_files"])
        states = system.states()
        assert states["static_files"][0] == "RUNNING"
        assert owns_port(system.target, states["static_files"][1], port)
        assert oracle.owns(states["static_files"][1], port)
    finally:
        teardown_demo(system)


def _add_outside_program(system: DemoSystem, name: str) -> int:
    """Register ``python3 -m http.server PORT`` (cwd /) in all four places of the demo."""
    import sys

    from portbook.registry import fallback, manifest

    port = system.base + 50
    root = Path(system.root)
    mpath = root / "backend/core/config/MASTER_PORT_MANIFEST.json"
    fields = {"port": port, "description": "static files", "status": "RUNNING"}
    mpath.write_text(
        manifest.add_service(mpath.read_text(), str(mpath), "watchdog_services", name, fields)
    )
    fpath = root / "backend/core/port_config.py"
    fpath.write_text(fallback.add_port(fpath.read_text(), str(fpath), name, port))
    conf = root / "backend/supervisord.conf"
    conf.write_text(
        conf.read_text()
        + f"\n[program:{name}]\ncommand={sys.executable} -m http.server {port} --bind 127.0.0.1\n"
        "directory=/\nautostart=true\nautorestart=true\n"
        f"stdout_logfile=%(here)s/../logs/{name}.out.log\n"
        f"stderr_logfile=%(here)s/../logs/{name}.err.log\n"
    )
    return port
