"""Benchmark ``service.add`` across a simulated fleet: 1, 3 and 6 SSH hosts at once.

Usage: ``python bench/fleet.py [--runs N] [--counts 1,3,6] [--write]``

One fleet of max(counts) hosts is built once (``portbook.sim.fleet``: each host a
network namespace with its own sshd on port 22 and its own copy of the demo
under its own supervisord, on the same ports). For each count N the first N
hosts are used, with ``--serial N`` so they all run in one batch, exactly as
``invoke service.add --name X --hosts H1,..,HN --serial N`` does it, but
in-process so the SSH costs can be read off each host's ``SshTarget``:

    open_sessions -> add_job(...)(sessions) -> rollout(..., RolloutOptions(serial=N))

End to end is from opening the sessions (connect, host key check, the host's
facts and settings) to the end of the rollout; the rollout alone is
``FleetResult.seconds``. Each run adds a new service ``bench_svc_N_RUN`` and
removes it afterwards (untimed, with its script), so every run finds the hosts
as the last one left them. Counts are interleaved within each round of runs.
Target: 6 hosts end to end within 1.5x of one host (ratio of the medians).

Whole-machine CPU seconds (``psutil.cpu_times()``: user + nice + system) are
read around each run, as is this process's own CPU: the hosts share this
machine's cores, so a ratio above 1 may be CPU, not the network or portbook's
parallelism. One host also gets the four procedures in turn (add, modify
``--port auto``, rename ``--fix-code``, remove ``--delete-code``), counting
the remote commands and round trips each costs, and a calibration: the wall
time and CPU of one request on an open session and of one new SSH command (a
shell on the host, which is what a remote command costs on top of its work).

The fleet is destroyed in ``finally``, also on Ctrl-C, SIGTERM or an error.
"""

from __future__ import annotations

import argparse
import contextlib
import shutil
import signal
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# _common puts lib/ and the repo on sys.path, so it must come before portbook.
from _common import DOCS
from _common import update_docs_section as write_section
from _stamp import HELPERS, WHOLE_CODE, take_stamp
from fleet_model import (
    Calibration,
    Cost,
    FleetRun,
    ProcRun,
    background_cpu,
    calibrate,
    machine_cpu,
    own_cpu,
)
from fleet_report import console, docs_body
from portbook.commands.add import AddRequest
from portbook.commands.change import (
    ModifyRequest,
    RemoveRequest,
    RenameRequest,
    modify_service,
    remove_service,
    rename_service,
)
from portbook.fleet.inventory import load_inventory
from portbook.fleet.jobs import add_job, change_job
from portbook.fleet.rollout import FleetJob, FleetResult, RolloutOptions, rollout
from portbook.fleet.sessions import HostSession, SessionOptions, close_sessions, open_sessions
from portbook.sim.fleet import SimFleet, create_fleet, destroy_fleet

COVERS = (*WHOLE_CODE, "bench/fleet.py", "bench/fleet_model.py", "bench/fleet_report.py", *HELPERS)
PrepareJob = Callable[[Sequence[HostSession]], FleetJob]
_NO = (False, False, False)  # check, wait, keep: change_job's last three arguments


def _quiet(host: str) -> Callable[[str], None]:
    return lambda line: None


def _failure(result: FleetResult) -> str:
    bad = [h for h in result.hosts if h.code]
    return "; ".join(f"{h.name} {h.status} (exit {h.code}): {h.error}" for h in bad) or (
        f"exit {result.code}"
    )


def _roll(sessions: Sequence[HostSession], prepare: PrepareJob) -> FleetResult:
    return rollout(sessions, prepare(sessions), RolloutOptions(serial=len(sessions)), _quiet)


def remove_everywhere(sessions: Sequence[HostSession], name: str) -> str:
    """Remove ``name`` (and its script) from every session's host: '' when done, else why."""
    try:
        job = change_job(RemoveRequest(name, True), remove_service, False, False, False)
        result = _roll(sessions, job)
    except Exception as exc:
        return f"{type(exc).__name__}: {exc}"
    return "" if result.code == 0 else _failure(result)


def fleet_run(fleet: SimFleet, count: int, index: int) -> FleetRun:
    """Open sessions to the first ``count`` hosts, add one service on all of them, remove it."""
    run = FleetRun(count, index, f"bench_svc_{count}_{index}")
    hosts = load_inventory(str(fleet.inventory)).select(",".join(fleet.names[:count]))
    cpu0, own0 = machine_cpu(), own_cpu()
    started = time.perf_counter()
    sessions = open_sessions(hosts, SessionOptions({}))
    try:
        run.connect = time.perf_counter() - started
        run.connect_cost = Cost.of(sessions)
        down = [f"{s.name}: {s.error}" for s in sessions if s.target is None or s.settings is None]
        if down:
            run.error = "not connected: " + "; ".join(down)
            return run
        prepared = time.perf_counter()
        job = add_job(AddRequest(run.name), "targeted", False, False, False)(sessions)
        run.prepare = time.perf_counter() - prepared
        result = rollout(sessions, job, RolloutOptions(serial=count), _quiet)
        run.wall = time.perf_counter() - started
        run.cpu, run.own = machine_cpu() - cpu0, own_cpu() - own0
        run.job_cost = Cost.of(sessions) - run.connect_cost
        run.rollout = result.seconds
        run.host_seconds = [h.seconds for h in result.hosts]
        run.ok = result.code == 0 and all(h.status == "changed" for h in result.hosts)
        if not run.ok:
            run.error = _failure(result)
        run.cleanup_error = remove_everywhere(sessions, run.name)
    except Exception as exc:  # note it, go on with the next run
        run.error = f"{type(exc).__name__}: {exc}"
        run.cleanup_error = remove_everywhere(sessions, run.name)
    finally:
        close_sessions(sessions)
    return run


def proc_step(session: HostSession, procedure: str, prepare: PrepareJob) -> ProcRun:
    """One procedure on one open session: wall time and SSH cost of job + rollout."""
    out = ProcRun(procedure)
    before, started = Cost.of([session]), time.perf_counter()
    try:
        result = _roll([session], prepare)
    except Exception as exc:
        out.error = f"{type(exc).__name__}: {exc}"
        return out
    out.wall = time.perf_counter() - started
    out.cost = Cost.of([session]) - before
    out.ok = result.code == 0
    out.error = "" if out.ok else _failure(result)
    return out


def procedure_run(fleet: SimFleet, index: int) -> tuple[Cost, dict[str, ProcRun]]:
    """On the first host: connect, then add, modify, rename, remove one service in turn."""
    name, new = f"bench_proc_{index}", f"bench_ren_{index}"
    hosts = load_inventory(str(fleet.inventory)).select(fleet.names[0])
    sessions = open_sessions(hosts, SessionOptions({}))
    steps: dict[str, ProcRun] = {}
    try:
        connect = Cost.of(sessions)
        if sessions[0].target is None:
            raise RuntimeError(f"{sessions[0].name}: not connected: {sessions[0].error}")
        jobs: list[tuple[str, PrepareJob]] = [
            ("add", add_job(AddRequest(name), "targeted", False, False, False)),
            ("modify", change_job(ModifyRequest(name, port="auto"), modify_service, *_NO)),
            ("rename", change_job(RenameRequest(name, new, True), rename_service, *_NO)),
            ("remove", change_job(RemoveRequest(new, True), remove_service, *_NO)),
        ]
        for procedure, prepare in jobs:
            steps[procedure] = step = proc_step(sessions[0], procedure, prepare)
            if not step.ok:
                break
        if not steps.get("remove", ProcRun("remove")).ok:  # leave the host as it was
            for leftover in (new, name):
                remove_everywhere(sessions, leftover)
    finally:
        close_sessions(sessions)
    return connect, steps


def parse_counts(text: str) -> list[int]:
    """``1,3,6`` -> [1, 3, 6] (sorted, unique, each at least 1)."""
    try:
        counts = sorted({int(part) for part in text.split(",") if part.strip()})
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a list of integers: {text!r}") from None
    if not counts or counts[0] < 1:
        raise argparse.ArgumentTypeError(f"host counts must be 1 or more: {text!r}")
    return counts


def _terminate(signum: int, frame: Any) -> None:
    raise SystemExit(128 + signum)  # so that ``finally`` tears the fleet down


@dataclass
class Measured:
    """Everything one benchmark run on the fleet produced."""

    runs: list[FleetRun] = field(default_factory=list)
    connects: list[Cost] = field(default_factory=list)
    procs: list[dict[str, ProcRun]] = field(default_factory=list)
    cal: list[Calibration] = field(default_factory=list)


def _procedure_line(index: int, steps: dict[str, ProcRun]) -> str:
    return f"procedures on one host, round {index}: " + ", ".join(
        f"{s.procedure} {s.cost.commands} cmd / {s.cost.round_trips} rt {s.wall:.2f}s"
        + ("" if s.ok else f" FAILED: {s.error}")
        for s in steps.values()
    )


def measure(fleet: SimFleet, counts: Sequence[int], rounds: int) -> Measured:
    """The adds on 1..N hosts (counts interleaved), the four procedures, the calibration."""
    out = Measured()
    for index in range(1, rounds + 1):
        for count in counts:
            out.runs.append(fleet_run(fleet, count, index))
            print(console(out.runs[-1:])[0], flush=True)
    for index in range(1, rounds + 1):
        try:
            connect, steps = procedure_run(fleet, index)
            out.connects.append(connect)
        except Exception as exc:  # note it as a failed add, go on
            steps = {"add": ProcRun("add", error=f"{type(exc).__name__}: {exc}")}
        out.procs.append(steps)
        print(_procedure_line(index, steps), flush=True)
    with contextlib.suppress(Exception):
        out.cal = calibrate(fleet)
    return out


def main(argv: Sequence[str] | None = None) -> int:
    """Build the fleet, run the benchmark, tear it down; with --write update docs/benchmarks.md."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="timed adds per host count (3)")
    parser.add_argument(
        "--counts", type=parse_counts, default=[1, 3, 6], help="host counts (1,3,6)"
    )
    parser.add_argument("--write", action="store_true", help=f"update {DOCS}")
    args = parser.parse_args(argv)
    counts: list[int] = args.counts
    signal.signal(signal.SIGTERM, _terminate)
    command = f"python bench/fleet.py --runs {args.runs} --counts {','.join(map(str, counts))}"
    stamp = take_stamp("fleet", command + " --write" * args.write, COVERS)
    idle_before = background_cpu()
    temp = Path(tempfile.mkdtemp(prefix="pb-fleet-"))
    fleet: SimFleet | None = None
    try:
        started = time.perf_counter()
        print(f"building {max(counts)} simulated hosts in {temp} ...", flush=True)
        fleet = create_fleet(max(counts), temp / "hosts", up=True)
        build = time.perf_counter() - started
        print(f"built in {build:.1f}s: {', '.join(fleet.names)}", flush=True)
        got = measure(fleet, counts, args.runs)
    finally:
        if fleet is not None:
            destroy_fleet(fleet)
        shutil.rmtree(temp, ignore_errors=True)
    facts = {
        "stamp": stamp.finish(),
        "build": f"{build:.1f}",
        "background": f"{idle_before:.0%} and {background_cpu():.0%}",
    }
    body = docs_body(got.runs, counts, args.runs, (got.connects, got.procs), got.cal, facts)
    print(f"\n{body}")
    print(f"\nfleet folder removed: {'yes' if not temp.exists() else 'NO: ' + str(temp)}")
    if args.write and any(r.ok for r in got.runs):
        write_section("fleet", body)
        print(f"\nwrote the fleet section of {DOCS}")
    ok = all(r.ok and not r.cleanup_error for r in got.runs)
    ok = ok and all(s.ok for p in got.procs for s in p.values())
    return 0 if ok and all(len(p) == 4 for p in got.procs) and not temp.exists() else 1


if __name__ == "__main__":
    sys.exit(main())
