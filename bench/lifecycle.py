"""Benchmark a service's lifecycle after the add: modify, remove, master restart, recovery.

Usage: ``python bench/lifecycle.py [--runs N] [--write]``

Each run installs a fresh demo copy (five services under their own supervisord, on a
free block of ports in 40000-50000, ranges in portbook.yaml) and times, one after the
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

Steps 3 and 4 run only when ``python -m portbook --list`` shows the task; otherwise
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
from dataclasses import dataclass, field
from pathlib import Path

# _common puts lib/ and the repo on sys.path, so it must come before anything of portbook's.
from _common import (
    DEMO_SERVICES,
    DOCS,
    CliRun,
    Demo,
    PortProber,
    Refusals,
    leftovers,
    loadavg,
    machine_facts,
    make_demo,
    median,
    pid_alive,
    port_accepts,
    port_free,
    portbook_tasks,
    refusals,
    run_cli,
    supervisor_pids,
    teardown_demo,
    update_docs_section,
)

PORT_LOW, PORT_HIGH = 40000, 50000
PROBE_INTERVAL = 0.02
LEAD = 0.2  # seconds of probing before the command starts
TAIL = 0.5  # seconds of probing after it ends
MODIFIED, REMOVED = "db_poller", "trade_executor"
OPS = ("service.modify", "service.remove", "supervisor.restart", "recover.emergency")
OPTIONAL = ("supervisor.restart", "recover.emergency")


@dataclass
class OpResult:
    """One timed command of one run."""

    task: str
    skipped: bool = False
    ok: bool = False
    error: str = ""
    wall: float = float("nan")
    steps: dict[str, float] = field(default_factory=dict)
    probes: dict[str, Refusals] = field(default_factory=dict)  # per service probed
    reported_ok: dict[str, bool] = field(default_factory=dict)  # the JSON's services[].ok
    checks: dict[str, bool] = field(default_factory=dict)  # facts checked after the command
    own_downtime: float = float("nan")  # modify: db_poller's old port down -> new port up

    @property
    def outside_steps(self) -> float:
        """Wall time not inside any step: start-up, reading, planning, locking, output."""
        return self.wall - sum(self.steps.values())

    @property
    def failed_probes(self) -> int:
        """Refused probes on the services this command probed."""
        return sum(r.failures for r in self.probes.values())


@dataclass
class RunResult:
    """Everything measured on one demo copy."""

    index: int
    base: int
    root: str
    ops: dict[str, OpResult] = field(default_factory=dict)
    error: str = ""
    killed: list[int] = field(default_factory=list)


def probed(
    groups: dict[str, dict[str, int]], command: Callable[[], CliRun]
) -> tuple[CliRun, dict[str, dict[str, Refusals]]]:
    """Run ``command`` while one 20 ms prober per group probes its ports; summarise each port.

    Probing starts ``LEAD`` s before the command and stops ``TAIL`` s after it.
    """
    probers = {key: PortProber(ports, PROBE_INTERVAL) for key, ports in groups.items()}
    for prober in probers.values():
        prober.start()
    try:
        time.sleep(LEAD)
        run = command()
        time.sleep(TAIL)
    finally:
        samples = {key: prober.stop() for key, prober in probers.items()}
    summary = {
        key: {name: refusals(s) for name, s in per_port.items()}
        for key, per_port in samples.items()
    }
    return run, summary


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
    run, probes = probed(
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
    run, probes = probed(
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
    run, probes = probed({"all": ports}, lambda: run_cli("supervisor.restart", root=demo.root))
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
    run, probes = probed({"all": ports}, lambda: run_cli("recover.emergency", root=demo.root))
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
    demo = make_demo(used, low=PORT_LOW, high=PORT_HIGH)
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


# --- reporting --------------------------------------------------------------------------------


def _ms(values: Sequence[float]) -> str:
    """``median | max`` cells in seconds (``- | -`` for none)."""
    vals = [v for v in values if v == v]  # drop NaN
    return f"{median(vals):.3f} | {max(vals):.3f}" if vals else "- | -"


def _yes(results: Sequence[OpResult], check: str) -> str:
    done = [r.checks[check] for r in results if check in r.checks]
    return f"{sum(done)}/{len(done)}"


def op_section(task: str, results: Sequence[OpResult], runs: int) -> list[str]:
    """Markdown for one operation: timings, probes or downtime, and the checks made after it."""
    titles = {
        "service.modify": f"`service.modify --name {MODIFIED} --port P` (P: a free port)",
        "service.remove": f"`service.remove --name {REMOVED}`",
        "supervisor.restart": "`supervisor.restart`",
        "recover.emergency": "`recover.emergency` after SIGKILL of supervisord",
    }
    out = [f"### {titles[task]}", ""]
    if results and all(r.skipped for r in results):
        return [*out, "skipped: task not available when the benchmark ran.", ""]
    ok = [r for r in results if r.ok]
    out.append(f"{len(ok)} of {runs} runs succeeded.")
    out += [f"- run failed: {r.error}" for r in results if not r.ok and not r.skipped]
    if not ok:
        return [*out, ""]
    steps: list[str] = []
    for r in ok:
        steps += [s for s in r.steps if s not in steps]
    out += ["", "| measure | median s | max s |", "| --- | ---: | ---: |"]
    out.append(f"| **wall time of the command** | {_ms([r.wall for r in ok])} |")
    out += [f"| step `{s}` | {_ms([r.steps.get(s, 0.0) for r in ok])} |" for s in steps]
    out.append(
        f"| (outside steps: start-up, read, plan, lock, output) | "
        f"{_ms([r.outside_steps for r in ok])} |"
    )
    if task == "service.modify":
        out.append(
            f"| **{MODIFIED} downtime** (old port refusing -> new port accepting) | "
            f"{_ms([r.own_downtime for r in ok])} |"
        )
    names = sorted({n for r in ok for n in r.probes}, key=_order)
    if task in ("service.modify", "service.remove"):
        out += ["", "| other service | probes | failed |", "| --- | ---: | ---: |"]
        for name in names:
            attempts = sum(r.probes[name].attempts for r in ok if name in r.probes)
            failures = sum(r.probes[name].failures for r in ok if name in r.probes)
            out.append(f"| {name} | {attempts} | {failures} |")
    else:
        out += [
            "",
            "| service | longest refusal median s | max s | back (probe) | ok (JSON) | probes "
            "| refused |",
            "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
        ]
        for name in names:
            rs = [r.probes[name] for r in ok if name in r.probes]
            back = sum(x.back for x in rs)
            reported = sum(r.reported_ok.get(name, False) for r in ok)
            out.append(
                f"| {name} | {_ms([x.longest for x in rs])} | {back}/{len(rs)} | "
                f"{reported}/{len(ok)} | {sum(x.attempts for x in rs)} | "
                f"{sum(x.failures for x in rs)} |"
            )
    checks: list[str] = []
    for r in ok:
        checks += [c for c in r.checks if c not in checks]
    if checks:
        out += [
            "",
            "Checked after the command (runs where true): "
            + "; ".join(f"{c} {_yes(ok, c)}" for c in checks)
            + ".",
        ]
    return [*out, ""]


def _order(name: str) -> int:
    return DEMO_SERVICES.index(name) if name in DEMO_SERVICES else len(DEMO_SERVICES)


def docs_body(results: Sequence[RunResult], facts: dict[str, str]) -> str:
    """The markdown for the lifecycle section of docs/benchmarks.md (also printed)."""
    out = [
        "## Service lifecycle: modify, remove, master restart, emergency recovery",
        "",
        "`python bench/lifecycle.py --runs N --write`: each run installs a fresh demo copy (five",
        "services under their own supervisord, ports in 40000-50000) and runs, one after the",
        "other on that copy, the real commands below, each as `python -m portbook TASK ...",
        "--root ROOT --json` in a subprocess (wall time of the whole process; per-step seconds",
        "from its JSON). Threads TCP-connect to the services' ports every 20 ms from 0.2 s",
        "before each command to 0.5 s after it. For modify and remove, any refused probe on a",
        "service the command was not asked to touch is a fault (target: none). db_poller's",
        "downtime is from the first refused probe on its old port to the first accepted one",
        "on its new port (separate prober). For restart and recovery, a service's downtime is",
        "its longest refused stretch (first refused probe to the next accepted one, so +/- 20",
        "ms); *back* means its last probe was accepted. Restart and recovery see the four",
        "services left after the remove, db_poller on its new port. Recovery is measured after",
        "SIGKILL of supervisord, its services left running as orphans.",
        "",
        f"- Date: {facts['date']}",
        f"- Machine: `{facts['uname']}`",
        f"- CPU: {facts['cpu']}, {facts['nproc']} CPUs (nproc); memory {facts['memory']}",
        f"- Python: {facts['python']}",
        f"- Runs: {len(results)}; load average (1/5/15 min) before {facts['load_before']}, "
        f"after {facts['load_after']}",
        "",
    ]
    for task in OPS:
        out += op_section(task, [r.ops[task] for r in results if task in r.ops], len(results))
    broken = [r for r in results if r.error]
    out += [f"- run {r.index} failed: {r.error}" for r in broken]
    return "\n".join(out)


def run_line(result: RunResult) -> str:
    """One line per run for the console."""
    parts = []
    for task, op in result.ops.items():
        if op.skipped:
            parts.append(f"{task} skipped: task not available")
        elif op.ok:
            extra = f", own downtime {op.own_downtime:.3f}s" if task == "service.modify" else ""
            parts.append(f"{task} {op.wall:.2f}s{extra}, refused probes {op.failed_probes}")
        else:
            parts.append(f"{task} FAILED: {op.error}")
    return "; ".join(parts) if parts else f"FAILED: {result.error}"


def unexpected(results: Sequence[RunResult]) -> list[str]:
    """Refused probes on untouched services, services not back, checks that came out false."""
    found = []
    for r in results:
        for task, op in r.ops.items():
            if not op.ok:
                continue
            for name, x in op.probes.items():
                if task in ("service.modify", "service.remove") and x.failures:
                    found.append(f"run {r.index} {task}: {x.failures} failed probe(s) on {name}")
                elif not x.back:
                    found.append(f"run {r.index} {task}: {name} not accepting at the end")
            found += [f"run {r.index} {task}: NOT {c}" for c, v in op.checks.items() if not v]
    return found


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
    load_before = loadavg()
    for index in range(1, args.runs + 1):
        result = one_run(index, used, available)
        results.append(result)
        print(f"run {index}/{args.runs} (ports {result.base}+): {run_line(result)}", flush=True)
        if result.killed:
            print(f"  teardown had to kill pids {result.killed}", flush=True)
    facts = {**machine_facts(), "load_before": load_before, "load_after": loadavg()}
    body = docs_body(results, facts)
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
        update_docs_section("lifecycle", body)
        print(f"\nwrote the lifecycle section of {DOCS}")
    return 0 if ran and all(op.ok for op in ran) and not left and not problems else 1


if __name__ == "__main__":
    sys.exit(main())
