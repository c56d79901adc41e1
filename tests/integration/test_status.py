"""supervisor.status against a real supervisord: exit 0 only when every program runs and
its pid owns its port; a table for humans and one JSON object for machines."""

from __future__ import annotations

import os
import socket
from pathlib import Path

import pytest
from portbook.registry import manifest

from . import oracle
from .conftest import DemoSystem, cli_json, kill_supervisord

pytestmark = pytest.mark.integration


def test_all_running_and_owning_exits_0_with_a_table(demo: DemoSystem) -> None:
    result = demo.cli("supervisor.status")
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].split()[:6] == ["program", "state", "pid", "uptime", "port", "owns"]
    for name, (_, pid) in demo.states().items():
        row = next(line for line in lines if line.startswith(name)).split()
        assert row[1:3] == ["RUNNING", str(pid)]
        assert row[4:6] == [str(demo.port(name)), "yes"]
        assert oracle.owns(pid, demo.port(name)), name
    assert "all 5 running, owning ports" in lines[-1]


def test_json_is_one_object_with_a_row_per_program(demo: DemoSystem) -> None:
    code, doc = cli_json(demo, "supervisor.status")
    assert code == 0 and doc["ok"] is True and doc["exit_code"] == 0
    assert doc["supervisord"] == {"up": True, "pid": demo.supervisor().pid()}
    rows = {r["name"]: r for r in doc["programs"]}
    assert set(rows) == set(demo.states())
    for name, row in rows.items():
        assert row["state"] == "RUNNING" and row["owns_port"] and row["port"] == demo.port(name)
        assert oracle.owns(row["pid"], demo.port(name)), name
        assert row["uptime"] >= 0 and row["holder"] is None


def test_a_stopped_program_exits_1(demo: DemoSystem) -> None:
    demo.supervisor().stop_process("db_poller")
    code, doc = cli_json(demo, "supervisor.status")
    assert code == 1 and doc["ok"] is False
    rows = {r["name"]: r for r in doc["programs"]}
    assert rows["db_poller"]["state"] == "STOPPED" and not rows["db_poller"]["ok"]
    assert rows["main_app"]["ok"]
    result = demo.cli("supervisor.status")
    assert result.returncode == 1
    assert "db_poller: STOPPED, should be RUNNING" in result.stdout


def test_a_port_held_by_another_pid_exits_1_naming_the_holder(demo: DemoSystem) -> None:
    port = demo.base + 77
    path = Path(demo.root, "backend/core/config/MASTER_PORT_MANIFEST.json")
    path.write_text(manifest.set_field(path.read_text(), str(path), "db_poller", "port", port))
    with socket.socket() as holder:
        holder.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        holder.bind(("127.0.0.1", port))
        holder.listen()
        code, doc = cli_json(demo, "supervisor.status")
        assert oracle.holders(port) == {os.getpid()}
    assert code == 1
    row = next(r for r in doc["programs"] if r["name"] == "db_poller")
    assert row["state"] == "RUNNING" and row["owns_port"] is False
    assert row["holder"].startswith(f"pid {os.getpid()} (")


def test_supervisord_down_exits_1(demo: DemoSystem) -> None:
    kill_supervisord(demo)
    code, doc = cli_json(demo, "supervisor.status")
    assert code == 1 and doc["supervisord"] == {"up": False, "pid": None}
    assert {r["state"] for r in doc["programs"]} == {"DOWN"}
