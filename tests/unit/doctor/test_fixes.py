"""doctor --fix: the pure edits on small texts, and the steps against a FakeTarget."""

from __future__ import annotations

import json
import re

import pytest
from portbook.commands.doctor_fix import (
    DOCTOR_FIX,
    DOCTOR_SPEC,
    MoveTmpLogs,
    RegenerateFallback,
    RewritePythonPorts,
    RewriteShellPortArrays,
    fix_plan,
    fix_system,
    prepare_fix,
)
from portbook.commands.execute import rollback
from portbook.config import Settings
from portbook.doctor.fix_python import port_owners, port_prefilter, rewrite_python_ports
from portbook.doctor.fix_shell import rewrite_port_lists
from portbook.doctor.fix_walk import journal_safe, parse_find_output, source_files
from portbook.engine.journal import JournalEntry
from portbook.errors import StepFailed, TargetError
from portbook.model import FileChange, Plan
from portbook.procedures import PROCEDURES
from portbook.registry import fallback, manifest
from portbook.steps import Run, Step
from portbook.steps.doctor_fix import fallback_module
from portbook.target import RunResult
from portbook.target.fake import FakeTarget

from tests.integration.faults import FaultAfter

from ..conftest import CONF, FALLBACK, FALLBACK_TEXT, MANIFEST, ROOT, make_recio, settings_for

MODULE = "backend.core.port_config"
OWNERS = port_owners({"main_app": 8001, "db_poller": 8003, "a": 8005, "b": 8005})


def fix(text: str) -> str:
    return rewrite_python_ports(text, "svc.py", OWNERS, MODULE).text


# --- Python ports -------------------------------------------------------------------------


def test_uvicorn_port_becomes_get_port_and_the_import_joins_the_imports() -> None:
    before = (
        '"""svc."""\n\nimport uvicorn\n\nfrom backend.core.health import health_app\n\n'
        'app = health_app("db_poller")\n\nif __name__ == "__main__":\n'
        '    uvicorn.run(app, host="127.0.0.1", port=8003)\n'
    )
    assert fix(before) == (
        '"""svc."""\n\nimport uvicorn\n\nfrom backend.core.health import health_app\n'
        "from backend.core.port_config import get_port\n\n"
        'app = health_app("db_poller")\n\nif __name__ == "__main__":\n'
        '    uvicorn.run(app, host="127.0.0.1", port=get_port("db_poller"))\n'
    )


def test_a_constant_used_as_a_port_is_rewritten_and_an_existing_import_kept() -> None:
    before = (
        "from backend.core.port_config import get_port\n\nSERVICE_PORT = 8001  # main\n"
        "uvicorn.run(app, port=SERVICE_PORT)\n"
    )
    assert fix(before) == before.replace("= 8001", '= get_port("main_app")')


def test_parentheses_around_the_literal_are_kept() -> None:
    assert fix("import x\nx.run(app, port=( 8003 ))\n") == (
        "import x\nfrom backend.core.port_config import get_port\n"
        'x.run(app, port=( get_port("db_poller") ))\n'
    )


def test_ports_of_two_services_or_of_none_are_left_as_findings() -> None:
    text = "import x\nx.run(a, port=8005)\nx.run(b, port=9999)\n"
    result = rewrite_python_ports(text, "svc.py", OWNERS, MODULE)
    assert result.text == text and result.fixed == ()
    assert [(hit.line, hit.value) for hit in result.left] == [(2, 8005), (3, 9999)]


def test_a_literal_equal_to_a_port_but_not_used_as_one_is_untouched() -> None:
    text = "import x\nTIMEOUT_MS = 8003\nx.sleep(8001)\n"
    result = rewrite_python_ports(text, "svc.py", OWNERS, MODULE)
    assert result.text == text and result.fixed == () and result.left == ()


def test_a_module_with_its_own_get_port_is_left_alone() -> None:
    text = "def get_port(name):\n    return 1\n\nrun(app, port=8003)\n"
    result = rewrite_python_ports(text, "svc.py", OWNERS, MODULE)
    assert result.text == text and [hit.value for hit in result.left] == [8003]


def test_without_imports_the_import_follows_the_docstring() -> None:
    before = '"""Doc."""\nPORT = 1\n\n\ndef serve(port=8001):\n    pass\n'
    assert fix(before) == (
        '"""Doc."""\n\nfrom backend.core.port_config import get_port\nPORT = 1\n\n\n'
        'def serve(port=get_port("main_app")):\n    pass\n'
    )


def test_the_import_goes_before_a_module_level_use_above_the_last_import() -> None:
    before = "import a\nPORT = 8003\nimport b\nb.run(port=PORT)\n"
    assert fix(before) == (
        "import a\nfrom backend.core.port_config import get_port\n"
        'PORT = get_port("db_poller")\nimport b\nb.run(port=PORT)\n'
    )


def test_the_python_rewrite_is_idempotent() -> None:
    once = fix("import x\nx.run(app, port=8001)\nx.bind(('h', 8003))\n")
    assert once.count("get_port(") == 2 and fix(once) == once


def test_the_prefilter_matches_whole_numbers_only() -> None:
    pattern = port_prefilter([8001, 3000])
    assert pattern is not None and port_prefilter([]) is None
    assert pattern.search("run(port=8001)") and pattern.search("x = (3000)")
    assert not pattern.search("180011 30000 8001.5 v8001 '1.8001'")


# --- shell port lists ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("before", "after"),
    [
        ("PORTS=(3000 4000 9999)\n", "PORTS=(8001 8002 8003)\n"),
        ('export SERVICE_PORTS="3000  4000"\n', 'export SERVICE_PORTS="8001  8002  8003"\n'),
        ("port_list='1 2'  # ok\n", "port_list='8001 8002 8003'  # ok\n"),
        ("declare -a PORTS=( 1 )\n", "declare -a PORTS=( 8001 8002 8003 )\n"),
        ("PORTS=(\n  1\n  2\n)\nx\n", "PORTS=(\n  8001\n  8002\n  8003\n)\nx\n"),
        ("a=1; PORTS=(1 2); b=2\n", "a=1; PORTS=(8001 8002 8003); b=2\n"),
    ],
)
def test_port_lists_take_the_manifest_ports_in_their_own_style(before: str, after: str) -> None:
    text, found = rewrite_port_lists(before, [8001, 8002, 8003, 8002])
    assert text == after and len(found) == 1
    assert found[0].new == (8001, 8002, 8003)


@pytest.mark.parametrize(
    "text",
    [
        "SUPPORTED=(1 2 3)\n",
        'MAIN_PORT="3000"\n',
        "# PORTS=(1 2)\n",
        "PORTS=(1 $EXTRA)\n",
        'PORTS=("1" "2")\n',
        "PORTS+=(1 2)\n",
        "PORTS=()\n",
        "PORTS=(8001 8002 8003)\n",
    ],
)
def test_other_assignments_are_left_alone(text: str) -> None:
    assert rewrite_port_lists(text, [8001, 8002, 8003]) == (text, [])


def test_the_line_of_each_changed_list_is_reported() -> None:
    _, found = rewrite_port_lists("#!/bin/sh\nA=1\nPORTS=(1)\n", [5])
    assert [(f.line, f.name, f.old) for f in found] == [(3, "PORTS", (1,))]


# --- files, journal names, module -----------------------------------------------------------


def test_find_output_is_filtered_by_suffix_root_and_skipped_folders() -> None:
    paths = [
        "/r/a.py",
        "/r/b/c.py",
        "/r/b/c.sh",
        "/r/venv/x.py",
        "/r/x/.venv/y.py",
        "/r/node_modules/z.py",
        "/r/.git/h.py",
        "/r/logs/l.py",
        "/r/.portbook/backups/00-a.py",
        "/r/b/__pycache__/c.py",
        "/r/.github/w.py",
        "/r/b/.hidden.py",
        "/r/var/log/v.py",
        "/r/var/logger.py",
        "/elsewhere/d.py",
        "/r/venv.py",
    ]
    output = "\0".join(paths) + "\0"
    assert parse_find_output(output, "/r", ".py", "/r/var/log") == [
        "/r/a.py",
        "/r/b/c.py",
        "/r/var/logger.py",
        "/r/venv.py",
    ]


def test_source_files_runs_one_pruning_find_and_reports_its_failure() -> None:
    target = FakeTarget()
    target.run_handler = lambda argv: RunResult(0, "/r/a.sh\0/r/venv/b.sh\0", "")
    assert source_files(target, "/r", ".sh", "/r/var/log") == ["/r/a.sh"]
    argv = target.commands[0]
    assert argv[:4] == ("find", "/r", "-mindepth", "1") and "-prune" in argv
    skipped = {"venv", ".venv", "node_modules", ".git", "logs", ".portbook", "__pycache__"}
    assert skipped | {".*", "/r/var/log"} <= set(argv)
    target.run_handler = lambda argv: RunResult(1, "", "find: '/r': Permission denied\n")
    with pytest.raises(TargetError, match="Permission denied"):
        source_files(target, "/r", ".sh")


def test_files_sharing_a_basename_wait_for_the_next_run() -> None:
    changes = [FileChange(p, b"a", b"b") for p in ("/r/a/run.sh", "/r/b/run.sh", "/r/x.sh")]
    kept, deferred = journal_safe(changes)
    assert [c.path for c in kept] == ["/r/a/run.sh", "/r/x.sh"]
    assert [c.path for c in deferred] == ["/r/b/run.sh"]


def test_the_fallback_module_is_importable_only_from_a_relative_dotted_path() -> None:
    assert fallback_module("backend/core/port_config.py") == MODULE
    assert fallback_module("/abs/port_config.py") is None
    assert fallback_module("my-app/port_config.py") is None


# --- steps on a FakeTarget ---------------------------------------------------------------------


def with_find(target: FakeTarget) -> FakeTarget:
    """Answer ``find ROOT ...`` with every fake file under ROOT (the parser filters)."""

    def handler(argv: tuple[str, ...]) -> RunResult:
        if argv[0] != "find":
            return RunResult(0, "", "")
        return RunResult(0, "".join(p + "\0" for p in target.files if p.startswith(argv[1])), "")

    target.run_handler = handler
    return target


def recio(**manifest_changes: object) -> FakeTarget:
    return with_find(make_recio(**manifest_changes))


def run_of(target: FakeTarget, settings: Settings | None = None) -> Run:
    return prepare_fix(target, settings or settings_for())


def path(rel: str) -> str:
    return f"{ROOT}/{rel}"


def test_doctor_fix_steps_are_in_order_and_say_what_they_promise() -> None:
    assert [type(s) for s in DOCTOR_FIX] == [
        RegenerateFallback,
        RewritePythonPorts,
        RewriteShellPortArrays,
        MoveTmpLogs,
    ]
    assert [s.name for s in DOCTOR_FIX] == [
        "regen-fallback",
        "python-ports",
        "shell-ports",
        "tmp-logs",
    ]
    for step in DOCTOR_FIX:
        doc = (type(step).__doc__ or "").strip()
        assert re.search(r"\n\s*Idempotent: .+\n\s*Undo: [^\n]+(\n\s+[^\n]+)*$", doc), doc


def test_regenerate_fallback_sets_adds_and_removes_keeping_every_other_byte() -> None:
    core = {
        "main_app": {"port": 8002, "description": "Main", "status": "RUNNING"},
        "risk_monitor": {"port": 8007, "description": "Risk", "status": "RUNNING"},
    }
    target = recio(core_services=core)
    plan = RegenerateFallback().check(run_of(target))
    expected = FALLBACK_TEXT.replace(
        '    "main_app": 8001,\n    "kalshi_market_watchdog": 8005,\n    "old_poller": 8010,\n',
        '    "main_app": 8002,\n    "kalshi_market_watchdog": 8005,\n    "risk_monitor": 8007,\n',
    )
    assert [(c.path, c.before, c.after) for c in plan.files] == [
        (path(FALLBACK), FALLBACK_TEXT.encode(), expected.encode())
    ]
    assert "remove old_poller" in plan.summary and "main_app 8001 -> 8002" in plan.summary


def test_regenerate_fallback_skips_when_the_fallback_agrees() -> None:
    target = recio()
    text = fallback.remove_port(FALLBACK_TEXT, "f", "old_poller")
    target.put(path(FALLBACK), text)
    plan = RegenerateFallback().check(run_of(target))
    assert plan.skip_reason and not plan.files


def test_python_ports_are_rewritten_outside_skipped_folders_and_the_fallback() -> None:
    target = recio()
    service = "import uvicorn\n\nuvicorn.run(app, port=8001)\n"
    target.put(path("backend/api/main_app.py"), service)
    target.put(path("venv/lib/site.py"), service)
    target.put(path("backend/api/other.py"), "import x\nx.run(port=8123)\n")
    plan = RewritePythonPorts().check(run_of(target))
    assert [c.path for c in plan.files] == [path("backend/api/main_app.py")]
    assert plan.files[0].after == (
        b"import uvicorn\nfrom backend.core.port_config import get_port\n\n"
        b'uvicorn.run(app, port=get_port("main_app"))\n'
    )
    assert "backend/api/main_app.py:3 8001 -> get_port('main_app')" in plan.summary
    assert "1 left as findings" not in plan.summary  # 8123 is no manifest port: prefiltered


def test_python_ports_skip_unparsable_files_and_say_so() -> None:
    target = recio()
    target.put(path("backend/api/broken.py"), "def x(:\n    run(port=8001)\n")
    plan = RewritePythonPorts().check(run_of(target))
    assert plan.skip_reason and "1 unparsable file(s) skipped" in plan.summary


def test_shell_port_lists_follow_the_manifest_in_manifest_order() -> None:
    target = recio()
    target.put(path("scripts/check_ports.sh"), "#!/bin/sh\nPORTS=(3000 4000 9999)\n")
    plan = RewriteShellPortArrays().check(run_of(target))
    assert [c.after for c in plan.files] == [b"#!/bin/sh\nPORTS=(8001 8005)\n"]


def conf_with(*pairs: tuple[str, str]) -> str:
    text = (make_recio().text(path(CONF))) or ""
    for old, new in pairs:
        assert old in text
        text = text.replace(old, new)
    return text


def test_tmp_logs_move_into_logs_keeping_the_line_layout() -> None:
    target = recio()
    moved = (
        ("stdout_logfile=logs/main_app.out.log", "stdout_logfile=/tmp/main_app.out.log"),
        ("stderr_logfile=logs/legacy_proxy.err.log", "stderr_logfile = /tmp/lp.err.log ; old"),
    )
    target.put(path(CONF), conf_with(*moved))
    plan = MoveTmpLogs().check(run_of(target))
    expected = conf_with(
        ("stderr_logfile=logs/legacy_proxy.err.log", "stderr_logfile = logs/lp.err.log ; old")
    )
    assert [c.after for c in plan.files] == [expected.encode()]
    assert plan.programs == ()


def test_a_tmp_log_whose_new_path_is_taken_stays_a_finding() -> None:
    target = recio()
    target.put(
        path(CONF),
        conf_with(
            ("stdout_logfile=logs/legacy_proxy.out.log", "stdout_logfile=/tmp/main_app.out.log")
        ),
    )
    plan = MoveTmpLogs().check(run_of(target))
    assert plan.skip_reason and not plan.files


def test_a_logs_folder_outside_supervisords_directory_is_written_absolute() -> None:
    target = recio()
    target.put(path(CONF), conf_with(("=logs/main_app.out.log", "=/tmp/m.out.log")))
    settings = settings_for(yaml_text="logs: /var/log/recio\n")
    plan = MoveTmpLogs().check(run_of(target, settings))
    assert b"stdout_logfile=/var/log/recio/m.out.log\n" in plan.files[0].after


def test_a_conf_supervisor_already_rejects_is_left_alone() -> None:
    target = recio()
    broken = conf_with(
        ("=logs/main_app.out.log", "=/tmp/m.out.log"), ("autostart=true", "autostart=maybe")
    )
    target.put(path(CONF), broken)
    plan = MoveTmpLogs().check(run_of(target))
    assert plan.skip_reason and "backend/supervisord.conf rejected by supervisor" in plan.summary


def seed_everything(target: FakeTarget) -> None:
    """One instance of each fixable problem (the fallback already has old_poller extra)."""
    target.put(path("backend/api/main_app.py"), "import uvicorn\nuvicorn.run(app, port=8001)\n")
    target.put(path("scripts/check_ports.sh"), "PORTS=(3000 4000 9999)\n")
    target.put(path(CONF), conf_with(("=logs/main_app.out.log", "=/tmp/main_app.out.log")))


def test_fix_plan_plans_every_step_and_writes_nothing() -> None:
    target = recio()
    seed_everything(target)
    files = dict(target.files)
    names, plans = fix_plan(target, settings_for())
    assert names == [s.name for s in DOCTOR_FIX]
    assert all(p.files and p.skip_reason is None for p in plans)
    assert target.files == files and target.writes == [] and target.locks_taken == []


def places(target: FakeTarget) -> tuple[dict[str, int], dict[str, int]]:
    services = manifest.read_services(target.text(path(MANIFEST)) or "", "m")
    return {n: e.port for n, e in services.items()}, fallback.read_ports(
        target.text(path(FALLBACK)) or "", "f"
    )


def test_fix_system_repairs_everything_and_a_second_run_skips_every_step() -> None:
    target = recio()
    seed_everything(target)
    first = fix_system(target, settings_for())
    assert first.ok, first.error
    assert [s.status for s in first.steps] == ["changed"] * 4
    manifest_ports, fallback_ports = places(target)
    assert manifest_ports == fallback_ports
    assert 'port=get_port("main_app")' in (target.text(path("backend/api/main_app.py")) or "")
    assert target.text(path("scripts/check_ports.sh")) == "PORTS=(8001 8005)\n"
    assert "stdout_logfile=logs/main_app.out.log" in (target.text(path(CONF)) or "")
    assert target.text(path(".portbook/journal.json")) is None
    files = dict(target.files)
    second = fix_system(target, settings_for())
    assert second.ok and [s.status for s in second.steps] == ["skipped"] * 4
    assert target.files == files


@pytest.mark.parametrize("k", range(len(DOCTOR_FIX)), ids=[s.name for s in DOCTOR_FIX])
def test_a_fault_at_any_fix_step_leaves_every_file_as_it_was(k: int) -> None:
    target = recio()
    seed_everything(target)
    files = dict(target.files)
    steps = list(DOCTOR_FIX)
    steps[k] = FaultAfter(steps[k])
    outcome = fix_system(target, settings_for(), steps=steps)
    assert outcome.code == 1 and "injected fault" in str(outcome.error)
    assert target.files == files


def test_a_logs_folder_created_by_the_fix_goes_away_on_undo() -> None:
    target = recio()
    seed_everything(target)
    settings = settings_for(yaml_text="logs: var/logs\n")
    steps = [*DOCTOR_FIX[:3], FaultAfter(DOCTOR_FIX[3])]
    assert fix_system(target, settings, steps=steps).code == 1
    assert path("var/logs") not in target.dirs
    assert fix_system(target, settings).ok
    assert path("var/logs") in target.dirs


def test_an_unparsable_fallback_refuses_before_anything_changes() -> None:
    target = recio()
    target.put(path(FALLBACK), "DEFAULT_PORTS = dict(a=1)\n")
    files = dict(target.files)
    outcome = fix_system(target, settings_for())
    assert outcome.code == 2 and "DEFAULT_PORTS is not a literal dict" in str(outcome.error)
    assert target.files == files


class _StuckUndo:
    """Wraps a step: it fails after applying, and its own undo fails too (journal kept)."""

    def __init__(self, step: Step) -> None:
        self.step, self.name = step, step.name

    def check(self, run: Run) -> Plan:
        return self.step.check(run)

    def apply(self, run: Run, plan: Plan, entry: JournalEntry) -> str:
        self.step.apply(run, plan, entry)
        raise StepFailed("injected fault")

    def undo(self, run: Run, entry: JournalEntry) -> None:
        raise StepFailed("undo blocked")


def test_a_run_left_unfinished_is_rolled_back_once_doctor_fix_is_registered(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(PROCEDURES, "doctor-fix", DOCTOR_FIX)
    target = recio()
    seed_everything(target)
    files = dict(target.files)
    steps = [DOCTOR_FIX[0], _StuckUndo(DOCTOR_FIX[1])]
    outcome = fix_system(target, settings_for(), steps=steps)
    assert outcome.code == 3
    journal = json.loads(target.text(path(".portbook/journal.json")) or "{}")
    assert journal["procedure"] == "doctor-fix" and journal["spec"]["name"] == DOCTOR_SPEC.name
    undone = rollback(target, settings_for())
    assert undone.ok, undone.error
    assert {p: f for p, f in target.files.items() if not p.startswith(path(".portbook"))} == files


def test_plans_show_where_each_edit_is() -> None:
    target = recio()
    seed_everything(target)
    _, plans = fix_plan(target, settings_for())
    summaries = "\n".join(p.summary for p in plans)
    for expected in (
        r"remove old_poller",
        r"backend/api/main_app\.py:2 8001 -> get_port\('main_app'\)",
        r"set to \(8001 8005\): scripts/check_ports\.sh:1 PORTS",
        r"\[program:main_app\] stdout_logfile /tmp/main_app\.out\.log -> logs/main_app\.out\.log",
    ):
        assert re.search(expected, summaries), expected
