"""Every task outside a system root: exit 2, what the folder lacks and how to point portbook right.

Run as an operator would, ``python -m playbooks TASK`` with ``--root /nonexistent`` and
from an empty folder as the current directory.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import cli_env, make_demo, teardown_demo

pytestmark = pytest.mark.integration

TASKS = {
    "service.add": ["--name", "risk_monitor"],
    "service.modify": ["--name", "db_poller", "--port", "8010"],
    "service.rename": ["--name", "db_poller", "--to", "db_watcher"],
    "service.remove": ["--name", "db_poller"],
    "service.list": [],
    "service.rollback": [],
    "supervisor.restart": [],
    "supervisor.status": [],
    "recover.emergency": [],
    "doctor": [],
}
READ_ONLY = ("service.list", "supervisor.status", "doctor")
HINT = "run portbook from the system's root, pass --root DIR, or set portbook.root in invoke.yaml"


def _run(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "playbooks", *args],
        capture_output=True,
        text=True,
        timeout=60,
        env=cli_env(),
        cwd=cwd,
    )


def _check_refusal(task: str, result: subprocess.CompletedProcess[str], lacks: str) -> None:
    assert result.returncode == 2, result.stdout + result.stderr
    assert result.stdout == ""
    [line] = result.stderr.strip().splitlines()
    assert lacks in line and line.endswith(HINT)
    if task in READ_ONLY:
        assert "(exit 2)" in line and "nothing changed" not in line
    else:
        assert "refused, nothing changed (exit 2)" in line


@pytest.mark.parametrize("task", TASKS)
def test_a_root_that_does_not_exist_is_refused_with_exit_2_and_the_way_out(
    task: str, tmp_path: Path
) -> None:
    result = _run(tmp_path, task, *TASKS[task], "--root", "/nonexistent")
    _check_refusal(task, result, "/nonexistent (--root) does not exist")


@pytest.mark.parametrize("task", TASKS)
def test_an_empty_current_folder_is_refused_naming_what_it_lacks(task: str, tmp_path: Path) -> None:
    result = _run(tmp_path, task, *TASKS[task])
    lacks = (
        f"{tmp_path} (the current folder) is not a system root: it has no "
        "backend/core/config/MASTER_PORT_MANIFEST.json, backend/core/port_config.py or "
        "backend/supervisord.conf"
    )
    _check_refusal(task, result, lacks)
    assert list(tmp_path.iterdir()) == []  # not even a lock or journal folder


def test_doctor_fix_outside_a_root_is_refused_too(tmp_path: Path) -> None:
    result = _run(tmp_path, "doctor", "--fix", "--json")
    doc = json.loads(result.stdout)
    assert result.returncode == 2 and doc["exit_code"] == 2
    assert "is not a system root" in doc["error"]


def test_a_root_missing_only_its_manifest_is_a_broken_system_doctor_reports() -> None:
    system = make_demo(start=False)
    try:
        Path(system.root, "backend/core/config/MASTER_PORT_MANIFEST.json").unlink()
        result = system.cli("doctor", "--json")
        assert result.returncode == 1, result.stdout + result.stderr
        checks = {f["check"] for f in json.loads(result.stdout)["findings"]}
        assert "agreement.unreadable" in checks
        listed = system.cli("service.list")
        assert listed.returncode == 2 and "MASTER_PORT_MANIFEST.json: file not found" in (
            listed.stderr
        )
    finally:
        teardown_demo(system)
