"""service: AddRequest validation refuses before anything changes; ADD end to end on a fake host."""

from __future__ import annotations

import json

import pytest
from portbook.commands.add import AddRequest, add_service, plan_add, rollback
from portbook.config import Settings
from portbook.errors import InvalidInput, PortConflict, Refused
from portbook.procedures import ADD
from portbook.target.fake import FakeTarget

from .conftest import CONF, FALLBACK, MANIFEST, ROOT, FakeSupervisor, make_recio, settings_for

JOURNAL = f"{ROOT}/.portbook/journal.json"


@pytest.mark.parametrize(
    "name",
    ["a;b", "$(x)", "risk\nmonitor", "risk monitor", "Risk", "1risk", "_risk", "risk-monitor",
     "", "r" * 65, "../etc", "risk`id`"],
    ids=["semicolon", "subshell", "newline", "space", "upper", "digit-first", "underscore-first",
         "dash", "empty", "too-long", "path", "backtick"],
)  # fmt: skip
def test_bad_names_are_refused_as_invalid_input(
    name: str, target: FakeTarget, settings: Settings
) -> None:
    before = target.snapshot()
    with pytest.raises(InvalidInput, match="invalid service name"):
        plan_add(target, settings, AddRequest(name))
    assert target.snapshot() == before


def test_longest_allowed_name_is_accepted(target: FakeTarget, settings: Settings) -> None:
    spec, _ = plan_add(target, settings, AddRequest("r" * 64))
    assert spec.name == "r" * 64


@pytest.mark.parametrize(
    ("name", "where"),
    [
        ("main_app", "already exists in the manifest (core_services)"),
        ("old_poller", "already exists in DEFAULT_PORTS (backend/core/port_config.py)"),
        ("legacy_proxy", f"already exists in supervisor config ({ROOT}/{CONF})"),
    ],
    ids=["manifest", "fallback-only", "conf-only"],
)
def test_a_name_already_in_any_one_place_is_refused_naming_that_place(
    name: str, where: str, target: FakeTarget, settings: Settings
) -> None:
    with pytest.raises(InvalidInput) as caught:
        plan_add(target, settings, AddRequest(name))
    assert str(caught.value) == f"{name} {where}"


def test_defaults_are_watchdog_category_and_script_in_the_api_folder(
    target: FakeTarget, settings: Settings
) -> None:
    spec, plans = plan_add(target, settings, AddRequest("risk_monitor"))
    assert spec.category == "watchdog"
    assert spec.script == "backend/api/risk_monitor.py"
    assert spec.command is None
    assert spec.description == "risk_monitor service"
    assert spec.port == 8003  # lowest free: 8001 main_app, 8002 inet_http_server
    created = plans[3].files[0]
    assert (created.path, created.before, created.mode) == (
        f"{ROOT}/backend/api/risk_monitor.py",
        None,
        0o644,
    )


def test_script_default_follows_the_api_dir_setting(target: FakeTarget) -> None:
    settings = settings_for(yaml_text="api_dir: services\n")
    spec, _ = plan_add(target, settings, AddRequest("risk_monitor"))
    assert spec.script == "services/risk_monitor.py"


def test_command_instead_of_script_leaves_no_script(target: FakeTarget, settings: Settings) -> None:
    spec, plans = plan_add(target, settings, AddRequest("risk", command="python -m risk"))
    assert (spec.script, spec.command) == (None, "python -m risk")
    assert plans[3].skip_reason == "--command given"


@pytest.mark.parametrize(
    ("request_", "message"),
    [
        (AddRequest("risk", category="batch"), "invalid category 'batch'"),
        (AddRequest("risk", script="r.py", command="python r.py"), "not both"),
        (AddRequest("risk", script="/etc/r.py"), "inside the root"),
        (AddRequest("risk", script="backend/../../r.py"), "inside the root"),
        (AddRequest("risk", script="backend/api/r.sh"), "must be a .py path"),
        (AddRequest("risk", script="backend/api/r;x.py"), "must be a .py path"),
        (AddRequest("risk", description="line one\nline two"), "description must be one line"),
        (AddRequest("risk", command="python r.py\nrm -rf /"), "command must be one line"),
        (AddRequest("risk", port=80), "port 80 is outside 1024-65535"),
    ],
    ids=["category", "script-and-command", "absolute-script", "escaping-script", "not-py",
         "shell-chars", "multiline-description", "multiline-command", "privileged-port"],
)  # fmt: skip
def test_bad_options_are_refused_as_invalid_input(
    request_: AddRequest, message: str, target: FakeTarget, settings: Settings
) -> None:
    with pytest.raises(InvalidInput, match=message.replace(".", r"\.").replace("(", r"\(")):
        plan_add(target, settings, request_)


def test_a_claimed_port_is_refused_as_port_conflict(target: FakeTarget, settings: Settings) -> None:
    with pytest.raises(PortConflict, match="8005 is kalshi_market_watchdog's in the manifest"):
        plan_add(target, settings, AddRequest("risk", port=8005))


def test_a_name_supervisord_already_runs_is_refused(target: FakeTarget, settings: Settings) -> None:
    FakeSupervisor(target, {"ghost": ("RUNNING", 700)})
    with pytest.raises(Refused, match="ghost is already a program in the running supervisord"):
        plan_add(target, settings, AddRequest("ghost"))


def test_plan_add_writes_nothing(target: FakeTarget, settings: Settings) -> None:
    before = target.snapshot()
    plan_add(target, settings, AddRequest("risk_monitor"))
    assert target.snapshot() == before
    assert target.writes == []


def test_add_service_reports_a_refusal_with_exit_code_2_and_changes_nothing(
    target: FakeTarget, settings: Settings
) -> None:
    before = target.snapshot()
    outcome = add_service(target, settings, AddRequest("a;b"))
    assert outcome.code == 2
    assert outcome.error is not None and "invalid service name 'a;b'" in outcome.error
    assert target.snapshot() == before


def test_add_service_refuses_while_a_previous_journal_is_left(
    target: FakeTarget, settings: Settings
) -> None:
    target.put(JOURNAL, json.dumps({"procedure": "add", "spec": {}, "pid": 77, "started": 0,
                                    "entries": []}))  # fmt: skip
    outcome = add_service(target, settings, AddRequest("risk_monitor"))
    assert outcome.code == 2
    assert outcome.error == (
        f"an unfinished add (pid 77) left {JOURNAL}: run `invoke service.rollback` first"
    )


def _live(target: FakeTarget) -> FakeSupervisor:
    """supervisord up with main_app and legacy_proxy running; new programs listen on 8003."""
    supervisor = FakeSupervisor(
        target, {"main_app": ("RUNNING", 500), "legacy_proxy": ("RUNNING", 501)}
    )
    supervisor.ports["risk_monitor"] = 8003
    target.add_process(500, ["python", "backend/api/main_app.py"], ppid=99)
    target.listen(8001, 500)

    def smoke_listens(fake: FakeTarget, spawned: object) -> None:
        fake.listen(8003, fake.spawned[-1].pid)

    target.on_spawn = smoke_listens
    return supervisor


NO_GATE = [s for s in ADD if not s.name.startswith("doctor-")]


def test_add_service_runs_every_step_and_touches_only_its_own_group() -> None:
    target = make_recio()
    supervisor = _live(target)
    # doctor's gate needs a real tree (directories, executables): integration tests cover it
    outcome = add_service(target, settings_for(), AddRequest("risk_monitor"), steps=NO_GATE)
    assert outcome.code == 0, outcome.error
    assert [(s.name, s.status) for s in outcome.steps] == [
        ("fallback", "changed"),
        ("manifest", "changed"),
        ("service-code", "changed"),
        ("supervisor-conf", "changed"),
        ("smoke-test", "ok"),
        ("apply", "changed"),
        ("verify", "ok"),
    ]
    assert '"risk_monitor": 8003' in (target.text(f"{ROOT}/{FALLBACK}") or "")
    doc = json.loads(target.text(f"{ROOT}/{MANIFEST}") or "")
    assert doc["watchdog_services"]["risk_monitor"]["port"] == 8003
    assert "[program:risk_monitor]" in (target.text(f"{ROOT}/{CONF}") or "")
    assert target.spawned[0].argv[-1] == "backend/api/risk_monitor.py"
    assert (target.spawned[0].pid, 2) in target.signals  # SIGINT ended the smoke run
    assert "supervisor.addProcessGroup" in supervisor.calls
    assert supervisor.programs["main_app"] == ("RUNNING", 500)
    assert not [p for p in target.files if "/.portbook/" in p]


def test_add_service_collateral_change_rolls_back_every_file_and_exits_2() -> None:
    target = make_recio()
    supervisor = _live(target)
    supervisor.reload_diff = (["risk_monitor"], ["main_app"], [])
    before = target.snapshot()
    outcome = add_service(target, settings_for(), AddRequest("risk_monitor"))
    assert outcome.code == 2
    assert outcome.error == (
        "supervisor would also change other groups (changed main_app); "
        "apply those first, or use --restart master"
    )
    assert target.snapshot() == before
    assert [(s.name, s.status) for s in outcome.steps][:7] == [
        ("doctor-before", "undone"),
        ("fallback", "undone"),
        ("manifest", "undone"),
        ("service-code", "undone"),
        ("supervisor-conf", "undone"),
        ("smoke-test", "undone"),
        ("apply", "failed"),
    ]
    assert "risk_monitor" not in supervisor.programs
    assert supervisor.programs["main_app"] == ("RUNNING", 500)


def test_rollback_with_no_journal_has_nothing_to_do(target: FakeTarget, settings: Settings) -> None:
    outcome = rollback(target, settings)
    assert outcome.code == 0
    assert [(s.name, s.status, s.detail) for s in outcome.steps] == [
        ("journal", "skipped", "nothing to roll back")
    ]
