"""Shared by the benchmarks that run the CLI: timed CLI runs, port probes, leftovers.

A ``PortProber`` thread keeps every (time, accepted) sample of each port it probes, so
one port's refused stretches (``refusals``) can be set against the command's own start
and end, all on ``time.monotonic()``.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

import psutil
from _common import REPO, Demo, cli_env, port_accepts

__all__ = [
    "CliRun",
    "PortProber",
    "Refusals",
    "Sample",
    "leftovers",
    "pid_alive",
    "portbook_tasks",
    "probed",
    "refusals",
    "run_cli",
    "supervisor_pids",
]


@dataclass
class CliRun:
    """One finished ``python -m playbooks TASK ... --json`` subprocess."""

    argv: list[str]
    wall: float
    started: float  # time.monotonic() just before the spawn
    ended: float  # time.monotonic() just after the exit
    code: int
    stdout: str
    stderr: str

    @property
    def doc(self) -> dict[str, Any]:
        """The one JSON object the command printed (the last line that parses)."""
        for line in reversed(self.stdout.strip().splitlines()):
            line = line.strip()
            if line.startswith("{"):
                with contextlib.suppress(ValueError):
                    doc: dict[str, Any] = json.loads(line)
                    return doc
        raise ValueError(f"no JSON object in the command's output: {self.stdout[-500:]!r}")

    @property
    def steps(self) -> dict[str, float]:
        """Per-step seconds from the JSON (empty when there is none)."""
        try:
            return {s["name"]: float(s["seconds"]) for s in self.doc.get("steps", [])}
        except ValueError:
            return {}

    @property
    def error(self) -> str:
        """Empty when the command exited 0 with ``ok``; else a one-line reason."""
        try:
            doc = self.doc
        except ValueError:
            return f"exit {self.code}, no JSON: {self.stderr.strip()[-300:]}"
        if doc.get("ok") and self.code == 0:
            return ""
        return f"exit {self.code}: {doc.get('error') or self.stderr.strip()[-300:]}"


def run_cli(task: str, *args: str, root: str, timeout: float = 300) -> CliRun:
    """Run ``python -m playbooks TASK ARGS --root ROOT --json`` from ROOT and time it."""
    argv = [sys.executable, "-m", "playbooks", task, *args, "--root", root, "--json"]
    started = time.monotonic()
    t0 = time.perf_counter()
    done = subprocess.run(
        argv, cwd=root, env=cli_env(), capture_output=True, text=True, timeout=timeout, check=False
    )
    wall = time.perf_counter() - t0
    return CliRun(argv, wall, started, time.monotonic(), done.returncode, done.stdout, done.stderr)


def portbook_tasks() -> set[str]:
    """The task names ``python -m playbooks --list`` shows now."""
    done = subprocess.run(
        [sys.executable, "-m", "playbooks", "--list"],
        cwd=REPO,
        env=cli_env(),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    return {
        line.split()[0]
        for line in done.stdout.splitlines()
        if line.startswith("  ") and line.split() and "." in line.split()[0]
    }


def supervisor_pids(demo: Demo) -> dict[str, int]:
    """Every program's pid, read straight from supervisord's socket."""
    socket_path = os.path.join(demo.root, ".run", "supervisor.sock")
    infos = demo.target.rpc(socket_path, "supervisor.getAllProcessInfo")
    return {i["name"]: int(i["pid"]) for i in infos}


def pid_alive(pid: int) -> bool:
    """True while ``pid`` runs (a zombie counts as gone)."""
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


Sample = tuple[float, bool]  # (time.monotonic() when the connect returned, accepted)


class PortProber(threading.Thread):
    """Connect to each named port every ``interval`` s, keeping every (time, accepted) sample.

    Ports are probed one after another in each round; times are ``time.monotonic()``
    so several probers and the command's own start and end can be compared.
    """

    def __init__(self, ports: dict[str, int], interval: float = 0.02, timeout: float = 1.0) -> None:
        super().__init__(name="port-prober", daemon=True)
        self.ports = dict(ports)
        self.interval = interval
        self.timeout = timeout
        self.samples: dict[str, list[Sample]] = {name: [] for name in ports}
        self._halt = threading.Event()

    def run(self) -> None:
        """Probe every port once per tick until stopped."""
        tick = time.monotonic()
        while not self._halt.is_set():
            for name, port in self.ports.items():
                accepted = port_accepts(port, self.timeout)
                self.samples[name].append((time.monotonic(), accepted))
            tick += self.interval
            delay = tick - time.monotonic()
            if delay > 0:
                self._halt.wait(delay)
            else:
                tick = time.monotonic()

    def stop(self) -> dict[str, list[Sample]]:
        """Stop probing (after the current round) and return the samples."""
        self._halt.set()
        self.join()
        return self.samples


@dataclass
class Refusals:
    """What one port's probe samples say: failures and the refused stretches."""

    attempts: int = 0
    failures: int = 0
    gaps: list[tuple[float, float | None]] = field(default_factory=list)  # (first no, next yes)
    last_time: float = float("nan")
    back: bool = False  # the last sample was accepted
    first_ok_at: float | None = None  # when the first accepted probe came back

    @property
    def longest(self) -> float:
        """Longest refused stretch: first refused probe to the next accepted one (or the end)."""
        ends = [(self.last_time if end is None else end) - start for start, end in self.gaps]
        return max(ends, default=0.0)

    @property
    def final_fail(self) -> float | None:
        """Start of the refused stretch that lasted to the end (None when the port ended up)."""
        return self.gaps[-1][0] if self.gaps and self.gaps[-1][1] is None else None


def refusals(samples: Sequence[Sample]) -> Refusals:
    """Summarise one port's samples: counts, refused stretches, whether it ended accepting."""
    out = Refusals(attempts=len(samples))
    start: float | None = None
    for when, accepted in samples:
        if accepted:
            if out.first_ok_at is None:
                out.first_ok_at = when
            if start is not None:
                out.gaps.append((start, when))
                start = None
        else:
            out.failures += 1
            if start is None:
                start = when
    if start is not None:
        out.gaps.append((start, None))
    if samples:
        out.last_time = samples[-1][0]
        out.back = samples[-1][1]
    return out


def leftovers(roots: Sequence[str]) -> list[str]:
    """Roots still on disk and processes running inside, or naming, one of them (want: none)."""
    found = [f"folder {root}" for root in roots if os.path.exists(root)]
    for proc in psutil.process_iter(["pid", "cwd", "cmdline"]):
        cwd = proc.info.get("cwd") or ""
        cmdline = " ".join(proc.info.get("cmdline") or [])
        if proc.pid != os.getpid() and any(
            cwd == root or cwd.startswith(root + "/") or root in cmdline for root in roots
        ):
            found.append(f"pid {proc.pid} ({cmdline[:80]})")
    return found


T = TypeVar("T")


def probed(
    groups: dict[str, dict[str, int]],
    command: Callable[[], T],
    interval: float = 0.02,
    lead: float = 0.2,
    tail: float = 0.5,
) -> tuple[T, dict[str, dict[str, Refusals]]]:
    """Run ``command`` while one prober per group probes its ports; summarise each port.

    Every port is probed each ``interval`` s from ``lead`` s before the command to ``tail``
    s after it.
    """
    probers = {key: PortProber(ports, interval) for key, ports in groups.items()}
    for prober in probers.values():
        prober.start()
    try:
        time.sleep(lead)
        done = command()
        time.sleep(tail)
    finally:
        samples = {key: prober.stop() for key, prober in probers.items()}
    summary = {
        key: {name: refusals(s) for name, s in per_port.items()}
        for key, per_port in samples.items()
    }
    return done, summary
