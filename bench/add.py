"""Benchmark ``service.add`` end to end, as an operator runs it, against a live demo system.

Usage: ``python bench/add.py [--runs N] [--write]``

Each run installs a fresh demo copy (five services under their own supervisord,
on a free block of ports in 30000-40000), then times the real command::

    python -m portbook service.add --name bench_svc_N --root ROOT --json

in a subprocess, taking per-step seconds from its JSON. Meanwhile a prober
thread TCP-connects to every other service's port every 20 ms; a failed probe
means the add disturbed a service it was not asked to touch (target: none).

The floor is what any correct add must wait for: the new service's
start-to-listen time and SIGINT-to-exit time (the smoke test), plus
supervisor's ``startsecs`` before it calls the program RUNNING. It is measured
on its own after the add, by stopping the supervised copy and spawning the same
command supervisor runs. Target: wall time <= floor + 1 s.

Everything is torn down after each run: supervisord shut down, leftover
processes whose cwd is inside the copy killed, the folder removed.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil

# _common puts lib/ and the repo on sys.path, so it must come before portbook.
from _common import (
    DEMO_SERVICES,
    DOCS,
    Demo,
    cli_env,
    machine_facts,
    make_demo,
    median,
    port_accepts,
    teardown_demo,
    update_docs_section,
)
from portbook.system import read_system

STEPS = (
    "fallback",
    "manifest",
    "service-code",
    "supervisor-conf",
    "smoke-test",
    "apply",
    "verify",
)
PROBE_INTERVAL = 0.02
PROBE_TIMEOUT = 1.0
BUDGET = 1.0  # seconds allowed above the floor
_SMOKE_DETAIL = re.compile(r"after ([0-9.]+)s, exited ([0-9.]+)s after SIGINT")


@dataclass
class Probes:
    """TCP probe counts for one service's port."""

    attempts: int = 0
    failures: int = 0


@dataclass
class RunResult:
    """Everything measured in one run."""

    index: int
    name: str
    base: int
    root: str = ""
    ok: bool = False
    error: str = ""
    port: int = 0
    wall: float = 0.0
    steps: dict[str, float] = field(default_factory=dict)
    smoke_listen: float = float("nan")
    smoke_stop: float = float("nan")
    floor_listen: float = float("nan")
    floor_stop: float = float("nan")
    startsecs: float = 1.0
    startup: float = float("nan")
    bare_python: float = float("nan")
    probes: dict[str, Probes] = field(default_factory=dict)
    failed_probes: list[tuple[float, str]] = field(default_factory=list)
    others_unchanged: bool = False
    killed: list[int] = field(default_factory=list)

    @property
    def floor(self) -> float:
        """Start-to-listen + SIGINT-to-exit + startsecs."""
        return self.floor_listen + self.floor_stop + self.startsecs

    @property
    def margin(self) -> float:
        """Seconds to spare under floor + 1 s (negative: target missed by that much)."""
        return self.floor + BUDGET - self.wall

    @property
    def outside_steps(self) -> float:
        """Wall time not inside any step: start-up, reading, planning, locking, output."""
        return self.wall - sum(self.steps.values())

    @property
    def probe_failures(self) -> int:
        """Failed probes on the other services."""
        return sum(p.failures for p in self.probes.values())


class Prober(threading.Thread):
    """Connect to each port every ``interval`` seconds; count attempts and failures."""

    def __init__(self, ports: dict[str, int], interval: float = PROBE_INTERVAL) -> None:
        super().__init__(name="prober", daemon=True)
        self.ports = ports
        self.interval = interval
        self.counts = {name: Probes() for name in ports}
        self.failed: list[tuple[float, str]] = []
        self._halt = threading.Event()
        self._t0 = time.monotonic()

    def run(self) -> None:
        """Probe every port once per tick until stopped."""
        tick = time.monotonic()
        while not self._halt.is_set():
            for name, port in self.ports.items():
                self.counts[name].attempts += 1
                if not port_accepts(port, PROBE_TIMEOUT):
                    self.counts[name].failures += 1
                    self.failed.append((time.monotonic() - self._t0, name))
            tick += self.interval
            delay = tick - time.monotonic()
            if delay > 0:
                self._halt.wait(delay)
            else:
                tick = time.monotonic()

    def stop(self) -> dict[str, Probes]:
        """Stop probing (after the current round) and return the counts."""
        self._halt.set()
        self.join()
        return self.counts


def timed(argv: Sequence[str], cwd: str, env: dict[str, str]) -> tuple[float, str, str, int]:
    """Run ``argv`` to completion: (wall seconds, stdout, stderr, exit code)."""
    started = time.perf_counter()
    done = subprocess.run(
        list(argv), cwd=cwd, env=env, capture_output=True, text=True, timeout=300, check=False
    )
    return time.perf_counter() - started, done.stdout, done.stderr, done.returncode


def startup_seconds(cwd: str, reps: int = 3) -> tuple[float, float]:
    """Median wall time of ``python -c pass`` and of ``python -m portbook --version``."""
    bare = [timed([sys.executable, "-c", "pass"], cwd, cli_env())[0] for _ in range(reps)]
    argv = [sys.executable, "-m", "portbook", "--version"]
    full = [timed(argv, cwd, cli_env())[0] for _ in range(reps)]
    return median(bare), median(full)


def parse_outcome(stdout: str) -> dict[str, Any]:
    """The command's one JSON object (the last line that parses, to be lenient)."""
    for line in reversed(stdout.strip().splitlines()):
        line = line.strip()
        if line.startswith("{"):
            with contextlib.suppress(ValueError):
                doc: dict[str, Any] = json.loads(line)
                return doc
    raise ValueError(f"no JSON object in the command's output: {stdout[-500:]!r}")


def smoke_times(doc: dict[str, Any]) -> tuple[float, float]:
    """The smoke test's listen and stop seconds: from JSON notes if present, else its detail."""
    notes = doc.get("notes") or {}
    if "smoke_listen_s" in notes and "smoke_stop_s" in notes:
        return float(notes["smoke_listen_s"]), float(notes["smoke_stop_s"])
    for step in doc.get("steps", []):
        if step.get("name") == "smoke-test":
            match = _SMOKE_DETAIL.search(step.get("detail", ""))
            if match:
                return float(match.group(1)), float(match.group(2))
    return float("nan"), float("nan")


def supervisor_pids(demo: Demo) -> dict[str, int]:
    """Every program's pid, read straight from supervisord's socket."""
    socket_path = os.path.join(demo.root, ".run", "supervisor.sock")
    infos = demo.target.rpc(socket_path, "supervisor.getAllProcessInfo")
    return {i["name"]: int(i["pid"]) for i in infos}


def program_startsecs(demo: Demo, name: str) -> float:
    """``startsecs`` of ``[program:NAME]`` as written by the add (supervisor's default: 1)."""
    system = read_system(demo.target, demo.settings)
    _conf, options = system.programs()[name]
    return float(options.get("startsecs", "1"))


def measure_floor(demo: Demo, name: str, port: int, timeout: float = 20.0) -> tuple[float, float]:
    """Stop the supervised NAME, spawn its command by hand: (start-to-listen, SIGINT-to-exit).

    Same command as supervisor runs: ``ROOT/venv/bin/python backend/api/NAME.py``,
    cwd ROOT, PYTHONPATH=ROOT. Listening is detected by TCP connect, polled every 5 ms.
    """
    socket_path = os.path.join(demo.root, ".run", "supervisor.sock")
    demo.target.rpc(socket_path, "supervisor.stopProcess", name, True)
    deadline = time.monotonic() + timeout
    while port_accepts(port, 0.2):
        if time.monotonic() > deadline:
            raise RuntimeError(f"port {port} still accepting after stopping {name}")
        time.sleep(0.02)
    argv = [os.path.join(demo.root, "venv", "bin", "python"), f"backend/api/{name}.py"]
    log_path = Path(demo.root, "logs", "bench_floor.log")
    with open(log_path, "ab") as log:
        started = time.perf_counter()
        proc = subprocess.Popen(
            argv,
            cwd=demo.root,
            env=cli_env([demo.root]),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        while not port_accepts(port, 0.2):
            if proc.poll() is not None:
                raise RuntimeError(f"{name} exited ({proc.returncode}) before listening on {port}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"{name} not listening on {port} after {timeout:g}s")
            time.sleep(0.005)
        listen = time.perf_counter() - started
        sent = time.perf_counter()
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=timeout)
        stop = time.perf_counter() - sent
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    return listen, stop


def one_run(index: int, used: set[int]) -> RunResult:
    """Fresh demo, timed add with probes, floor, start-up; always torn down."""
    name = f"bench_svc_{index}"
    demo = make_demo(used)
    result = RunResult(index, name, demo.base, root=demo.root)
    try:
        before = supervisor_pids(demo)
        prober = Prober(demo.ports)
        argv = [sys.executable, "-m", "portbook", "service.add", "--name", name]
        argv += ["--root", demo.root, "--json"]
        prober.start()
        try:
            result.wall, stdout, stderr, code = timed(argv, demo.root, cli_env())
        finally:
            result.probes = prober.stop()
            result.failed_probes = prober.failed
        doc = parse_outcome(stdout)
        result.steps = {s["name"]: float(s["seconds"]) for s in doc.get("steps", [])}
        result.smoke_listen, result.smoke_stop = smoke_times(doc)
        if not doc.get("ok") or code != 0:
            result.error = f"exit {code}: {doc.get('error') or stderr.strip()[-300:]}"
            return result
        after = supervisor_pids(demo)
        result.others_unchanged = all(after.get(n) == pid for n, pid in before.items())
        result.port = read_system(demo.target, demo.settings).services[name].port
        result.startsecs = program_startsecs(demo, name)
        result.floor_listen, result.floor_stop = measure_floor(demo, name, result.port)
        result.bare_python, result.startup = startup_seconds(demo.root)
        result.ok = True
    except Exception as exc:  # report it, tear down, go on
        result.error = f"{type(exc).__name__}: {exc}"
    finally:
        result.killed = teardown_demo(demo)
    return result


def above_floor(r: RunResult) -> list[tuple[str, float]]:
    """Wall minus floor, split into parts that add up exactly to it."""
    files = sum(r.steps.get(s, 0.0) for s in STEPS[:4])
    return [
        ("interpreter + imports (`--version`)", r.startup),
        ("rest outside steps (read, plan, lock, journal, output)", r.outside_steps - r.startup),
        ("file steps 1-4", files),
        (
            "smoke-test minus floor listen+stop",
            r.steps.get("smoke-test", 0.0) - r.floor_listen - r.floor_stop,
        ),
        ("apply minus startsecs", r.steps.get("apply", 0.0) - r.startsecs),
        ("verify", r.steps.get("verify", 0.0)),
    ]


def _f(value: float, width: int = 6) -> str:
    return f"{value:{width}.2f}"


def summary_table(results: Sequence[RunResult]) -> str:
    """One row per run, then the medians."""
    head = (
        f"{'run':>3} {'port':>5} {'wall':>6} {'steps':>6} {'outside':>7} {'smoke':>6} "
        f"{'apply':>6} {'verify':>6} {'floor':>6} {'fl+1':>6} {'margin':>6} {'met':>3} "
        f"{'probes':>8} {'fail':>4}"
    )
    lines = [head, "-" * len(head)]
    for r in results:
        if not r.ok:
            lines.append(f"{r.index:>3} FAILED: {r.error}")
            continue
        attempts = sum(p.attempts for p in r.probes.values())
        lines.append(
            f"{r.index:>3} {r.port:>5} {_f(r.wall)} {_f(sum(r.steps.values()))} "
            f"{_f(r.outside_steps, 7)} {_f(r.steps.get('smoke-test', 0))} "
            f"{_f(r.steps.get('apply', 0))} {_f(r.steps.get('verify', 0))} {_f(r.floor)} "
            f"{_f(r.floor + BUDGET)} {_f(r.margin)} {'yes' if r.margin >= 0 else 'NO':>3} "
            f"{attempts:>8} {r.probe_failures:>4}"
        )
    ok = [r for r in results if r.ok]
    if ok:
        lines.append("")
        wall = [r.wall for r in ok]
        lines.append(
            f"median: wall {median(wall):.2f}s (max {max(wall):.2f}s); "
            f"floor {median([r.floor for r in ok]):.2f}s = "
            f"listen {median([r.floor_listen for r in ok]):.2f} "
            f"+ stop {median([r.floor_stop for r in ok]):.2f} "
            f"+ startsecs {median([r.startsecs for r in ok]):.2f}; "
            f"margin vs floor+1s {median([r.margin for r in ok]):+.2f}s"
        )
        lines.append(
            f"median smoke test listen {median([r.smoke_listen for r in ok]):.2f}s, "
            f"stop {median([r.smoke_stop for r in ok]):.2f}s; "
            f"start-up: portbook --version {median([r.startup for r in ok]):.2f}s, "
            f"bare python {median([r.bare_python for r in ok]):.2f}s; "
            f"outside steps {median([r.outside_steps for r in ok]):.2f}s"
        )
        steps = ", ".join(f"{s} {median([r.steps.get(s, 0.0) for r in ok]):.3f}" for s in STEPS)
        lines.append(f"median step seconds: {steps}")
        parts = zip(*(above_floor(r) for r in ok), strict=True)
        split = "; ".join(f"{col[0][0]} {median([v for _, v in col]):.2f}" for col in parts)
        lines.append(f"median time above the floor: {split}")
    return "\n".join(lines)


def docs_body(results: Sequence[RunResult], facts: dict[str, str]) -> str:
    """The markdown for the ``service.add`` section of docs/benchmarks.md."""
    ok = [r for r in results if r.ok]
    met = sum(1 for r in ok if r.margin >= 0)
    wall_med = median([r.wall for r in ok])
    floor_med = median([r.floor for r in ok])
    out = [
        "## service.add",
        "",
        "`python bench/add.py --runs N --write`: each run installs a fresh demo copy (five",
        "services under their own supervisord), then times the real command",
        "`python -m portbook service.add --name bench_svc_N --root ROOT --json` in a",
        "subprocess (wall time of the whole process; per-step seconds from its JSON). While it",
        "runs, a thread TCP-connects to each other service's port every 20 ms. The floor is",
        "measured on its own after the add: the new service's start-to-listen and",
        "SIGINT-to-exit times when spawned by hand as supervisor runs it, plus supervisor's",
        "`startsecs`. Target: wall <= floor + 1 s, and no failed probe.",
        "",
        f"- Date: {facts['date']}",
        f"- Machine: `{facts['uname']}`",
        f"- CPU: {facts['cpu']}, {facts['nproc']} CPUs (nproc); memory {facts['memory']}",
        f"- Python: {facts['python']}",
        f"- Runs: {len(results)} ({len(ok)} succeeded); load average (1/5/15 min) "
        f"before {facts['load_before']}, after {facts['load_after']}",
        "",
        "| step | median s |",
        "| --- | ---: |",
    ]
    out += [f"| {s} | {median([r.steps.get(s, 0.0) for r in ok]):.3f} |" for s in STEPS]
    out += [
        f"| (sum of steps) | {median([sum(r.steps.values()) for r in ok]):.3f} |",
        f"| (outside steps: start-up, read, plan, lock, output) | "
        f"{median([r.outside_steps for r in ok]):.3f} |",
        "",
        "| measure | median s | max s |",
        "| --- | ---: | ---: |",
    ]
    rows: list[tuple[str, list[float]]] = [
        ("total wall time of the command", [r.wall for r in ok]),
        ("floor = listen + stop + startsecs", [r.floor for r in ok]),
        ("floor: start-to-listen", [r.floor_listen for r in ok]),
        ("floor: SIGINT-to-exit", [r.floor_stop for r in ok]),
        ("floor: supervisor startsecs", [r.startsecs for r in ok]),
        ("smoke test's own listen (psutil poll)", [r.smoke_listen for r in ok]),
        ("smoke test's own stop", [r.smoke_stop for r in ok]),
        ("`python -m portbook --version` (start-up + imports)", [r.startup for r in ok]),
        ("`python -c pass` (bare interpreter)", [r.bare_python for r in ok]),
    ]
    out += [f"| {label} | {median(v):.3f} | {max(v):.3f} |" for label, v in rows if v]
    verdict = "met" if wall_med <= floor_med + BUDGET else "missed"
    out += [
        "",
        f"Target wall <= floor + 1 s: {verdict} on the medians "
        f"({wall_med:.2f} s vs {floor_med + BUDGET:.2f} s); met in {met} of {len(ok)} runs. "
        f"Margin under floor + 1 s: median {median([r.margin for r in ok]):+.2f} s, "
        f"worst run {min(r.margin for r in ok):+.2f} s (negative = missed by that much).",
        "",
        "Where the time above the floor goes (medians per part; the parts of one run add up",
        "to its wall minus its floor):",
        "",
        "| part | median s |",
        "| --- | ---: |",
    ]
    for col in zip(*(above_floor(r) for r in ok), strict=True):
        out.append(f"| {col[0][0]} | {median([v for _, v in col]):.3f} |")
    out += [
        f"| (wall minus floor) | {median([r.wall - r.floor for r in ok]):.3f} |",
        "",
        "| other service | probes | failed |",
        "| --- | ---: | ---: |",
    ]
    for service in DEMO_SERVICES:
        attempts = sum(r.probes[service].attempts for r in ok if service in r.probes)
        failures = sum(r.probes[service].failures for r in ok if service in r.probes)
        out.append(f"| {service} | {attempts} | {failures} |")
    unchanged = sum(1 for r in ok if r.others_unchanged)
    out += [
        "",
        f"Other programs' pids unchanged after the add: {unchanged} of {len(ok)} runs.",
    ]
    failed = [r for r in results if not r.ok]
    if failed:
        out += ["", "Failed runs:", *[f"- run {r.index}: {r.error}" for r in failed]]
    return "\n".join(out)


def leftovers_of(results: Sequence[RunResult]) -> list[str]:
    """Temp roots still on disk and processes still naming or running inside one (want: none)."""
    roots = [r.root for r in results if r.root]
    found = [f"folder {root}" for root in roots if os.path.exists(root)]
    for proc in psutil.process_iter(["pid", "cwd", "cmdline"]):
        cwd = proc.info.get("cwd") or ""
        cmdline = " ".join(proc.info.get("cmdline") or [])
        if any(cwd.startswith(root) or root in cmdline for root in roots):
            found.append(f"pid {proc.pid} ({cmdline[:80]})")
    return found


def _loadavg() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark; print the table; with --write update docs/benchmarks.md."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="fresh demo copies to time (5)")
    parser.add_argument("--write", action="store_true", help=f"update {DOCS}")
    args = parser.parse_args(argv)
    used: set[int] = set()
    results = []
    load_before = _loadavg()
    for index in range(1, args.runs + 1):
        result = one_run(index, used)
        results.append(result)
        status = f"wall {result.wall:.2f}s" if result.ok else f"FAILED: {result.error}"
        print(f"run {index}/{args.runs} (ports {result.base}+): {status}", flush=True)
        if result.killed:
            print(f"  teardown had to kill pids {result.killed}", flush=True)
    print()
    print(summary_table(results))
    failures = [(r.index, t, n) for r in results for t, n in r.failed_probes]
    if failures:
        print(f"failed probes (run, s, service): {failures}")
    leftovers = leftovers_of(results)
    print(f"leftovers after teardown: {', '.join(leftovers) or 'none'}")
    if args.write and any(r.ok for r in results):
        facts = {**machine_facts(), "load_before": load_before, "load_after": _loadavg()}
        update_docs_section("add", docs_body(results, facts))
        print(f"\nwrote the service.add section of {DOCS}")
    return 0 if all(r.ok for r in results) and not leftovers else 1


if __name__ == "__main__":
    sys.exit(main())
