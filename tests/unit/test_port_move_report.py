"""service.modify shows the old port next to the new one: ``8003 -> 8010``, in plan and summary."""

from __future__ import annotations

import json

from portbook.model import Outcome, Plan, ServiceSpec, StepResult
from portbook.report.steps import plan_json, plan_text, summary_line

MOVED = ServiceSpec("db_poller", 8010, "core", "poller", None, None, previous_port=8003)
KEPT = ServiceSpec("db_poller", 8003, "core", "new text", None, None, previous_port=8003)
ADDED = ServiceSpec("risk", 8010, "watchdog", "risk", None, None)


def test_port_move_is_old_arrow_new_only_when_the_port_changes() -> None:
    assert MOVED.port_move == "8003 -> 8010"
    assert KEPT.port_move == "8003"
    assert ADDED.port_move == "8010"


def test_the_modify_plan_shows_old_and_new_port_in_its_header_and_port_line() -> None:
    text = plan_text(MOVED, ["manifest"], [Plan("x", skip_reason="s")], "/r", "modify")
    lines = text.splitlines()
    assert lines[0] == "plan: modify db_poller (core) on port 8003 -> 8010; nothing changed yet"
    assert "port: 8003 -> 8010" in lines


def test_an_add_plan_shows_just_its_port() -> None:
    text = plan_text(ADDED, ["manifest"], [Plan("x", skip_reason="s")], "/r")
    assert text.splitlines()[0] == "plan: add risk (watchdog) on port 8010; nothing changed yet"
    assert "port: 8010" in text.splitlines()


def test_the_modify_plan_json_carries_the_previous_port() -> None:
    doc = json.loads(plan_json(MOVED, ["manifest"], [Plan("x")], "/r", "modify"))
    assert (doc["previous_port"], doc["port"]) == (8003, 8010)


def test_the_summary_of_a_modify_that_moved_the_port_shows_old_and_new() -> None:
    outcome = Outcome("modify", "local", [StepResult("a", "changed", 1.0, "")], ["m"])
    outcome.detail = "port 8003 -> 8010"
    assert summary_line(outcome) == (
        "modify on local: done in 1.00s; changed 1 file(s); port 8003 -> 8010"
    )


def test_a_failed_run_summary_shows_the_error_not_the_port_move() -> None:
    outcome = Outcome("modify", "local", error="boom", code=1, detail="port 8003 -> 8010")
    assert summary_line(outcome) == "modify on local: failed, rolled back (exit 1): boom"
