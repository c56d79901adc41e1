"""service.modify, service.rename and service.remove against a real supervisord and services."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from portbook.commands.change import (
    ModifyRequest,
    RemoveRequest,
    RenameRequest,
    modify_service,
    remove_service,
    rename_service,
)
from portbook.host.probes import owns_port
from portbook.procedures import MODIFY, REMOVE, RENAME
from portbook.registry import fallback, manifest
from portbook.registry.supervisor_conf import SupervisorConf

from . import oracle
from .conftest import DemoSystem
from .faults import FaultAfter

pytestmark = pytest.mark.integration


def places(demo: DemoSystem) -> tuple[dict[str, int], dict[str, int], set[str]]:
    """Manifest ports, DEFAULT_PORTS and supervisor program names."""
    root = Path(demo.root)
    m = manifest.read_services(
        (root / "backend/core/config/MASTER_PORT_MANIFEST.json").read_text(), "m"
    )
    f = fallback.read_ports((root / "backend/core/port_config.py").read_text(), "f")
    c = SupervisorConf.parse((root / "backend/supervisord.conf").read_text(), "c")
    return {n: e.port for n, e in m.items()}, f, set(c.programs())


def listening(demo: DemoSystem, port: int) -> bool:
    """Whether anything listens on ``port``: portbook's probe, which the oracle must confirm."""
    probe = any(lst.port == port for lst in demo.target.listeners())
    assert probe != oracle.is_free(port), f"portbook's probe and ss + /proc disagree on {port}"
    return probe


def others_unchanged(demo: DemoSystem, before: dict[str, tuple[str, int]], *skip: str) -> None:
    after = demo.states()
    assert {n: after[n] for n in before if n not in skip} == {
        n: s for n, s in before.items() if n not in skip
    }


def test_modify_port_moves_the_service_and_frees_the_old_port(demo: DemoSystem) -> None:
    before = demo.states()
    old, new = demo.port("db_poller"), demo.base + 120
    result = demo.cli("service.modify", "--name", "db_poller", "--port", str(new), "--json")
    assert result.returncode == 0, result.stdout + result.stderr
    m, f, _ = places(demo)
    assert m["db_poller"] == f["db_poller"] == new
    state, pid = demo.states()["db_poller"]
    assert state == "RUNNING" and owns_port(demo.target, pid, new)
    assert oracle.owns(pid, new)
    assert not listening(demo, old)
    others_unchanged(demo, before, "db_poller")


def test_modify_category_and_description_restarts_nothing(demo: DemoSystem) -> None:
    before = demo.states()
    result = demo.cli(
        "service.modify",
        "--name",
        "db_poller",
        "--category",
        "core",
        "--description",
        "Polls the DB",
        "--json",
    )
    assert result.returncode == 0, result.stdout + result.stderr
    text = Path(demo.root, "backend/core/config/MASTER_PORT_MANIFEST.json").read_text()
    entry = manifest.read_services(text, "m")["db_poller"]
    assert (entry.category, entry.description) == ("core_services", "Polls the DB")
    assert demo.states() == before


@pytest.mark.parametrize(
    ("args", "expect"),
    [
        (["--name", "nope"], "unknown service"),
        (["--name", "db_poller"], "nothing to change"),
        (["--name", "db_poller", "--port", "{main}"], "is main_app's in the manifest"),
        (["--name", "db_poller", "--port", "80"], "outside 1024-65535"),
        (["--name", "db_poller", "--category", "batch"], "invalid category"),
    ],
)
def test_modify_refusals_change_nothing(demo: DemoSystem, args: list[str], expect: str) -> None:
    files, states = demo.files(), demo.states()
    args = [a.format(main=demo.port("main_app")) for a in args]
    result = demo.cli("service.modify", *args, "--json")
    assert result.returncode == 2, result.stdout + result.stderr
    assert expect in json.loads(result.stdout)["error"]
    assert demo.files() == files and demo.states() == states


def _second_script(demo: DemoSystem) -> str:
    src = Path(demo.root, "backend/api/db_poller.py")
    shutil.copy(src, src.with_name("db_poller_v2.py"))
    return "backend/api/db_poller_v2.py"


@pytest.mark.parametrize("k", range(len(MODIFY)), ids=[s.name for s in MODIFY])
def test_fault_at_each_modify_step_restores_files_and_the_service(demo: DemoSystem, k: int) -> None:
    script = _second_script(demo)
    files, before = demo.files(), demo.states()
    steps = list(MODIFY)
    steps[k] = FaultAfter(steps[k])
    request = ModifyRequest("db_poller", port=demo.base + 120, script=script)
    outcome = modify_service(demo.target, demo.settings, request, steps=steps)
    assert outcome.code == 1, outcome.error
    assert "injected fault" in str(outcome.error)
    assert demo.files() == files
    others_unchanged(demo, before, "db_poller")
    state, pid = demo.states()["db_poller"]
    assert state == "RUNNING" and owns_port(demo.target, pid, demo.port("db_poller"))
    assert oracle.owns(pid, demo.port("db_poller"))
    assert not listening(demo, demo.base + 120)


def test_rename_keeps_the_port_and_all_four_places_agree(demo: DemoSystem) -> None:
    before = demo.states()
    port = demo.port("db_poller")
    result = demo.cli(
        "service.rename", "--name", "db_poller", "--to", "db_watcher", "--fix-code", "--json"
    )
    assert result.returncode == 0, result.stdout + result.stderr
    m, f, programs = places(demo)
    assert m["db_watcher"] == f["db_watcher"] == port
    assert "db_poller" not in m and "db_poller" not in f
    assert "db_watcher" in programs and "db_poller" not in programs
    code = Path(demo.root, "backend/api/db_poller.py").read_text()
    assert 'get_port("db_watcher")' in code
    conf = Path(demo.root, "backend/supervisord.conf").read_text()
    assert "logs/db_watcher.err.log" in conf
    states = demo.states()
    assert "db_poller" not in states
    assert owns_port(demo.target, states["db_watcher"][1], port)
    assert oracle.owns(states["db_watcher"][1], port)
    others_unchanged(demo, before, "db_poller")


def test_rename_without_fix_code_is_refused_naming_the_call(demo: DemoSystem) -> None:
    files, states = demo.files(), demo.states()
    result = demo.cli("service.rename", "--name", "db_poller", "--to", "db_watcher", "--json")
    assert result.returncode == 2, result.stdout
    assert "get_port('db_poller')" in json.loads(result.stdout)["error"]
    assert demo.files() == files and demo.states() == states


@pytest.mark.parametrize("k", range(len(RENAME)), ids=[s.name for s in RENAME])
def test_fault_at_each_rename_step_restores_files_and_the_service(demo: DemoSystem, k: int) -> None:
    files, before = demo.files(), demo.states()
    steps = list(RENAME)
    steps[k] = FaultAfter(steps[k])
    request = RenameRequest("db_poller", "db_watcher", fix_code=True)
    outcome = rename_service(demo.target, demo.settings, request, steps=steps)
    assert outcome.code == 1, outcome.error
    assert demo.files() == files
    others_unchanged(demo, before, "db_poller")
    states = demo.states()
    assert "db_watcher" not in states
    assert states["db_poller"][0] == "RUNNING"
    assert owns_port(demo.target, states["db_poller"][1], demo.port("db_poller"))
    assert oracle.owns(states["db_poller"][1], demo.port("db_poller"))


def test_remove_leaves_no_trace_no_process_and_a_free_port(demo: DemoSystem) -> None:
    before = demo.states()
    pid, port = before["db_poller"][1], demo.port("db_poller")
    result = demo.cli("service.remove", "--name", "db_poller", "--json")
    assert result.returncode == 0, result.stdout + result.stderr
    m, f, programs = places(demo)
    assert "db_poller" not in m and "db_poller" not in f and "db_poller" not in programs
    assert "db_poller" not in demo.states()
    assert demo.target.process(pid) is None
    assert not listening(demo, port)
    assert Path(demo.root, "backend/api/db_poller.py").exists()
    others_unchanged(demo, before, "db_poller")


def test_remove_unknown_service_is_refused(demo: DemoSystem) -> None:
    files = demo.files()
    result = demo.cli("service.remove", "--name", "nope", "--json")
    assert result.returncode == 2
    assert demo.files() == files


@pytest.mark.parametrize("k", range(len(REMOVE)), ids=[s.name for s in REMOVE])
def test_fault_at_each_remove_step_restores_files_and_the_service(demo: DemoSystem, k: int) -> None:
    files, before = demo.files(), demo.states()
    steps = list(REMOVE)
    steps[k] = FaultAfter(steps[k])
    request = RemoveRequest("db_poller", delete_code=True)
    outcome = remove_service(demo.target, demo.settings, request, steps=steps)
    assert outcome.code == 1, outcome.error
    assert demo.files() == files
    others_unchanged(demo, before, "db_poller")
    state, pid = demo.states()["db_poller"]
    assert state == "RUNNING" and owns_port(demo.target, pid, demo.port("db_poller"))
    assert oracle.owns(pid, demo.port("db_poller"))


READS_MANIFEST_ITSELF = """import json

import uvicorn

from backend.core.health import health_app

with open("backend/core/config/MASTER_PORT_MANIFEST.json") as f:
    PORT = json.load(f)["watchdog_services"]["risk"]["port"]

app = health_app("risk")

if __name__ == "__main__":
    uvicorn.run(app, host="127.0.0.1", port=PORT, log_level="warning")
"""


def test_a_procedure_that_would_introduce_a_doctor_finding_is_rolled_back(demo: DemoSystem) -> None:
    Path(demo.root, "backend/api/risk.py").write_text(READS_MANIFEST_ITSELF)
    files, states = demo.files(), demo.states()
    command = f"{demo.root}/venv/bin/python backend/api/risk.py"
    result = demo.cli("service.add", "--name", "risk", "--command", command, "--json")
    assert result.returncode == 1, result.stdout + result.stderr
    report = json.loads(result.stdout)
    assert "doctor: this change would introduce code.no-get-port" in report["error"]
    assert report["steps"][-1]["name"] == "doctor-after"
    assert demo.files() == files and demo.states() == states


def test_a_procedure_refuses_to_start_on_an_error_about_its_service(demo: DemoSystem) -> None:
    script = Path(demo.root, "backend/api/db_poller.py")
    script.write_text(script.read_text() + "\nbroken(:\n")
    files, states = demo.files(), demo.states()
    result = demo.cli("service.modify", "--name", "db_poller", "--port", "auto", "--json")
    assert result.returncode == 2, result.stdout + result.stderr
    assert json.loads(result.stdout)["error"].startswith(
        "doctor: code.syntax at backend/api/db_poller.py"
    )
    assert demo.files() == files and demo.states() == states
