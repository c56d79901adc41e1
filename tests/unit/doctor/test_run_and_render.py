"""Selecting checks, exit codes, the human and JSON output, and the ``doctor`` task's wiring."""

from __future__ import annotations

import json
import sys
import types
from pathlib import Path
from typing import Any

import pytest
from invoke import Config, Context, Exit
from portbook.doctor.findings import Finding
from portbook.doctor.run import CHECKS, DoctorReport, check_ids, run_checks, select
from portbook.errors import InvalidInput
from portbook.model import FileChange, Outcome, Plan, StepResult
from portbook.report.doctor import plan_json, plan_text, report_json, report_text
from portbook.sim.demo import install_demo

from playbooks import doctor as task_module

SECRET = "hunter2"
ERROR = Finding("policy.avoid", "error", "m.json:7", "a: port 9000 is on the avoid list", "move")
WARNING = Finding(  # as if a check had echoed a conf line or a URL: masking is the safety net
    "secrets.plaintext",
    "warning",
    "s.conf:3",
    f'environment=PYTHONPATH=".",DB_PASSWORD="{SECRET}"',
    f"use postgres://app:{SECRET}@db from the environment",
)


def test_every_check_id_is_unique_and_named_family_dot_kind() -> None:
    ids = check_ids()
    assert len(ids) == len(set(ids))
    assert all(i.count(".") == 1 and i == i.lower() for i in ids)
    assert {c.live for c in CHECKS} == {True, False}
    assert set(check_ids(live=False)) < set(ids)


def test_only_takes_ids_and_families_and_refuses_unknown_names() -> None:
    assert select(["policy.avoid"]) == ["policy.avoid"]
    assert select(["policy", "policy.avoid"]) == [
        "policy.invalid",
        "policy.privileged",
        "policy.avoid",
        "policy.range",
    ]
    assert "agreement.not-listening" in select(["agreement"])
    assert "agreement.not-listening" not in select(["agreement"], live=False)
    assert select(None) == check_ids()
    with pytest.raises(InvalidInput, match="unknown check 'polcy'"):
        select(["polcy"])
    with pytest.raises(InvalidInput):
        select(["policy.av"])  # a prefix of an id is not a family


def test_the_exit_code_is_1_only_when_an_error_is_found() -> None:
    assert DoctorReport([WARNING]).code == 0
    assert DoctorReport([WARNING, ERROR]).code == 1
    assert DoctorReport().code == 0


def test_the_table_shows_place_message_and_fix_and_masks_secrets() -> None:
    report = DoctorReport([ERROR, WARNING], checked=["policy.avoid"], files=3, services=2)
    text = report_text(report)
    assert "policy.avoid" in text and "m.json:7" in text and "fix: move" in text
    assert SECRET not in text and 'DB_PASSWORD="***"' in text and "app:***@db" in text
    assert text.splitlines()[-1].startswith("doctor: 1 error(s), 1 warning(s)")
    assert report_text(DoctorReport()).startswith("doctor: no findings")


def test_the_json_is_one_object_with_counts_findings_and_exit_code() -> None:
    report = DoctorReport([ERROR, WARNING], checked=["policy.avoid", "secrets.plaintext"])
    doc = json.loads(report_json(report, "local", "/srv/recio"))
    assert doc["ok"] is False and doc["exit_code"] == 1
    assert (doc["errors"], doc["warnings"]) == (1, 1)
    assert doc["findings"][0] == {
        "check": "policy.avoid",
        "severity": "error",
        "place": "m.json:7",
        "message": "a: port 9000 is on the avoid list",
        "fix": "move",
        "fixable": False,
    }
    assert SECRET not in json.dumps(doc)


def test_the_fix_plan_shows_each_step_and_masked_diffs() -> None:
    change = FileChange(
        "/r/s.conf",
        b'environment=A="1",DB_PASSWORD="x1"\n',
        b'environment=A="2",DB_PASSWORD="x1"\n',
    )
    plans = [Plan("move logs", (change,), ("main_app",)), Plan("none", skip_reason="clean")]
    text = plan_text(["tmp-logs", "shell-ports"], plans, "/r")
    assert "[1] tmp-logs" in text and "[2] shell-ports" in text and "skip" in text
    assert "+++ b/s.conf" in text and "x1" not in text
    assert "programs touched: main_app" in text
    doc = json.loads(plan_json(["tmp-logs", "shell-ports"], plans, "/r"))
    assert [s["status"] for s in doc["steps"]] == ["planned", "skipped"]
    assert "x1" not in json.dumps(doc)


# --- the task -----------------------------------------------------------------------------


@pytest.fixture
def demo_root(tmp_path: Path) -> str:
    """A copy of the demo system that is not running."""
    root = str(tmp_path / "sys")
    install_demo(root)
    return root


def call(root: str, **flags: Any) -> tuple[int, str]:
    """Run the doctor task in-process; its exit code and stdout."""
    ctx = Context(Config(overrides={"portbook": {}}))
    import io
    from contextlib import redirect_stdout

    out = io.StringIO()
    code = 0
    with redirect_stdout(out):
        try:
            task_module.doctor(ctx, root=root, **flags)
        except Exit as exc:
            code = exc.code
    return code, out.getvalue()


def test_the_task_prints_one_json_object_and_exits_by_severity(demo_root: str) -> None:
    code, out = call(demo_root, json=True, only="secrets")
    doc = json.loads(out)
    assert (code, doc["exit_code"], doc["warnings"]) == (0, 0, 1)
    code, out = call(demo_root, json=True, only="supervisor.socket")
    assert code == 1 and json.loads(out)["findings"][0]["check"] == "supervisor.socket"


def test_the_task_refuses_an_unknown_check_and_only_with_fix(demo_root: str) -> None:
    code, out = call(demo_root, json=True, only="nope")
    assert code == 2 and "unknown check" in json.loads(out)["error"]
    code, out = call(demo_root, json=True, only="policy", fix=True)
    assert code == 2 and "--only cannot be combined" in json.loads(out)["error"]


def fake_fixes(outcome_code: int, calls: list[str]) -> types.ModuleType:
    """A stand-in for the repairs module: records its calls, ends with ``outcome_code``."""
    module = types.ModuleType("portbook.commands.doctor_fix")

    def fix_plan(target: object, settings: object) -> tuple[list[str], list[Plan]]:
        calls.append("plan")
        return ["tmp-logs"], [Plan("nothing to move", skip_reason="none found")]

    def fix_system(target: object, settings: object, *, wait: bool, on_step: Any) -> Outcome:
        calls.append(f"run wait={wait}")
        result = StepResult("tmp-logs", "skipped", 0.0, "none found")
        on_step(result)
        return Outcome(
            "doctor-fix", "local", [result], code=outcome_code, error="x" if outcome_code else None
        )

    vars(module).update(fix_plan=fix_plan, fix_system=fix_system)
    return module


def test_fix_check_prints_the_plan_and_changes_nothing(
    demo_root: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[str] = []
    monkeypatch.setitem(sys.modules, "portbook.commands.doctor_fix", fake_fixes(0, calls))
    code, out = call(demo_root, fix=True, check=True)
    assert code == 0 and "plan: doctor --fix" in out and calls == ["plan"]


def test_fix_runs_then_reports_what_remains_with_the_worse_exit_code(
    demo_root: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[str] = []
    monkeypatch.setitem(sys.modules, "portbook.commands.doctor_fix", fake_fixes(0, calls))
    code, out = call(demo_root, fix=True, json=True, wait=True)
    doc = json.loads(out)
    assert calls == ["run wait=True"]
    assert doc["fix"]["procedure"] == "doctor-fix" and doc["fix"]["exit_code"] == 0
    assert code == doc["exit_code"] == 1  # supervisord is down in this copy: an error remains
    monkeypatch.setitem(sys.modules, "portbook.commands.doctor_fix", fake_fixes(3, calls))
    code, out = call(demo_root, fix=True, json=True)
    assert code == json.loads(out)["exit_code"] == 3


def test_fix_without_the_repairs_module_refuses(
    demo_root: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "portbook.commands.doctor_fix", None)
    code, out = call(demo_root, fix=True, json=True)
    assert code == 2 and "not available" in json.loads(out)["error"]


def test_run_checks_reports_what_it_scanned(demo_root: str) -> None:
    from portbook.config import load_settings
    from portbook.target import LocalTarget

    report = run_checks(LocalTarget(), load_settings(None, demo_root), ["hardcoded"], live=False)
    assert report.files == 11 and report.services == 5 and report.findings == []
