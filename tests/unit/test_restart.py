"""supervisor.restart on a FakeTarget: built in, --check, --use-script, master_restart."""

from __future__ import annotations

import signal

from portbook.commands.restart import plan_restart, restart_system
from portbook.procedures import RESTART
from portbook.registry.system import read_system
from portbook.steps.restart import master_restart, stop_process
from portbook.target import ProcInfo, RunResult
from portbook.target.fake import FakeTarget

from .conftest import MANIFEST, ROOT
from .ops_support import FakeDaemon, fast_settings, make_consistent

SCRIPT = f"{ROOT}/scripts/MASTER_RESTART.sh"


def _up() -> tuple[FakeTarget, FakeDaemon]:
    target = make_consistent()
    daemon = FakeDaemon(target)
    daemon.up()
    return target, daemon


def test_restart_stops_supervisord_gracefully_and_starts_every_program_again() -> None:
    target, daemon = _up()
    before = dict(daemon.programs)
    result = restart_system(target, fast_settings())
    assert result.outcome.code == 0, result.outcome.error
    assert [s.name for s in result.outcome.steps] == [s.name for s in RESTART]
    assert "supervisor.shutdown" in daemon.calls and target.signals == []
    assert result.op is not None and result.op.before == before
    assert result.op.report is not None and result.op.report.ok
    assert set(daemon.programs.values()).isdisjoint(before.values())


def test_check_plans_and_changes_nothing() -> None:
    target, daemon = _up()
    before = target.snapshot()
    result = plan_restart(target, fast_settings())
    assert result.outcome.code == 0
    plan = dict(result.plans)["supervisord-down"].summary
    assert "stop pid 99 (app): /usr/bin/python3 /usr/bin/supervisord -c" in plan
    assert f"main_app RUNNING pid {daemon.programs['main_app']} stops with it" in plan
    assert "supervisor.shutdown" not in daemon.calls and target.commands == []
    assert target.snapshot() == before and target.locks_taken == []


def test_restart_refuses_a_foreign_holder_and_never_kills_it() -> None:
    target, daemon = _up()
    target.end_process(daemon.programs["main_app"], 0)
    target.add_process(555, ["nc", "-l", "8001"], user="alice")
    target.listen(8001, 555)
    result = restart_system(target, fast_settings())
    assert result.outcome.code == 2 and "pid 555 (alice): nc -l 8001" in (
        result.outcome.error or ""
    )
    assert "supervisor.shutdown" not in daemon.calls and target.signals == []


def test_use_script_runs_the_script_named_by_the_manifest_then_verifies() -> None:
    target, _ = _up()
    target.put(f"{ROOT}/ops/restart.sh", "#!/bin/sh\n", mode=0o755)
    text = (target.text(f"{ROOT}/{MANIFEST}") or "").rstrip().rstrip("}")
    target.put(f"{ROOT}/{MANIFEST}", text + ', "config": {"restart_script": "ops/restart.sh"}}\n')
    ran: list[tuple[str, ...]] = []

    def run(argv: tuple[str, ...]) -> RunResult:
        ran.append(argv)
        return RunResult(0, "", "")

    target.run_handler = run
    result = restart_system(target, fast_settings(), use_script=True)
    assert result.outcome.code == 0, result.outcome.error
    assert ran == [(f"{ROOT}/ops/restart.sh",)]
    assert [s.name for s in result.outcome.steps] == ["restart-script", "verify"]


def test_use_script_prefers_portbook_yaml_and_refuses_a_missing_or_inert_script() -> None:
    target, _ = _up()
    result = restart_system(target, fast_settings(), use_script=True)
    assert result.outcome.code == 2
    assert result.outcome.error == "scripts/MASTER_RESTART.sh: restart script not found"
    target.put(f"{ROOT}/bin/go.sh", "#!/bin/sh\n", mode=0o644)
    result = restart_system(target, fast_settings(restart_script="bin/go.sh"), use_script=True)
    assert result.outcome.error == "bin/go.sh: restart script is not executable"
    result = restart_system(target, fast_settings(restart_script="/etc/x.sh"), use_script=True)
    assert "lies outside the root" in (result.outcome.error or "")


def test_a_failing_script_is_exit_1_with_its_last_line() -> None:
    target, _ = _up()
    target.put(SCRIPT, "#!/bin/sh\n", mode=0o755)
    target.run_handler = lambda argv: RunResult(3, "", "starting\nError: port in use\n")
    result = restart_system(target, fast_settings(), use_script=True)
    assert result.outcome.code == 1
    assert result.outcome.error == "scripts/MASTER_RESTART.sh exited 3: Error: port in use"


def test_master_restart_keeps_its_contract_and_leaves_foreign_holders_alone() -> None:
    target, daemon = _up()
    target.add_process(555, ["nc", "-l", "8005"], user="alice")
    target.listen(8005, 555)  # a foreign process on a manifest port: ignored, not refused
    settings = fast_settings()
    master_restart(target, read_system(target, settings), 2.0)
    assert "supervisor.shutdown" in daemon.calls and 555 in target.processes
    assert all(pid != 555 for pid, _ in target.signals)
    assert target.text(f"{ROOT}/.portbook/audit.log") is None


def test_stop_process_rechecks_identity_before_each_signal() -> None:
    target = make_consistent()
    target.add_process(300, ["x"], started=1000.0)
    stop_process(target, ProcInfo(300, 1, ("x",), "/", "app", 2000.0), 0.1)  # pid reused
    assert target.signals == []
    stop_process(target, ProcInfo(300, 1, ("x",), "/", "app", 1000.0), 0.1)
    assert target.signals == [(300, signal.SIGTERM)]
