"""Output of restart and recovery: plan text and JSON, summary lines, per-service JSON rows."""

from __future__ import annotations

import json

from portbook.commands.recover import plan_recover, recover_system
from portbook.report.operations import op_json, op_summary, plan_json, plan_text, services_table

from .ops_support import FakeDaemon, fast_settings, make_consistent


def _broken() -> FakeDaemon:
    daemon = FakeDaemon(make_consistent())
    daemon.up()
    daemon.die()
    return daemon


def test_plan_text_numbers_steps_and_indents_their_lines() -> None:
    daemon = _broken()
    settings = fast_settings()
    text = plan_text(plan_recover(daemon.target, settings), settings)
    lines = text.splitlines()
    assert lines[0] == "plan: recover of /srv/recio on recio-test; nothing changed"
    assert lines[1].startswith("[1] supervisord-down  skip supervisord is not running")
    assert lines[2].startswith("[2] strays            do   stop 2 stray process(es)")
    assert lines[3].startswith("      stop pid 700 (app): python backend/api/main_app.py")
    doc = json.loads(plan_json(plan_recover(daemon.target, settings)))
    assert doc["check"] is True and doc["exit_code"] == 0
    assert doc["steps"][1]["status"] == "planned" and len(doc["steps"][1]["lines"]) == 2


def test_a_refused_plan_says_so_with_exit_2() -> None:
    daemon = _broken()
    target = daemon.target
    target.end_process(700, 0)
    target.add_process(555, ["nc", "-l", "8001"], user="alice")
    target.listen(8001, 555)
    settings = fast_settings()
    result = plan_recover(target, settings)
    assert result.outcome.code == 2
    assert (
        plan_text(result, settings)
        .splitlines()[-1]
        .startswith("refused (exit 2): port 8001 (main_app) is held by pid 555 (alice): nc -l 8001")
    )
    done = recover_system(target, settings)
    summary = op_summary(done, settings)
    assert summary.startswith("recover on recio-test: refused, nothing changed (exit 2)")


def test_done_summary_json_and_table() -> None:
    daemon = _broken()
    settings = fast_settings()
    result = recover_system(daemon.target, settings)
    assert op_summary(result, settings).startswith("recover on recio-test: done in ")
    assert result.op is not None and result.op.report is not None
    doc = json.loads(op_json(result, result.op.report))
    assert doc["ok"] is True and doc["exit_code"] == 0
    rows = {r["name"]: r for r in doc["services"]}
    assert rows["main_app"]["previous_pid"] == 700 and rows["main_app"]["owns_port"] is True
    assert any(a.startswith("SIGTERM to pid 700") for a in doc["actions"])
    table = services_table(result.op.report, result.op.before).splitlines()
    assert table[0].split()[:5] == ["service", "state", "old", "pid", "new"]
    assert table[2].split()[:3] == ["main_app", "RUNNING", "700"]


def test_a_failure_after_changes_says_nothing_can_be_undone() -> None:
    daemon = _broken()
    daemon.start_fails = True
    settings = fast_settings()
    result = recover_system(daemon.target, settings)
    line = op_summary(result, settings)
    assert line.startswith("recover on recio-test: FAILED (exit 1): supervisord did not start")
    assert line.endswith("nothing can be undone, what was done is in .portbook/audit.log")
