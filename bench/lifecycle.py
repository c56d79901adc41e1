"""Benchmark a service's lifecycle after the add: modify, remove, master restart, recovery.

Usage: ``python bench/lifecycle.py [--runs N] [--write]``

Each run installs a fresh demo copy (five services under their own supervisord, on a
free block of ports in 11000-20000, ranges in portbook.yaml) and times, one after the
other on that copy, the real commands an operator runs, each in a subprocess with
``--json`` (wall time of the whole process; per-step seconds from its JSON):

1. ``service.modify --name db_poller --port P`` (P: a free port of the range). A thread
   TCP-connects to every other service's port every 20 ms (target: no failed probe); a
   second thread probes db_poller's old and new ports every 20 ms, giving its own
   downtime: from the first refused probe on the old port (refused to the end) to the
   first accepted probe on the new one.
2. ``service.remove --name trade_executor``, probing the other services (target: no
   failed probe).
3. ``supervisor.restart``, probing every remaining service every 20 ms: per service the
   longest stretch its port refused connections (first refused probe to the next
   accepted one) and whether it accepted again by the end (0.5 s after the command).
4. ``recover.emergency``: first SIGKILL the demo's supervisord (pid from
   ``ROOT/.run/supervisord.pid``) so its services run on as orphans, then the same
   measures as the restart, plus whether the orphans are gone afterwards.

Steps 3 and 4 run only when ``python -m playbooks --list`` shows the task; otherwise
they print "skipped: task not available". Everything is torn down after each run:
supervisord shut down, leftover processes whose cwd is inside the copy killed, the
folder removed; at the end the script checks nothing of its copies is left.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

# _common puts lib/ and the repo on sys.path, so it must come before anything of portbook's.
from _common import (
    DOCS,
    PORT_HIGH,
    PORT_LOW,
    Demo,
    make_demo,
    port_accepts,
    port_free,
    teardown_demo,
)
from _common import update_docs_section as write_section
from _probes import (
    CliRun,
    Refusals,
    leftovers,
    pid_alive,
    portbook_tasks,
    probed,
    run_cli,
    supervisor_pids,
)
from _stamp import HELPERS, WHOLE_CODE, take_stamp
from lifecycle_report import (
    MODIFIED,
    OPS,
    REMOVED,
    OpResult,
    RunResult,
    docs_body,
    run_line,
    unexpected,
)

PROBE_INTERVAL = 0.02
LEAD = 0.2  # seconds of probing before the command starts
TAIL = 0.5  # seconds of probing after it ends
COVERS = (
    *WHOLE_CODE,
    "bench/lifecycle.py",
    "bench/lifecycle_report.py",
    "bench/_probes.py",
    *HELPERS,
)


def _probed(
    groups: dict[str, dict[str, int]], command: Callable[[], CliRun]
) -> tuple[CliRun, dict[str, dict[str, Refusals]]]:
    return probed(groups, command, PROBE_INTERVAL, LEAD, TAIL)


def came_up_at(r: Refusals) -> float | None:
    """When the port started accepting for good (None when it ended refusing)."""
    if not r.back:
        return None
    if r.gaps:
        return r.gaps[-1][1]
    return r.first_ok_at


def from_run(task: str, run: CliRun) -> OpResult:
    """An OpResult with the command's wall time, steps, services and error filled in."""
    result = OpResult(task, wall=run.wall, steps=run.steps, error=run.error)
    result.ok = not result.error
    with contextlib.suppress(ValueError):
        for service in run.doc.get("services") or []:
            result.reported_ok[str(service.get("name"))] = bool(service.get("ok"))
    return result


def free_port_in_range(demo: Demo, taken: set[int]) -> int:
    """The lowest port of the copy's range (base+100..base+199) that is free and not taken."""
    for port in range(demo.base + 100, demo.base + 200):
        if port not in taken and port_free(port):
            return port
    raise RuntimeError(f"no free port in {demo.base + 100}-{demo.base + 199}")


def measure_modify(demo: Demo, ports: dict[str, int]) -> OpResult:
    """``service.modify`` db_poller to a new port; probes on the others and on its two ports."""
    old = ports[MODIFIED]
    new = free_port_in_range(demo, set(ports.values()))
    others = {n: p for n, p in ports.items() if n != MODIFIED}
    before = supervisor_pids(demo)
    run, probes = _probed(
        {"others": others, "own": {"old": old, "new": new}},
        lambda: run_cli("service.modify", "--name", MODIFIED, "--port", str(new), root=demo.root),
    )
    result = from_run("service.modify", run)
    result.probes = probes["others"]
    old_r, new_r = probes["own"]["old"], probes["own"]["new"]
    down, up = old_r.final_fail, came_up_at(new_r)
    if down is not None and up is not None:
        result.own_downtime = up - down
    after = supervisor_pids(demo)
    result.checks = {
        "other pids unchanged": all(after.get(n) == before[n] for n in others),
        f"{MODIFIED} has a new pid": after.get(MODIFIED) not in (None, 0, before[MODIFIED]),
        "old port refusing at the end": not old_r.back,
        "new port accepting at the end": new_r.back,
    }
    if result.ok:
        ports[MODIFIED] = new
    return result


def measure_remove(demo: Demo, ports: dict[str, int]) -> OpResult:
    """``service.remove`` trade_executor with probes on the other services."""
    others = {n: p for n, p in ports.items() if n != REMOVED}
    before = supervisor_pids(demo)
    run, probes = _probed(
        {"others": others}, lambda: run_cli("service.remove", "--name", REMOVED, root=demo.root)
    )
    result = from_run("service.remove", run)
    result.probes = probes["others"]
    after = supervisor_pids(demo)
    result.checks = {
        "other pids unchanged": all(after.get(n) == before[n] for n in others),
        f"{REMOVED} gone from supervisor": REMOVED not in after,
        f"{REMOVED}'s pid gone": not pid_alive(before[REMOVED]),
        f"{REMOVED}'s port refusing": not port_accepts(ports[REMOVED], 0.5),
    }
    if result.ok:
        del ports[REMOVED]
    return result


def measure_restart(demo: Demo, ports: dict[str, int]) -> OpResult:
    """``supervisor.restart`` with every service probed; per-service downtime."""
    before = supervisor_pids(demo)
    run, probes = _probed({"all": ports}, lambda: run_cli("supervisor.restart", root=demo.root))
    result = from_run("supervisor.restart", run)
    result.probes = probes["all"]
    with contextlib.suppress(Exception):
        after = supervisor_pids(demo)
        result.checks["every service has a new pid"] = all(
            after.get(n) not in (None, 0, pid) for n, pid in before.items()
        )
    return result


def supervisord_pid(demo: Demo) -> int:
    """The demo supervisord's pid, from ``ROOT/.run/supervisord.pid``."""
    return int(Path(demo.root, ".run", "supervisord.pid").read_text().strip())


def kill_supervisord(demo: Demo, timeout: float = 10.0) -> tuple[int, dict[str, int]]:
    """SIGKILL supervisord, leaving its programs running as orphans: (its pid, their pids)."""
    orphans = supervisor_pids(demo)
    pid = supervisord_pid(demo)
    os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + timeout
    while pid_alive(pid):
        if time.monotonic() > deadline:
            raise RuntimeError(f"supervisord pid {pid} still alive {timeout:g}s after SIGKILL")
        time.sleep(0.02)
    return pid, orphans


def measure_recover(demo: Demo, ports: dict[str, int]) -> OpResult:
    """SIGKILL supervisord (orphans run on), then ``recover.emergency``, every port probed."""
    old_pid, orphans = kill_supervisord(demo)
    situation = {
        "orphans alive before": all(pid_alive(p) for p in orphans.values()),
        "orphans listening before": all(port_accepts(p, 0.5) for p in ports.values()),
    }
    run, probes = _probed({"all": ports}, lambda: run_cli("recover.emergency", root=demo.root))
    result = from_run("recover.emergency", run)
    result.probes = probes["all"]
    result.checks = {**situation, "orphans gone after": not any(map(pid_alive, orphans.values()))}
    with contextlib.suppress(Exception):
        new_pid = supervisord_pid(demo)
        result.checks["new supervisord running"] = new_pid != old_pid and pid_alive(new_pid)
    return result


MEASURES: dict[str, Callable[[Demo, dict[str, int]], OpResult]] = {
    "service.modify": measure_modify,
    "service.remove": measure_remove,
    "supervisor.restart": measure_restart,
    "recover.emergency": measure_recover,
}


def one_run(index: int, used: set[int], available: set[str]) -> RunResult:
    """Fresh demo; modify, remove, restart, recover in turn; always torn down."""
    demo = make_demo(used)
    result = RunResult(index, demo.base, demo.root)
    ports = dict(demo.ports)
    try:
        for task in OPS:
            if task not in available:
                result.ops[task] = OpResult(task, skipped=True, error="task not available")
                continue
            try:
                result.ops[task] = MEASURES[task](demo, ports)
            except Exception as exc:  # note it and go on with the next command
                result.ops[task] = OpResult(task, error=f"{type(exc).__name__}: {exc}")
    except Exception as exc:
        result.error = f"{type(exc).__name__}: {exc}"
    finally:
        result.killed = teardown_demo(demo)
    return result


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark; print the tables; with --write update docs/benchmarks.md."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="fresh demo copies to use (3)")
    parser.add_argument("--write", action="store_true", help=f"update {DOCS}")
    args = parser.parse_args(argv)
    available = portbook_tasks()
    for task in OPS:
        if task not in available:
            print(f"{task}: skipped: task not available", flush=True)
    used: set[int] = set()
    results = []
    command = f"python bench/lifecycle.py --runs {args.runs}" + " --write" * args.write
    stamp = take_stamp("lifecycle", command, COVERS)
    for index in range(1, args.runs + 1):
        result = one_run(index, used, available)
        results.append(result)
        print(f"run {index}/{args.runs} (ports {result.base}+): {run_line(result)}", flush=True)
        if result.killed:
            print(f"  teardown had to kill pids {result.killed}", flush=True)
    timing = (PROBE_INTERVAL, LEAD, TAIL)
    body = docs_body(results, stamp.finish(), (PORT_LOW, PORT_HIGH), timing)
    print()
    print(body)
    problems = unexpected(results)
    print("\nunexpected: " + ("; ".join(problems) if problems else "none"))
    left = leftovers([r.root for r in results])
    print(f"leftovers after teardown: {', '.join(left) or 'none'}")
    mine = {r.root for r in results}
    others = [str(p) for p in Path(tempfile.gettempdir()).glob("pb-*") if str(p) not in mine]
    if others:
        print(f"other pb- folders (not this script's, e.g. a concurrent test run): {len(others)}")
    ran = [op for r in results for op in r.ops.values() if not op.skipped]
    if args.write and any(op.ok for op in ran):
        write_section("lifecycle", body)
        print(f"\nwrote the lifecycle section of {DOCS}")
    return 0 if ran and all(op.ok for op in ran) and not left and not problems else 1


if __name__ == "__main__":
    sys.exit(main())
