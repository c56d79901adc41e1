"""supervisor.status on a FakeTarget: rows, ownership, holders, exit codes, table and JSON."""

from __future__ import annotations

import json

from portbook.host.status import StatusReport, read_status, status_json, status_table, wait_healthy
from portbook.registry.system import read_system
from portbook.target.fake import FakeTarget

from .conftest import CONF, ROOT
from .ops_support import FakeDaemon, fast_settings, make_consistent


def _up() -> tuple[FakeTarget, FakeDaemon]:
    target = make_consistent()
    daemon = FakeDaemon(target)
    daemon.up()
    return target, daemon


def _report(target: FakeTarget) -> StatusReport:
    return read_status(target, read_system(target, fast_settings()))


def test_all_running_and_owning_is_exit_0() -> None:
    target, daemon = _up()
    report = _report(target)
    assert report.ok and report.code == 0 and report.supervisord_pid == 99
    rows = {p.name: p for p in report.programs}
    assert rows["main_app"].pid == daemon.programs["main_app"]
    assert rows["main_app"].port == 8001 and rows["main_app"].owns_port
    assert rows["main_app"].uptime == 60


def test_a_child_listening_for_its_parent_counts_as_owning() -> None:
    target, daemon = _up()
    parent = daemon.programs["main_app"]
    target.listening = [lst for lst in target.listening if lst.pid != parent]
    target.add_process(900, ["uvicorn-worker"], ppid=parent)
    target.listen(8001, 900)
    assert _report(target).ok


def test_a_stopped_program_is_exit_1() -> None:
    target, daemon = _up()
    target.end_process(daemon.programs["kalshi_market_watchdog"], 0)
    report = _report(target)
    assert report.code == 1
    assert report.summary() == "kalshi_market_watchdog: STOPPED, should be RUNNING"


def test_a_port_held_by_another_pid_names_the_holder() -> None:
    target, daemon = _up()
    pid = daemon.programs["main_app"]
    target.listening = [lst for lst in target.listening if lst.pid != pid]
    target.add_process(555, ["nc", "-l", "8001"], user="alice")
    target.listen(8001, 555)
    report = _report(target)
    row = next(p for p in report.programs if p.name == "main_app")
    assert report.code == 1 and row.state == "RUNNING" and not row.owns_port
    assert row.problem() == "port 8001 is held by pid 555 (alice): nc -l 8001"


def test_supervisord_down_is_exit_1_and_every_row_down() -> None:
    target = make_consistent()
    report = _report(target)
    assert report.code == 1 and not report.up
    assert {p.state for p in report.programs} == {"DOWN"}
    assert report.summary() == "supervisord is not running"


def test_a_program_not_autostarted_and_stopped_is_fine() -> None:
    target, daemon = _up()
    conf = f"{ROOT}/{CONF}"
    text = (target.text(conf) or "") + "\n[program:tool]\ncommand=/bin/true\nautostart=false\n"
    target.put(conf, text)
    daemon.programs["tool"] = 1  # not a live pid: STOPPED
    report = _report(target)
    row = next(p for p in report.programs if p.name == "tool")
    assert row.state == "STOPPED" and not row.should_run and row.ok and report.ok


def test_table_and_json() -> None:
    target, daemon = _up()
    report = _report(target)
    table = status_table(report).splitlines()
    assert table[0].split() == ["program", "state", "pid", "uptime", "port", "owns", "note"]
    pid = str(daemon.programs["main_app"])
    assert table[2].split()[:6] == ["main_app", "RUNNING", pid, "0:01:00", "8001", "yes"]
    doc = json.loads(status_json(report))
    assert doc["ok"] is True and doc["exit_code"] == 0
    assert doc["supervisord"] == {"up": True, "pid": 99}
    assert {p["name"] for p in doc["programs"]} == {"main_app", "kalshi_market_watchdog"}


def test_wait_healthy_returns_at_once_when_healthy_and_early_on_fatal() -> None:
    target, _ = _up()
    system = read_system(target, fast_settings())
    assert wait_healthy(target, system, 5).ok
    target.rpc_handler = lambda m, a: (
        99
        if m == "supervisor.getPID"
        else [{"name": "main_app", "statename": "FATAL", "pid": 0, "start": 0, "now": 0}]
    )
    report = wait_healthy(target, system, 60)  # returns long before 60s
    assert not report.ok
