"""report.plans: the one form of a ``--check`` plan, shared by service, doctor and restart."""

from __future__ import annotations

import json

from portbook.commands.change import change_service, modify_service, remove_service, rename_service
from portbook.model import FileChange, Plan, ServiceSpec
from portbook.report import doctor, steps
from portbook.report.plans import plan_doc, plan_head, plan_lines, plan_status

ROOT = "/srv/recio"
SECRET = 'environment=DB_PASSWORD="hunter2"'
NAMES = ["manifest", "restart"]
PLANS = [
    Plan(
        "add risk_monitor",
        (FileChange(f"{ROOT}/ports.json", b"{}\n", f'{{"a": 1}}\n{SECRET}\n'.encode()),),
    ),
    Plan("restart it", programs=("risk_monitor",), skip_reason="no restart needed"),
]


def test_plan_doc_puts_extra_fields_between_check_and_steps_and_masks_secrets() -> None:
    text = plan_doc("modify", NAMES, PLANS, ROOT, port=8004, previous_port=8003)
    assert list(json.loads(text)) == [
        "ok",
        "procedure",
        "check",
        "port",
        "previous_port",
        "steps",
        "error",
    ]
    step = json.loads(text)["steps"][0]
    assert (step["name"], step["status"], step["programs"]) == ("manifest", "planned", [])
    assert "+++ b/ports.json" in step["diffs"][0]
    assert "hunter2" not in text


def test_service_and_doctor_plan_json_are_the_same_steps() -> None:
    spec = ServiceSpec("risk_monitor", 8003, "watchdog", "risk", None, None)
    service = json.loads(steps.plan_json(spec, NAMES, PLANS, ROOT, "add"))
    fix = json.loads(doctor.plan_json(NAMES, PLANS, ROOT))
    assert service["steps"] == fix["steps"]
    assert (service["procedure"], fix["procedure"]) == ("add", "doctor --fix")
    assert "port" not in fix


def test_plan_lines_give_each_step_its_head_then_its_diffs() -> None:
    lines = plan_lines(NAMES, PLANS, ROOT, 10)
    assert lines[0] == "[1] manifest   do   add risk_monitor"
    assert lines[1].startswith("--- a/ports.json")
    assert lines[2] == "[2] restart    skip restart it"
    assert plan_head(3, "x", PLANS[1], 2, "why") == "[3] x  skip why"
    assert [plan_status(p) for p in PLANS] == ["planned", "skipped"]


def test_modify_rename_and_remove_are_one_change_service() -> None:
    assert modify_service is rename_service is remove_service is change_service
