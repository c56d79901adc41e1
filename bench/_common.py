"""Shared helpers for portbook's hand-run benchmarks: demo copies, ports, machine facts, docs.

Nothing here is imported by portbook itself. The benchmarks run the real CLI in
subprocesses against throw-away copies of the demo system, each with its own
supervisord on its own ports, and remove every trace afterwards.
"""

from __future__ import annotations

import contextlib
import json
import os
import platform
import random
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [p for p in (str(REPO / "lib"), str(REPO)) if p not in sys.path]

import psutil  # noqa: E402
from portbook.config import Settings, load_settings  # noqa: E402
from portbook.demo import demo_down, demo_up, install_demo  # noqa: E402
from portbook.target import LocalTarget  # noqa: E402

__all__ = [
    "DEMO_SERVICES",
    "DOCS",
    "REPO",
    "CliRun",
    "Demo",
    "PortProber",
    "cli_env",
    "free_base",
    "leftovers",
    "loadavg",
    "machine_facts",
    "make_demo",
    "median",
    "pid_alive",
    "port_accepts",
    "port_free",
    "portbook_tasks",
    "refusals",
    "run_cli",
    "supervisor_pids",
    "teardown_demo",
    "update_docs_section",
]

DOCS = REPO / "docs" / "benchmarks.md"
DEMO_SERVICES = ("main_app", "trade_manager", "trade_executor", "btc_price_watchdog", "db_poller")
BLOCK = 300  # ports reserved per demo copy: services at base+0.., new ones in base+100..199
PORT_LOW, PORT_HIGH = 30000, 40000
DOCS_HEADER = (
    "# portbook benchmarks\n\n"
    "Figures written by the scripts in `bench/` (run by hand, `--write` updates this file).\n"
    "Each section is replaced only between its own markers; the rest is kept.\n"
)


@dataclass
class Demo:
    """One running copy of the demo system in a short temp folder, on its own ports."""

    root: str
    base: int
    target: LocalTarget

    @property
    def settings(self) -> Settings:
        """Settings as the CLI loads them for this root (portbook.yaml included)."""
        text = Path(self.root, "portbook.yaml").read_text()
        return load_settings(None, self.root, text)

    @property
    def ports(self) -> dict[str, int]:
        """The demo services' ports in this copy."""
        return {name: self.base + i for i, name in enumerate(DEMO_SERVICES)}


def cli_env(pythonpath: Sequence[str] | None = None) -> dict[str, str]:
    """This environment with PYTHONPATH replaced (default: portbook's lib and the repo)."""
    env = dict(os.environ)
    paths = pythonpath if pythonpath is not None else [str(REPO / "lib"), str(REPO)]
    env["PYTHONPATH"] = os.pathsep.join(paths)
    return env


def port_free(port: int) -> bool:
    """True when nothing is bound to 127.0.0.1:``port`` (SO_REUSEADDR, so TIME_WAIT is fine)."""
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def free_base(used: set[int] | None = None, low: int = PORT_LOW, high: int = PORT_HIGH) -> int:
    """A base in ``low``-``high`` (default 30000-40000) whose block of 300 ports is free now."""
    used = used if used is not None else set()
    bases = list(range(low, high - BLOCK + 1, BLOCK))
    random.shuffle(bases)
    listening = {
        c.laddr.port
        for c in psutil.net_connections(kind="inet")
        if c.status == psutil.CONN_LISTEN and c.laddr
    }
    for base in bases:
        block = range(base, base + BLOCK)
        if base in used or listening.intersection(block):
            continue
        if all(port_free(p) for p in block):
            used.add(base)
            return base
    raise RuntimeError(f"no free block of {BLOCK} ports in {low}-{high}")


def make_demo(
    used: set[int] | None = None,
    start: bool = True,
    low: int = PORT_LOW,
    high: int = PORT_HIGH,
) -> Demo:
    """Install a demo copy (mkdtemp prefix ``pb-``) with ranges in its block, and start it.

    The block of ports is taken from ``low``-``high`` (default 30000-40000).
    """
    base = free_base(used, low, high)
    root = tempfile.mkdtemp(prefix="pb-")
    demo = Demo(root, base, LocalTarget())
    try:
        socket_path = os.path.join(root, ".run", "supervisor.sock")
        if len(socket_path) >= 100:
            raise RuntimeError(f"unix socket path too long ({len(socket_path)}): {socket_path}")
        install_demo(root, demo.ports)
        low, high = base + 100, base + 199
        Path(root, "portbook.yaml").write_text(
            f"ranges:\n  core: [{low}, {high}]\n  watchdog: [{low}, {high}]\nsmoke_timeout: 20\n"
        )
        if start:
            demo_up(demo.target, demo.settings)
    except BaseException:
        teardown_demo(demo)
        raise
    return demo


def teardown_demo(demo: Demo) -> list[int]:
    """Shut supervisord down, SIGKILL anything whose cwd is inside the root, remove the root.

    Returns the pids that had to be killed (expected: none).
    """
    with contextlib.suppress(Exception):
        demo_down(demo.target, demo.settings)
    killed = [proc.pid for proc in _inside(demo.root)]
    for pid in killed:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + 5
    while _inside(demo.root) and time.monotonic() < deadline:
        time.sleep(0.05)
    shutil.rmtree(demo.root, ignore_errors=True)
    return killed


def _inside(root: str) -> list[psutil.Process]:
    found = []
    for proc in psutil.process_iter(["pid", "cwd", "status"]):
        cwd = proc.info.get("cwd") or ""
        alive = proc.info.get("status") != psutil.STATUS_ZOMBIE
        if alive and proc.pid != os.getpid() and (cwd == root or cwd.startswith(root + "/")):
            found.append(proc)
    return found


def port_accepts(port: int, timeout: float = 1.0) -> bool:
    """One TCP connect + close to 127.0.0.1:``port``; True when it was accepted."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout):
            return True
    except OSError:
        return False


def median(values: Sequence[float]) -> float:
    """The median, or NaN for no values."""
    return statistics.median(values) if values else float("nan")


def _cmd(argv: Sequence[str]) -> str:
    try:
        done = subprocess.run(list(argv), capture_output=True, text=True, timeout=10, check=False)
    except OSError:
        return "?"
    return done.stdout.strip()


def machine_facts() -> dict[str, str]:
    """uname, CPU model and count, memory, python version and the UTC date."""
    cpu = "?"
    with contextlib.suppress(OSError), open("/proc/cpuinfo") as handle:
        for line in handle:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    memory = "?"
    for line in _cmd(["free", "-h"]).splitlines():
        if line.startswith("Mem:"):
            memory = line.split()[1]
    return {
        "uname": _cmd(["uname", "-a"]),
        "cpu": cpu,
        "nproc": _cmd(["nproc"]),
        "memory": memory,
        "python": f"{platform.python_version()} ({sys.executable})",
        "date": _cmd(["date", "-u"]),
    }


def update_docs_section(key: str, body: str, path: Path = DOCS) -> None:
    """Replace what lies between ``<!-- bench:KEY:start -->`` and its end marker; keep the rest.

    Creates the file with a short header when absent, and appends the section
    (with its markers) when the file has none yet.
    """
    start, end = f"<!-- bench:{key}:start -->", f"<!-- bench:{key}:end -->"
    block = f"{start}\n{body.strip()}\n{end}"
    text = path.read_text() if path.exists() else DOCS_HEADER
    if start in text and end in text and text.index(start) < text.index(end):
        head, rest = text.split(start, 1)
        tail = rest.split(end, 1)[1]
        text = head + block + tail
    else:
        text = text.rstrip("\n") + "\n\n" + block + "\n"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


# --- shared by bench/lifecycle.py: CLI runs, timelines of probes, leftovers -------------------


@dataclass
class CliRun:
    """One finished ``python -m portbook TASK ... --json`` subprocess."""

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
    """Run ``python -m portbook TASK ARGS --root ROOT --json`` from ROOT and time it."""
    argv = [sys.executable, "-m", "portbook", task, *args, "--root", root, "--json"]
    started = time.monotonic()
    t0 = time.perf_counter()
    done = subprocess.run(
        argv, cwd=root, env=cli_env(), capture_output=True, text=True, timeout=timeout, check=False
    )
    wall = time.perf_counter() - t0
    return CliRun(argv, wall, started, time.monotonic(), done.returncode, done.stdout, done.stderr)


def portbook_tasks() -> set[str]:
    """The task names ``python -m portbook --list`` shows now."""
    done = subprocess.run(
        [sys.executable, "-m", "portbook", "--list"],
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


def loadavg() -> str:
    """The 1, 5 and 15 minute load averages."""
    return " ".join(f"{x:.2f}" for x in os.getloadavg())
