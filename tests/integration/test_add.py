"""service.add against a real supervisord, real uvicorn services and real ports."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import pytest
from portbook.commands.add import AddRequest, add_service
from portbook.host.probes import owns_port
from portbook.procedures import ADD
from portbook.registry import fallback, manifest
from portbook.registry.supervisor_conf import SupervisorConf

from . import oracle
from .conftest import DemoSystem
from .faults import FaultAfter

pytestmark = pytest.mark.integration


def four_places(demo: DemoSystem, name: str) -> dict[str, object]:
    """What each of the four places says about ``name``."""
    root = Path(demo.root)
    mtext = (root / "backend/core/config/MASTER_PORT_MANIFEST.json").read_text()
    ftext = (root / "backend/core/port_config.py").read_text()
    ctext = (root / "backend/supervisord.conf").read_text()
    entry = manifest.read_services(mtext, "m").get(name)
    script = root / "backend/api" / f"{name}.py"
    return {
        "manifest": entry.port if entry else None,
        "fallback": fallback.read_ports(ftext, "f").get(name),
        "conf": name in SupervisorConf.parse(ctext, "c").programs(),
        "code": script.exists() and f'get_port("{name}")' in script.read_text(),
    }


def test_add_with_name_only_makes_four_places_agree_and_new_pid_owns_port(demo: DemoSystem) -> None:
    before = demo.states()
    result = demo.cli("service.add", "--name", "risk_monitor", "--json")
    assert result.returncode == 0, result.stdout + result.stderr
    report = json.loads(result.stdout)
    assert report["ok"] is True and report["error"] is None
    assert [s["name"] for s in report["steps"]] == [s.name for s in ADD]
    port = demo.base + 100
    assert four_places(demo, "risk_monitor") == {
        "manifest": port,
        "fallback": port,
        "conf": True,
        "code": True,
    }
    after = demo.states()
    assert after["risk_monitor"][0] == "RUNNING"
    assert owns_port(demo.target, after["risk_monitor"][1], port)
    assert oracle.owns(after["risk_monitor"][1], port)
    assert {n: after[n] for n in before} == before
    assert not Path(demo.root, ".portbook").exists()


def test_check_prints_plan_and_changes_nothing(demo: DemoSystem) -> None:
    files, states = demo.files(), demo.states()
    result = demo.cli("service.add", "--name", "risk_monitor", "--check")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert f"port: {demo.base + 100}" in out
    assert "+[program:risk_monitor]" in out
    assert "supervisor programs started, stopped or restarted: risk_monitor" in out
    assert "demo-not-a-real-password" not in out
    assert demo.files() == files and demo.states() == states
    assert not Path(demo.root, ".portbook").exists()


@pytest.mark.parametrize("k", range(len(ADD)), ids=[s.name for s in ADD])
def test_fault_at_each_step_leaves_files_and_supervisor_identical(demo: DemoSystem, k: int) -> None:
    files, states = demo.files(), demo.states()
    steps = list(ADD)
    steps[k] = FaultAfter(steps[k])
    outcome = add_service(demo.target, demo.settings, AddRequest("risk_monitor"), steps=steps)
    assert outcome.code == 1, outcome.error
    assert "injected fault" in (outcome.error or "")
    assert demo.files() == files
    assert demo.states() == states
    assert [s.status for s in outcome.steps[: k + 1]][-1] == "failed"
    assert not Path(demo.root, ".portbook/journal.json").exists()
    port = demo.base + 100
    assert not any(lst.port == port for lst in demo.target.listeners())
    assert oracle.is_free(port)


def _listen(port: int) -> socket.socket:
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", port))
    sock.listen()
    return sock


def test_fault_after_master_restart_restores_files_and_restarts_on_old_config(
    demo: DemoSystem,
) -> None:
    files, states = demo.files(), demo.states()
    steps = list(ADD)
    steps[-1] = FaultAfter(steps[-1])
    request = AddRequest("risk_monitor")
    outcome = add_service(demo.target, demo.settings, request, restart="master", steps=steps)
    assert outcome.code == 1, outcome.error
    assert demo.files() == files
    after = demo.states()
    assert set(after) == set(states)
    assert all(state == "RUNNING" for state, _ in after.values())
    for name in states:
        assert owns_port(demo.target, after[name][1], demo.port(name))
        assert oracle.owns(after[name][1], demo.port(name)), name


def test_fault_when_supervisord_was_down_leaves_it_down(demo: DemoSystem) -> None:
    demo.supervisor().shutdown()
    files = demo.files()
    steps = list(ADD)
    steps[-1] = FaultAfter(steps[-1])
    outcome = add_service(demo.target, demo.settings, AddRequest("risk_monitor"), steps=steps)
    assert outcome.code == 1, outcome.error
    assert demo.files() == files
    assert not demo.supervisor().is_up()
    assert not any(lst.port == demo.base + 100 for lst in demo.target.listeners())
    assert oracle.is_free(demo.base + 100)
