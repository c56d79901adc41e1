"""supervisor.restart against a real supervisord: built in (from the manifest) or the
operator's own scripts/MASTER_RESTART.sh, each service proven to own its port afterwards."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from portbook.host.probes import owns_port

from . import oracle
from .conftest import DemoSystem, cli_env, cli_json, foreign_server

pytestmark = pytest.mark.integration


def _running_pids(demo: DemoSystem) -> dict[str, int]:
    states = demo.states()
    assert {s for s, _ in states.values()} == {"RUNNING"}, states
    for name, (_, pid) in states.items():
        assert owns_port(demo.target, pid, demo.port(name)), name
        assert oracle.owns(pid, demo.port(name)), name
    return {name: pid for name, (_, pid) in states.items()}


def test_restart_restarts_every_service_and_each_owns_its_port(demo: DemoSystem) -> None:
    before = _running_pids(demo)
    old_supervisord = demo.supervisor().pid()
    code, report = cli_json(demo, "supervisor.restart")
    assert code == 0, report
    assert report["ok"] is True and report["error"] is None
    after = _running_pids(demo)
    assert set(after) == set(before)
    assert all(after[name] != before[name] for name in before)
    assert demo.supervisor().pid() != old_supervisord
    services = {s["name"]: s for s in report["services"]}
    assert set(services) == set(before)
    for name, row in services.items():
        assert row["previous_pid"] == before[name]
        assert row["pid"] == after[name] and row["owns_port"] and row["port"] == demo.port(name)
    log = Path(demo.root, ".portbook", "audit.log").read_text()
    assert "\trestart\tbegin restart" in log and "supervisor.shutdown to supervisord" in log
    assert not Path(demo.root, ".portbook", "journal.json").exists()


def test_human_output_has_a_line_per_step_and_a_row_per_service(demo: DemoSystem) -> None:
    result = demo.cli("supervisor.restart")
    assert result.returncode == 0, result.stderr
    for step in ("supervisord-down", "strays", "ports-free", "start", "verify"):
        assert f" {step} " in result.stdout
    for name in demo.states():
        assert any(line.startswith(name) for line in result.stdout.splitlines())
    assert "all 5 running, owning ports" in result.stdout


def test_check_prints_the_plan_and_changes_nothing(demo: DemoSystem) -> None:
    before, files = demo.states(), demo.files()
    result = demo.cli("supervisor.restart", "--check")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "nothing changed" in result.stdout
    for name, (_, pid) in before.items():
        assert f"{name} RUNNING pid {pid} stops with it" in result.stdout
    for port in range(demo.base, demo.base + 5):
        assert str(port) in result.stdout
    assert demo.states() == before and demo.files() == files
    assert not Path(demo.root, ".portbook").exists()


def test_use_script_runs_the_operators_script_without_supervisor_on_path(
    demo: DemoSystem,
) -> None:
    before = _running_pids(demo)
    env = cli_env()
    path = os.pathsep.join(
        d
        for d in [*env.get("PATH", "").split(os.pathsep), "/usr/bin", "/bin"]
        if not (shutil.which("supervisord", path=d) or shutil.which("supervisorctl", path=d))
    )
    assert (
        shutil.which("supervisorctl", path=path) is shutil.which("supervisord", path=path) is None
    )
    result = subprocess.run(
        [sys.executable, "-m", "playbooks", "supervisor.restart", "--use-script", "--json"],
        capture_output=True,
        text=True,
        timeout=180,
        env={**env, "PATH": path},
        cwd=demo.root,
    )
    report = json.loads(result.stdout)
    assert result.returncode == 0, report
    assert [s["name"] for s in report["steps"]] == ["restart-script", "verify"]
    assert "scripts/MASTER_RESTART.sh exited 0" in report["steps"][0]["detail"]
    after = _running_pids(demo)
    assert all(after[name] != before[name] for name in before)
    assert "ran scripts/MASTER_RESTART.sh" in Path(demo.root, ".portbook/audit.log").read_text()


def test_a_foreign_holder_of_a_manifest_port_refuses_and_nothing_changes(
    demo: DemoSystem,
) -> None:
    supervisor = demo.supervisor()
    supervisor.stop_process("db_poller")
    before = demo.states()
    with foreign_server(demo.port("db_poller")) as foreign:
        code, report = cli_json(demo, "supervisor.restart")
        assert code == 2, report
        assert f"is held by pid {foreign.pid} (root)" in str(report["error"])
        assert foreign.poll() is None
    assert demo.states() == before


def test_a_service_that_does_not_come_back_fails_with_exit_1_naming_it(demo: DemoSystem) -> None:
    Path(demo.root, "backend/api/db_poller.py").write_text(
        "raise SystemExit('broken on purpose')\n"
    )
    code, report = cli_json(demo, "supervisor.restart")
    assert code == 1, report
    assert "db_poller" in str(report["error"]) and "FATAL" in str(report["error"])
    assert report["steps"][-1]["name"] == "verify" and report["steps"][-1]["status"] == "failed"
    services = {s["name"]: s for s in report["services"]}
    assert not services["db_poller"]["ok"] and services["main_app"]["ok"]
