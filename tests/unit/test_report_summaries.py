"""The closing line of a rollback says what it put back; a read-only task never says it changed."""

from __future__ import annotations

import pytest
from portbook.model import Outcome, StepResult
from portbook.report.steps import summary_line


def _rollback(*steps: StepResult) -> Outcome:
    return Outcome("rollback of add", "local", list(steps), ["/srv/recio/backend/supervisord.conf"])


def test_a_rollback_names_what_each_undone_step_put_back_in_its_order() -> None:
    outcome = _rollback(
        StepResult("apply", "undone", 0.25, "stopped and removed supervisor group risk"),
        StepResult("verify", "undone", 0.0, "nothing to undo"),
        StepResult("supervisor-conf", "undone", 0.01, "restored backend/supervisord.conf"),
    )
    assert summary_line(outcome) == (
        "rollback of add on local: undone in 0.26s: stopped and removed supervisor group "
        "risk; restored backend/supervisord.conf"
    )


def test_a_rollback_whose_steps_had_changed_nothing_says_so() -> None:
    outcome = _rollback(StepResult("doctor-before", "undone", 0.0, "nothing to undo"))
    assert summary_line(outcome).endswith(": nothing had changed yet; journal cleared")


def test_nothing_to_roll_back_is_said_plainly_without_a_duration() -> None:
    outcome = Outcome(
        "rollback", "local", [StepResult("journal", "skipped", 0.0, "nothing to roll back")]
    )
    assert summary_line(outcome) == "rollback on local: nothing to roll back"


@pytest.mark.parametrize("procedure", ["list", "status", "doctor"])
def test_a_read_only_task_refused_does_not_say_nothing_changed(procedure: str) -> None:
    line = summary_line(Outcome(procedure, "local", error="not a system root", code=2))
    assert line == f"{procedure} on local: refused (exit 2): not a system root"


@pytest.mark.parametrize("procedure", ["add", "rollback", "doctor-fix", "restart"])
def test_a_task_that_changes_things_refused_says_nothing_changed(procedure: str) -> None:
    line = summary_line(Outcome(procedure, "local", error="no", code=2))
    assert line == f"{procedure} on local: refused, nothing changed (exit 2): no"
