"""recover.emergency on a FakeTarget: what is stopped, how, what is refused, what is recorded."""

from __future__ import annotations

import json
import signal

from portbook.commands.recover import plan_recover, recover_system
from portbook.engine.audit import audit_path
from portbook.engine.journal import Journal
from portbook.procedures import RECOVER
from portbook.target.fake import FakeTarget

from .conftest import ROOT
from .ops_support import PIDFILE, PORTS, SOCKET, FakeDaemon, fast_settings, make_consistent

TERM, KILL = signal.SIGTERM, signal.SIGKILL


def _broken() -> tuple[FakeTarget, FakeDaemon, dict[str, int]]:
    """supervisord SIGKILLed: its programs are orphans on their ports, socket and pidfile stale."""
    target = make_consistent()
    daemon = FakeDaemon(target)
    daemon.up()
    daemon.die()
    return target, daemon, dict(daemon.programs)


def _audit(target: FakeTarget) -> str:
    return target.text(audit_path(fast_settings())) or ""


def test_recovers_orphans_and_stale_files_and_every_service_owns_its_port() -> None:
    target, daemon, orphans = _broken()
    result = recover_system(target, fast_settings())
    assert result.outcome.code == 0, result.outcome.error
    assert [s.name for s in result.outcome.steps] == [s.name for s in RECOVER]
    assert result.outcome.steps[0].status == "skipped"
    assert sorted(pid for pid, sig in target.signals if sig == TERM) == sorted(orphans.values())
    assert not [pid for pid, sig in target.signals if sig == KILL]
    assert result.op is not None and result.op.report is not None
    assert result.op.report.ok and {p.name for p in result.op.report.programs} == set(PORTS)
    assert daemon.programs != orphans
    assert result.op.before == orphans  # from SUPERVISOR_PROCESS_NAME, for the report


def test_a_service_ignoring_sigterm_gets_sigkill_after_the_grace() -> None:
    target, daemon, orphans = _broken()
    daemon.wedged = {"main_app"}
    result = recover_system(target, fast_settings())
    assert result.outcome.code == 0, result.outcome.error
    wedged = orphans["main_app"]
    assert target.signals.count((wedged, TERM)) == 1 and target.signals.count((wedged, KILL)) == 1
    assert (orphans["kalshi_market_watchdog"], KILL) not in target.signals


def test_stale_socket_and_pidfile_are_removed_and_audited() -> None:
    target, _, _ = _broken()
    assert target.file_mode(SOCKET) is not None and target.text(PIDFILE) == "99\n"
    recover_system(target, fast_settings())
    log = _audit(target)
    assert "recover\tstale-files: removed stale .run/supervisor.sock" in log
    assert "recover\tstale-files: removed stale .run/supervisord.pid" in log


def test_every_action_is_audited_with_time_user_and_procedure() -> None:
    target, _, orphans = _broken()
    recover_system(target, fast_settings())
    lines = _audit(target).splitlines()
    assert lines[0].split("\t")[2:] == ["recover", "begin recover"]
    assert lines[-1].endswith("\trecover\tend: exit 0")
    assert all(len(line.split("\t")) == 4 for line in lines)
    term = [line for line in lines if "SIGTERM to pid" in line]
    assert len(term) == len(orphans) and all("SUPERVISOR_SERVER_URL" in line for line in term)


def test_the_journal_records_each_step_before_it_acts_and_is_discarded_at_the_end() -> None:
    target, _, _ = _broken()
    seen: list[list[str]] = []

    def spy(result: object) -> None:
        raw = target.text(f"{ROOT}/.portbook/journal.json")
        seen.append([e["step"] for e in json.loads(raw)["entries"]] if raw else [])

    recover_system(target, fast_settings(), on_step=spy)
    assert seen[1] == ["strays"] and seen[-1][-1] == "verify"
    assert target.text(f"{ROOT}/.portbook/journal.json") is None


def test_a_foreign_holder_refuses_before_any_change_naming_pid_user_and_cmdline() -> None:
    target, _, orphans = _broken()
    target.end_process(orphans["main_app"], 0)
    target.add_process(555, ["python3", "-m", "http.server", "8001"], cwd="/", user="alice")
    target.listen(8001, 555)
    result = recover_system(target, fast_settings())
    assert result.outcome.code == 2
    assert "port 8001 (main_app) is held by pid 555 (alice): python3 -m http.server 8001" in (
        result.outcome.error or ""
    )
    assert "--kill-foreign" in (result.outcome.error or "")
    assert target.signals == [] and 555 in target.processes
    assert _audit(target) == "" and target.file_mode(SOCKET) is not None


def test_kill_foreign_stops_the_foreign_holder_too() -> None:
    target, _, orphans = _broken()
    target.end_process(orphans["main_app"], 0)
    target.add_process(555, ["python3", "-m", "http.server", "8001"], cwd="/", user="alice")
    target.listen(8001, 555)
    result = recover_system(target, fast_settings(), kill_foreign=True)
    assert result.outcome.code == 0, result.outcome.error
    assert (555, TERM) in target.signals and 555 not in target.processes
    assert "foreign, port 8001" in _audit(target)


def test_check_plans_what_it_would_stop_and_why_and_writes_nothing() -> None:
    target, _, orphans = _broken()
    before = target.snapshot()
    result = plan_recover(target, fast_settings())
    assert result.outcome.code == 0
    plans = dict(result.plans)
    for pid in orphans.values():
        assert f"stop pid {pid} " in plans["strays"].summary
    assert "supervisord started it as main_app" in plans["strays"].summary
    assert "remove stale .run/supervisor.sock, .run/supervisord.pid" in plans["stale-files"].summary
    assert target.signals == [] and target.writes == [] and target.locks_taken == []
    assert target.snapshot() == before and target.commands == []


def test_a_disagreeing_configuration_refuses_before_anything_is_stopped() -> None:
    target, _, _ = _broken()
    target.put(f"{ROOT}/backend/api/main_app.py", "PORT = 8001\n")
    result = recover_system(target, fast_settings())
    assert result.outcome.code == 2
    assert "configuration: main_app: backend/api/main_app.py does not read its port" in (
        result.outcome.error or ""
    )
    assert target.signals == [] and target.commands == []


def test_a_running_supervisord_is_shut_down_gracefully_and_survivors_are_ours_by_record() -> None:
    target = make_consistent()
    daemon = FakeDaemon(target)
    daemon.up()
    survivor = daemon.programs["main_app"]
    target.process_env[survivor] = {}  # no stamp: only the record taken before proves it
    target.processes[survivor] = target.processes[survivor].__class__(
        survivor, 99, ("python", "/opt/elsewhere/x.py"), "/", "app", 1_700_000_000.0
    )
    daemon.wedged = {"main_app"}
    result = recover_system(target, fast_settings())
    assert result.outcome.code == 0, result.outcome.error
    assert "supervisor.shutdown" in daemon.calls
    assert (99, TERM) not in target.signals  # it exited gracefully
    assert (survivor, TERM) in target.signals
    assert "ran under the system's supervisord before that stopped" in _audit(target)


def test_a_supervisord_that_ignores_shutdown_and_sigterm_gets_sigkill_to_its_pid_only() -> None:
    target = make_consistent()
    daemon = FakeDaemon(target)
    daemon.up()
    daemon.hangs = True
    result = recover_system(target, fast_settings())
    assert result.outcome.code == 0, result.outcome.error
    assert [s for p, s in target.signals if p == 99] == [TERM, KILL]
    for pid in (700, 701):  # its orphans: stopped as strays, by their own pids
        assert (pid, TERM) in target.signals


def test_portbooks_own_process_chain_is_never_signalled() -> None:
    target, _, orphans = _broken()
    target.own = {orphans["main_app"]}
    recover_system(target, fast_settings())
    assert all(pid != orphans["main_app"] for pid, _ in target.signals)


def test_a_failing_start_stops_the_run_with_exit_1_and_says_nothing_can_be_undone() -> None:
    target, daemon, _ = _broken()
    daemon.start_fails = True
    result = recover_system(target, fast_settings())
    assert result.outcome.code == 1
    assert "supervisord did not start" in (result.outcome.error or "")
    assert result.outcome.steps[-1].name == "start" and result.outcome.steps[-1].status == "failed"
    assert "\trecover\tend: exit 1: supervisord did not start" in _audit(target)
    assert target.text(f"{ROOT}/.portbook/journal.json") is None


def test_an_unfinished_service_journal_refuses() -> None:
    target, _, _ = _broken()
    settings = fast_settings()
    target.makedirs(settings.journal_dir)
    Journal(target, settings, "add", {"name": "x"}).save()
    result = recover_system(target, settings)
    assert result.outcome.code == 2 and "service.rollback" in (result.outcome.error or "")
    assert target.signals == []


def test_a_journal_left_by_an_interrupted_recovery_is_discarded_and_audited() -> None:
    target, _, _ = _broken()
    settings = fast_settings()
    target.makedirs(settings.journal_dir)
    Journal(target, settings, "recover", {"kill_foreign": False}, pid=4242).save()
    result = recover_system(target, settings)
    assert result.outcome.code == 0, result.outcome.error
    assert "interrupted recover (pid 4242): nothing to undo" in _audit(target)


def test_a_program_started_by_another_systems_supervisord_is_not_ours() -> None:
    target, _, _ = _broken()
    target.add_process(800, ["python", "worker.py"], cwd="/srv/other")
    target.process_env[800] = {"SUPERVISOR_SERVER_URL": "unix:///srv/other/.run/s.sock"}
    recover_system(target, fast_settings())
    assert all(pid != 800 for pid, _ in target.signals)
