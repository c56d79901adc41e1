"""The operator's first hour on a real demo: remove then doctor, list's problems, rollback's words.

Every test drives a real supervisord through ``python -m playbooks`` as an operator would.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
from pathlib import Path

import pytest
from portbook.commands.add import AddRequest, add_service
from portbook.host.probes import owns_port
from portbook.procedures import ADD
from portbook.steps import Run, SmokeTest, Step

from .conftest import DemoSystem, cli_json, foreign_server
from .faults import KillAfter

pytestmark = pytest.mark.integration


def _doctor(demo: DemoSystem) -> tuple[int, list[dict[str, str]]]:
    code, doc = cli_json(demo, "doctor")
    findings = doc["findings"]
    assert isinstance(findings, list)
    return code, findings


def _errors(findings: list[dict[str, str]]) -> list[str]:
    return [f"{f['check']} at {f['place']}" for f in findings if f["severity"] == "error"]


# --- 1. remove, then doctor ------------------------------------------------------------


def test_remove_keeps_the_script_and_doctor_only_warns_naming_delete_code(
    demo: DemoSystem,
) -> None:
    assert _doctor(demo)[0] == 0
    code, doc = cli_json(demo, "service.remove", "--name", "db_poller")
    assert code == 0, doc["error"]
    steps = doc["steps"]
    assert isinstance(steps, list)
    gate = steps[-1]
    assert gate["name"] == "doctor-after" and gate["detail"].startswith(
        "no new finding: 0 error(s)"
    )
    code, findings = _doctor(demo)
    assert code == 0 and _errors(findings) == []
    kept = [f for f in findings if f["place"].startswith("backend/api/db_poller.py")]
    assert [(f["check"], f["severity"]) for f in kept] == [("code.orphaned-service", "warning")]
    assert "service.remove --name db_poller --delete-code" in kept[0]["fix"]
    assert "delete backend/api/db_poller.py" in kept[0]["fix"]


def test_a_service_portbook_added_from_its_template_can_be_removed_again(
    demo: DemoSystem,
) -> None:
    added = demo.cli("service.add", "--name", "risk_monitor")
    assert added.returncode == 0, added.stdout + added.stderr
    removed = demo.cli("service.remove", "--name", "risk_monitor")
    assert removed.returncode == 0, removed.stdout + removed.stderr
    assert "imports.sys-path-hack" not in removed.stdout
    code, findings = _doctor(demo)
    assert code == 0 and _errors(findings) == []
    assert Path(demo.root, "backend/api/risk_monitor.py").exists()


def test_a_remove_that_leaves_another_files_get_port_unknown_is_rolled_back(
    demo: DemoSystem,
) -> None:
    client = Path(demo.root, "backend/core/poller_client.py")
    client.write_text(
        "from backend.core.port_config import get_port\n\n"
        "URL = f\"http://127.0.0.1:{get_port('db_poller')}/health\"\n"
    )
    files = demo.files()
    code, doc = cli_json(demo, "service.remove", "--name", "db_poller")
    assert code == 1
    assert str(doc["error"]).startswith(
        "doctor: this change would introduce code.unknown-service at backend/core/poller_client.py"
    )
    assert demo.files() == files
    state, pid = demo.states()["db_poller"]  # stopped by the remove, started again by its undo
    assert state == "RUNNING" and owns_port(demo.target, pid, demo.port("db_poller"))


# --- 2. service.list shows what supervisor.status shows ---------------------------------


def test_list_names_the_foreign_holder_of_a_stopped_services_port_and_exits_1(
    demo: DemoSystem,
) -> None:
    demo.supervisor().stop_process("db_poller")
    with foreign_server(demo.port("db_poller")) as server:
        code, doc = cli_json(demo, "service.list")
        status = demo.cli("supervisor.status")
    assert code == 1 and doc["ok"] is False and status.returncode == 1
    services = doc["services"]
    assert isinstance(services, list)
    row = next(r for r in services if r["name"] == "db_poller")
    assert row["state"] == "STOPPED"
    [problem] = row["problems"]
    assert problem.startswith(f"port {demo.port('db_poller')} is held by pid {server.pid}")
    assert f"db_poller: {problem}" in status.stdout
    others = [r for r in services if r["name"] != "db_poller"]
    assert all(r["problems"] == [] for r in others)


class _DieDuringSmoke(SmokeTest):
    """The smoke step, but portbook dies while the smoke service listens."""

    def _stop(self, run: Run, pid: int, log: str) -> float:
        os.kill(os.getpid(), signal.SIGKILL)
        return 0.0


def _add_killed(demo: DemoSystem, step: str) -> None:
    """Run service.add of risk_monitor in a child killed by SIGKILL mid-run."""

    def wrap(s: Step) -> Step:
        if s.name != step:
            return s
        return _DieDuringSmoke() if step == "smoke-test" else KillAfter(s)

    def body() -> None:
        add_service(demo.target, demo.settings, AddRequest("risk_monitor"), steps=[*map(wrap, ADD)])

    child = multiprocessing.get_context("fork").Process(target=body)
    child.start()
    child.join(60)
    assert child.exitcode == -signal.SIGKILL
    assert Path(demo.root, ".portbook/journal.json").exists()


def test_list_and_status_flag_an_absent_service_with_an_unfinished_run_pending(
    demo: DemoSystem,
) -> None:
    _add_killed(demo, "supervisor-conf")
    code, doc = cli_json(demo, "service.list")
    status = demo.cli("supervisor.status")
    assert code == 1 and status.returncode == 1
    services = doc["services"]
    assert isinstance(services, list)
    row = next(r for r in services if r["name"] == "risk_monitor")
    assert row["state"] == "ABSENT" and "ABSENT, should be RUNNING" in row["problems"]
    assert str(doc["pending"]).startswith("an unfinished add of risk_monitor")
    assert str(doc["pending"]).endswith("run invoke service.rollback")
    assert str(doc["pending"]) in status.stdout


# --- 3. service.rollback says what it put back -----------------------------------------


def test_rollback_after_a_killed_add_names_each_restored_file_and_the_removed_group(
    demo: DemoSystem,
) -> None:
    files, states = demo.files(), demo.states()
    _add_killed(demo, "apply")
    result = demo.cli("service.rollback")
    assert result.returncode == 0, result.stdout + result.stderr
    summary = result.stdout.strip().splitlines()[-1]
    assert summary.startswith("rollback of add on local: undone in ")
    for rel in (
        "backend/core/port_config.py",
        "backend/core/config/MASTER_PORT_MANIFEST.json",
        "backend/supervisord.conf",
    ):
        assert f"restored {rel}" in summary
    assert "removed backend/api/risk_monitor.py (the run created it)" in summary
    assert "stopped and removed supervisor group risk_monitor" in summary
    assert "changed 0 file(s)" not in result.stdout
    assert demo.files() == files and demo.states() == states
    again = demo.cli("service.rollback")
    assert again.returncode == 0
    assert again.stdout.strip() == "rollback on local: nothing to roll back"


def test_rollback_json_lists_the_files_it_changed_back_and_the_smoke_process_it_stopped(
    demo: DemoSystem,
) -> None:
    _add_killed(demo, "smoke-test")
    code, doc = cli_json(demo, "service.rollback")
    assert code == 0, doc["error"]
    changed = doc["changed_files"]
    assert isinstance(changed, list)
    assert sorted(os.path.relpath(p, demo.root) for p in changed) == [
        "backend/api/risk_monitor.py",
        "backend/core/config/MASTER_PORT_MANIFEST.json",
        "backend/core/port_config.py",
        "backend/supervisord.conf",
    ]
    steps = doc["steps"]
    assert isinstance(steps, list)
    smoke = next(s for s in steps if s["name"] == "smoke-test")
    assert smoke["status"] == "undone" and smoke["detail"].startswith("stopped smoke-test pid ")
    assert not any(lst.port == demo.base + 100 for lst in demo.target.listeners())


def test_rollback_with_nothing_to_undo_says_so_and_exits_0(demo: DemoSystem) -> None:
    result = demo.cli("service.rollback")
    assert result.returncode == 0
    assert result.stdout.strip() == "rollback on local: nothing to roll back"
    assert "done in" not in result.stdout
