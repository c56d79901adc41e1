"""Shared helpers for portbook's hand-run benchmarks: demo copies, ports, the docs file.

Nothing here is imported by portbook itself. The benchmarks run the real CLI in
subprocesses against throw-away copies of the demo system, each with its own
supervisord on its own ports, and remove every trace afterwards.
"""

from __future__ import annotations

import contextlib
import os
import random
import shutil
import socket
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [p for p in (str(REPO / "lib"), str(REPO)) if p not in sys.path]

import psutil  # noqa: E402
from portbook.config import Settings, load_settings  # noqa: E402
from portbook.sim.demo import demo_down, demo_up, install_demo  # noqa: E402
from portbook.target import LocalTarget  # noqa: E402

__all__ = [
    "DEMO_SERVICES",
    "DOCS",
    "DOCS_HEADER",
    "PORT_HIGH",
    "PORT_LOW",
    "REPO",
    "Demo",
    "cli_env",
    "free_base",
    "make_demo",
    "median",
    "port_accepts",
    "port_free",
    "teardown_demo",
    "update_docs_section",
]

DOCS = REPO / "docs" / "benchmarks.md"
DEMO_SERVICES = ("main_app", "trade_manager", "trade_executor", "btc_price_watchdog", "db_poller")
BLOCK = 300  # ports reserved per demo copy: services at base+0.., new ones in base+100..199
# Below Linux's ephemeral ports (32768+: a client socket there can block a listener) and
# apart from the integration tests' 20000-29999.
PORT_LOW, PORT_HIGH = 11000, 20000
DOCS_HEADER = (
    "# portbook benchmarks\n\n"
    "Every figure below is written by a script in `bench/` from a run of the code at the\n"
    "commit stamped in its section. `python bench/all.py --write` measures them all again\n"
    "(one section: `python bench/SCRIPT.py --write`); each section is replaced only between\n"
    "its own markers. `tests/unit/test_benchmarks_doc.py` fails when a commit after a\n"
    "section's stamp changed a path the section covers.\n"
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
    """A base in ``low``-``high`` (default 11000-20000) whose block of 300 ports is free now."""
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
    base: int | None = None,
) -> Demo:
    """Install a demo copy (mkdtemp prefix ``pb-``) with ranges in its block, and start it.

    The block of ports is taken from ``low``-``high`` (default 11000-20000), or is ``base``'s
    when given (for copies run one after another on the same ports).
    """
    base = free_base(used, low, high) if base is None else base
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
    killed: list[int] = []
    deadline = time.monotonic() + 5
    while (procs := _inside(demo.root)) and time.monotonic() < deadline:
        for proc in procs:  # again while new ones appear: a wedged supervisord restarts programs
            with contextlib.suppress(psutil.Error):
                proc.kill()  # psutil refuses a pid reused meanwhile
            if proc.pid not in killed:
                killed.append(proc.pid)
        psutil.wait_procs(procs, timeout=1)
    shutil.rmtree(demo.root, ignore_errors=True)  # the venv link is removed, not followed
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
