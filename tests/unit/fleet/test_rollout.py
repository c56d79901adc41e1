"""The rolling engine without SSH: sessions with stand-in targets, jobs as plain functions."""

from __future__ import annotations

import threading
from typing import Any

from portbook.config import load_settings
from portbook.errors import InvalidInput
from portbook.fleet.inventory import Host
from portbook.fleet.recap import fleet_doc, recap_text
from portbook.fleet.rollout import FleetJob, HostRun, RolloutOptions, rollout
from portbook.fleet.sessions import HostSession
from portbook.model import StepResult

SETTINGS = load_settings(None, "/srv/recio")


class Recorder:
    """Jobs that record which host ran what, failing on the hosts named in ``fail``."""

    def __init__(self, fail: dict[str, int] | None = None) -> None:
        self.fail = fail or {}
        self.calls: list[tuple[str, str]] = []
        self.lock = threading.Lock()
        self.lines: list[tuple[str, str]] = []

    def job(self, action: str) -> Any:
        def run(target: Any, settings: Any, emit: Any) -> HostRun:
            with self.lock:
                self.calls.append((action, target))
            emit(f"{action} ran")
            code = self.fail.get(target, 0) if action == "run" else 0
            if code == 1:
                steps = [
                    StepResult("fallback", "undone", 0.1, ""),
                    StepResult("verify", "failed", 0.1, "boom"),
                ]
                return HostRun(1, "boom", steps)
            if code:
                return HostRun(code, "refused here")
            status = "undone" if action == "undo" else "changed"
            return HostRun(0, None, [StepResult("fallback", status, 0.1, "")], action == "run")

        return run

    def fleet_job(self, refuse: tuple[str, ...] = ()) -> FleetJob:
        def preflight(target: Any, settings: Any, emit: Any) -> HostRun:
            with self.lock:
                self.calls.append(("plan", target))
            if target in refuse:
                raise InvalidInput(f"{target}: port 8004 is held")
            return HostRun()

        return FleetJob("add", self.job("run"), self.job("undo"), self.job("release"), preflight)

    def emit_for(self, name: str) -> Any:
        return lambda line: self.lines.append((name, line))

    def ran(self, action: str) -> list[str]:
        return [host for done, host in self.calls if done == action]


def sessions(*names: str, unreachable: tuple[str, ...] = ()) -> list[HostSession]:
    out = []
    for name in names:
        host = Host(name=name, address=f"10.0.0.{len(out) + 1}")
        if name in unreachable:
            out.append(HostSession(host, error="connection refused", unreachable=True, code=1))
        else:
            out.append(HostSession(host, target=name, settings=SETTINGS))  # type: ignore[arg-type]
    return out


def test_serial_one_stops_at_the_first_failure_and_leaves_later_hosts_untouched() -> None:
    rec = Recorder(fail={"h2": 1})
    result = rollout(
        sessions("h1", "h2", "h3"), rec.fleet_job(), RolloutOptions(1, 0), rec.emit_for
    )
    assert rec.ran("run") == ["h1", "h2"]
    assert [h.status for h in result.hosts] == ["changed", "rolled back", "skipped"]
    assert result.code == 1
    assert result.stopped == "1 host(s) failed (--max-fail 0); 1 host(s) not touched"
    assert rec.ran("undo") == []  # no --fleet-rollback: h1 keeps its change
    assert rec.ran("release") == ["h1"]


def test_fleet_rollback_undoes_every_host_already_done_from_its_own_journal() -> None:
    rec = Recorder(fail={"h3": 1})
    options = RolloutOptions(1, 0, fleet_rollback=True)
    result = rollout(sessions("h1", "h2", "h3", "h4"), rec.fleet_job(), options, rec.emit_for)
    assert sorted(rec.ran("undo")) == ["h1", "h2"]
    assert rec.ran("release") == []
    assert [h.status for h in result.hosts] == [
        "rolled back",
        "rolled back",
        "rolled back",
        "skipped",
    ]
    assert result.hosts[0].rollback is not None
    assert result.code == 1


def test_a_completed_rollout_releases_the_kept_journals_and_exits_zero() -> None:
    rec = Recorder()
    options = RolloutOptions(2, 0, fleet_rollback=True)
    result = rollout(sessions("h1", "h2", "h3"), rec.fleet_job(), options, rec.emit_for)
    assert sorted(rec.ran("release")) == ["h1", "h2", "h3"]
    assert result.code == 0 and result.stopped is None
    assert {h.status for h in result.hosts} == {"changed"}


def test_max_fail_tolerates_that_many_failures_before_stopping() -> None:
    rec = Recorder(fail={"h1": 1, "h2": 2})
    result = rollout(
        sessions("h1", "h2", "h3", "h4"), rec.fleet_job(), RolloutOptions(1, 1), rec.emit_for
    )
    assert rec.ran("run") == ["h1", "h2"]
    assert [h.status for h in result.hosts] == ["rolled back", "failed", "skipped", "skipped"]
    assert result.code == 2  # the worst code wins


def test_an_unreachable_host_is_reported_and_counts_as_a_failure() -> None:
    rec = Recorder()
    hosts = sessions("h1", "h2", "h3", unreachable=("h2",))
    result = rollout(hosts, rec.fleet_job(), RolloutOptions(1, 0), rec.emit_for)
    assert [h.status for h in result.hosts] == ["skipped", "unreachable", "skipped"]
    assert rec.ran("run") == []  # found by the preflight, before h1 changed
    assert result.hosts[1].error == "connection refused"
    assert ("h2", "  unreachable: connection refused") in rec.lines
    assert "unreachable" in recap_text(result)
    tolerated = rollout(hosts, rec.fleet_job(), RolloutOptions(1, 1), rec.emit_for)
    assert [h.status for h in tolerated.hosts] == ["changed", "unreachable", "changed"]


def test_a_batch_runs_its_hosts_in_parallel_and_the_first_batch_is_the_canary() -> None:
    barrier = threading.Barrier(2, timeout=5)

    def run(target: Any, settings: Any, emit: Any) -> HostRun:
        barrier.wait()  # deadlocks (and times out) unless both hosts run at once
        return HostRun(0, None, [], True)

    result = rollout(
        sessions("h1", "h2"), FleetJob("add", run), RolloutOptions(2, 0), lambda n: print
    )
    assert [h.status for h in result.hosts] == ["changed", "changed"]


def test_a_refusal_raised_by_a_job_becomes_that_hosts_exit_2() -> None:
    def run(target: Any, settings: Any, emit: Any) -> HostRun:
        raise InvalidInput("bad name")

    result = rollout(sessions("h1"), FleetJob("add", run), RolloutOptions(), lambda n: print)
    assert (result.hosts[0].status, result.hosts[0].code) == ("failed", 2)
    assert result.hosts[0].error == "bad name"


def test_the_recap_counts_steps_per_host_and_the_json_says_the_same() -> None:
    rec = Recorder(fail={"h2": 1})
    result = rollout(
        sessions("h1", "h2", "h3"), rec.fleet_job(), RolloutOptions(1, 0), rec.emit_for
    )
    text = recap_text(result)
    lines = text.splitlines()
    assert lines[0].startswith("RECAP add: 3 host(s), serial 1, max-fail 0")
    assert lines[1].split() == [
        "host",
        "result",
        "ok",
        "changed",
        "failed",
        "unreachable",
        "rolled",
        "back",
        "exit",
        "time",
    ]
    assert lines[2].split()[:8] == ["h1", "changed", "0", "1", "0", "0", "0", "0"]
    assert lines[3].split()[:9] == ["h2", "rolled", "back", "0", "0", "1", "0", "1", "1"]
    assert lines[4].split() == ["h3", "skipped", "0", "0", "0", "0", "0", "-", "-"]
    assert "h2: boom" in text
    doc = fleet_doc(result)
    assert doc["exit_code"] == 1 and doc["ok"] is False
    assert [h["result"] for h in doc["hosts"]] == ["changed", "rolled back", "skipped"]
    assert doc["hosts"][1]["counts"]["rolled back"] == 1


def test_a_refusal_found_by_preflight_on_the_last_host_stops_before_any_host_changes() -> None:
    rec = Recorder()
    result = rollout(
        sessions("h1", "h2", "h3"),
        rec.fleet_job(refuse=("h3",)),
        RolloutOptions(1, 0),
        rec.emit_for,
    )
    assert sorted(rec.ran("plan")) == ["h1", "h2", "h3"]
    assert rec.ran("run") == []
    assert [h.status for h in result.hosts] == ["skipped", "skipped", "failed"]
    assert result.code == 2
    assert result.stopped is not None and "nothing changed on any host" in result.stopped


def test_preflight_refusals_within_max_fail_leave_those_hosts_out_and_run_the_rest() -> None:
    rec = Recorder()
    job = rec.fleet_job(refuse=("h2",))
    result = rollout(sessions("h1", "h2", "h3"), job, RolloutOptions(1, 1), rec.emit_for)
    assert rec.ran("run") == ["h1", "h3"]
    assert [h.status for h in result.hosts] == ["changed", "failed", "changed"]
    assert result.hosts[1].error == "h2: port 8004 is held"


def test_one_host_is_not_planned_twice() -> None:
    rec = Recorder()
    rollout(sessions("h1"), rec.fleet_job(), RolloutOptions(1, 0), rec.emit_for)
    assert rec.ran("plan") == [] and rec.ran("run") == ["h1"]
