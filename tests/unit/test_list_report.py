"""service.list shares supervisor.status's live view: same problems, same words, exit 1 on them."""

from __future__ import annotations

import json

from portbook.commands.listing import list_report
from portbook.engine.journal import Journal
from portbook.host.status import read_status
from portbook.registry.system import read_system
from portbook.target.fake import FakeTarget

from .conftest import ROOT
from .ops_support import FakeDaemon, fast_settings, make_consistent


def _up() -> tuple[FakeTarget, FakeDaemon]:
    target = make_consistent()
    daemon = FakeDaemon(target)
    daemon.up()
    return target, daemon


def _list(target: FakeTarget) -> tuple[int, str, dict[str, object]]:
    code, text, doc = list_report(target, fast_settings())
    return code, text, json.loads(doc)


def _problems(doc: dict[str, object], name: str) -> list[str]:
    services = doc["services"]
    assert isinstance(services, list)
    return next(row["problems"] for row in services if row["name"] == name)


def _leave_journal(target: FakeTarget, completed: bool = False) -> Journal:
    journal = Journal(target, fast_settings(), "add", {"name": "risk"}, pid=4321)
    journal.completed = completed
    journal.save()
    return journal


def test_a_healthy_system_lists_every_service_ok_and_exits_0() -> None:
    target, _ = _up()
    code, text, doc = _list(target)
    assert code == 0 and doc["ok"] is True and doc["exit_code"] == 0
    assert all(row.split()[-1] == "ok" for row in text.splitlines()[1:])


def test_a_stopped_service_whose_port_a_foreign_pid_holds_is_a_problem_in_status_words() -> None:
    target, daemon = _up()
    target.end_process(daemon.programs["main_app"], 0)  # STOPPED
    target.add_process(555, ["nc", "-l", "8001"], user="alice")
    target.listen(8001, 555)
    code, text, doc = _list(target)
    status = read_status(target, read_system(target, fast_settings()))
    row = next(p for p in status.programs if p.name == "main_app")
    assert code == 1 and doc["ok"] is False
    assert _problems(doc, "main_app") == [row.problem()]
    assert "port 8001 is held by pid 555 (alice): nc -l 8001" in text


def test_supervisord_down_exits_1_and_says_so_under_the_table() -> None:
    target = make_consistent()
    code, text, doc = _list(target)
    assert code == 1 and text.splitlines()[-1] == "supervisord is not running"
    assert doc["supervisord"] == {"up": False, "pid": None}


def test_an_unfinished_run_left_pending_exits_1_and_points_to_rollback() -> None:
    target, _ = _up()
    _leave_journal(target)
    code, text, doc = _list(target)
    expected = "an unfinished add of risk (pid 4321) left .portbook/journal.json"
    assert code == 1 and str(doc["pending"]).startswith(expected)
    assert text.splitlines()[-1] == f"{expected}: run invoke service.rollback"


def test_a_completed_run_kept_for_fleet_rollback_asks_for_a_decision() -> None:
    target, _ = _up()
    _leave_journal(target, completed=True)
    code, text, _ = _list(target)
    assert code == 1 and "--keep-changes accepts it" in text.splitlines()[-1]


def test_the_journal_of_a_run_still_holding_the_lock_is_not_pending() -> None:
    target, _ = _up()
    _leave_journal(target)
    target.add_process(4321, ["python", "-m", "playbooks", "service.add"], cwd=ROOT)
    target.put(f"{ROOT}/.portbook/lock", "4321 2024-01-01T00:00:00\n")
    code, _, doc = _list(target)
    assert code == 0 and doc["pending"] is None


def test_status_reports_a_pending_run_only_when_asked() -> None:
    target, _ = _up()
    _leave_journal(target)
    system = read_system(target, fast_settings())
    assert read_status(target, system).ok  # restart and recovery wait on this: no journal
    pending = read_status(target, system, pending=True)
    assert not pending.ok and pending.summary().startswith("an unfinished add of risk")
