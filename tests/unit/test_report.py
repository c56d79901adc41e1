"""report: one JSON object per outcome, fixed step lines, and no secret in anything shown."""

from __future__ import annotations

import json

from portbook.model import FileChange, Outcome, Plan, ServiceSpec, StepResult
from portbook.report.steps import outcome_json, plan_json, plan_text, step_line, summary_line

ROOT = "/srv/recio"
SECRET = 'environment=DB_PASSWORD="hunter2"'
SPEC = ServiceSpec("risk_monitor", 8003, "watchdog", "risk", "backend/api/risk_monitor.py", None)


def _outcome(code: int = 0, error: str | None = None) -> Outcome:
    return Outcome(
        "add",
        "recio-1",
        [
            StepResult("fallback", "undone", 0.01234, "add risk_monitor"),
            StepResult("supervisor-conf", "failed", 1.5, SECRET),
        ],
        [f"{ROOT}/backend/core/port_config.py"],
        error,
        code,
    )


def test_outcome_json_is_exactly_one_object_with_the_documented_fields() -> None:
    text = outcome_json(_outcome(1, "boom"))
    decoder = json.JSONDecoder()
    doc, end = decoder.raw_decode(text)
    assert end == len(text)  # nothing after the object
    assert "\n" not in text
    assert {"ok", "procedure", "host", "steps", "changed_files", "error"} <= set(doc)
    assert (doc["ok"], doc["procedure"], doc["host"], doc["error"]) == (
        False,
        "add",
        "recio-1",
        "boom",
    )
    assert doc["changed_files"] == [f"{ROOT}/backend/core/port_config.py"]
    assert doc["steps"][0] == {
        "name": "fallback",
        "status": "undone",
        "seconds": 0.012,
        "detail": "add risk_monitor",
    }
    assert [set(s) for s in doc["steps"]] == [{"name", "status", "seconds", "detail"}] * 2


def test_outcome_json_of_a_success_has_ok_true_and_null_error() -> None:
    doc = json.loads(outcome_json(Outcome("add", "local")))
    assert doc["ok"] is True
    assert doc["error"] is None
    assert doc["steps"] == []


def test_step_line_shows_status_name_seconds_and_detail() -> None:
    line = step_line(StepResult("manifest", "changed", 0.25, "add x to watchdog_services"))
    assert line == "  changed  manifest           0.25s  add x to watchdog_services"


def test_summary_line_of_success_counts_changed_files_and_time() -> None:
    outcome = Outcome("add", "recio-1", [StepResult("a", "changed", 1.25, "")], ["x", "y"])
    assert summary_line(outcome) == "add on recio-1: done in 1.25s; changed 2 file(s)"


def test_summary_line_of_failure_gives_verdict_exit_code_and_error() -> None:
    assert summary_line(_outcome(3, "undo failed")).endswith(
        "ROLLBACK INCOMPLETE (exit 3): undo failed"
    )
    assert "refused, nothing changed (exit 2)" in summary_line(_outcome(2, "no"))
    assert "failed, rolled back (exit 1)" in summary_line(_outcome(1, "no"))


def test_secret_in_a_step_detail_is_masked_in_the_step_line() -> None:
    line = step_line(StepResult("supervisor-conf", "failed", 0.1, SECRET))
    assert "hunter2" not in line
    assert 'DB_PASSWORD="***"' in line


def test_secret_in_the_error_is_masked_in_the_summary_line() -> None:
    line = summary_line(_outcome(1, SECRET))
    assert "hunter2" not in line
    assert 'DB_PASSWORD="***"' in line


def test_secrets_are_masked_in_json_details_and_error() -> None:
    text = outcome_json(_outcome(1, SECRET))
    assert "hunter2" not in text
    doc = json.loads(text)
    assert doc["steps"][1]["detail"] == 'environment=DB_PASSWORD="***"'
    assert doc["error"] == 'environment=DB_PASSWORD="***"'


def _conf_plan() -> tuple[list[str], list[Plan]]:
    before = b"[program:main_app]\ncommand=python main.py\n"
    after = before + (
        b"\n[program:risk_monitor]\ncommand=python r.py\n"
        b'environment=PYTHONPATH=".",API_TOKEN=abc123\n'
    )
    change = FileChange(f"{ROOT}/backend/supervisord.conf", before, after)
    created = FileChange(f"{ROOT}/backend/api/risk_monitor.py", None, b"PORT = 1\n", 0o644)
    return ["supervisor-conf", "service-code", "smoke-test"], [
        Plan("add [program:risk_monitor]", (change,), ("risk_monitor",)),
        Plan("create script", (created,)),
        Plan("nothing", skip_reason="already"),
    ]


def test_plan_text_shows_each_step_a_unified_diff_and_masks_secrets() -> None:
    names, plans = _conf_plan()
    text = plan_text(SPEC, names, plans, ROOT)
    assert text.splitlines()[0] == (
        "plan: add risk_monitor (watchdog) on port 8003; nothing changed yet"
    )
    assert "[1] supervisor-conf  do   add [program:risk_monitor]" in text
    assert "[3] smoke-test       skip nothing" in text
    assert "--- a/backend/supervisord.conf\n+++ b/backend/supervisord.conf" in text
    assert "--- /dev/null\n+++ b/backend/api/risk_monitor.py" in text
    assert '+environment=PYTHONPATH=".",API_TOKEN=***' in text
    assert "abc123" not in text
    assert text.endswith("supervisor programs started, stopped or restarted: risk_monitor")


def test_plan_json_masks_secrets_in_diffs() -> None:
    names, plans = _conf_plan()
    text = plan_json(SPEC, names, plans, ROOT)
    assert "abc123" not in text
    doc = json.loads(text)
    assert [s["status"] for s in doc["steps"]] == ["planned", "planned", "skipped"]
    assert '+environment=PYTHONPATH=".",API_TOKEN=***' in doc["steps"][0]["diffs"][0]
    assert doc["port"] == 8003
