"""The REC.IO-shaped demo system: install a working copy, bring it up, take it down."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

from .config import Settings
from .errors import InvalidInput, StepFailed
from .probes import owns_port
from .registry import fallback, manifest
from .supervisor import Supervisor
from .system import read_system
from .target import Target

__all__ = [
    "DEMO_SOURCE",
    "check_interpreter",
    "demo_down",
    "demo_up",
    "install_demo",
    "link_interpreter",
]

DEMO_SOURCE = Path(__file__).resolve().parents[2] / "demo" / "system"


def install_demo(dest: str, ports: dict[str, int] | None = None) -> None:
    """Copy the demo tree to ``dest``, link its ``venv`` to this interpreter, renumber ports."""
    if not DEMO_SOURCE.is_dir():
        raise InvalidInput(f"demo system not found at {DEMO_SOURCE} (run from a portbook checkout)")
    shutil.copytree(DEMO_SOURCE, dest, dirs_exist_ok=True)
    link_interpreter(Path(dest))
    for name, port in (ports or {}).items():
        _renumber(Path(dest), name, port)


def link_interpreter(root: Path) -> None:
    """Make ``root/venv/bin/python`` start the interpreter running portbook, packages and all.

    Python finds a virtualenv by the ``pyvenv.cfg`` beside the path it was started
    from, so a link to the virtualenv's ``python`` alone would start the base
    interpreter without the virtualenv's packages. Inside a virtualenv the whole
    folder is linked instead; outside one, ``venv/bin/python`` links the interpreter.
    """
    venv = root / "venv"
    if venv.is_symlink():
        venv.unlink()
    elif _is_old_link_dir(venv):
        shutil.rmtree(venv)
    if venv.exists():
        return  # a real virtualenv the operator put there: theirs, not ours
    if sys.prefix != sys.base_prefix:
        venv.symlink_to(sys.prefix, target_is_directory=True)
        return
    (venv / "bin").mkdir(parents=True)
    (venv / "bin" / "python").symlink_to(sys.executable)


def _is_old_link_dir(venv: Path) -> bool:
    """True for the folder older portbooks made: ``venv/bin/python`` as its only entry, a link."""
    entries = list(venv.rglob("*")) if venv.is_dir() else []
    python = venv / "bin" / "python"
    return python.is_symlink() and sorted(entries) == sorted([venv / "bin", python])


def check_interpreter(root: Path) -> None:
    """Refuse unless ``root/venv/bin/python`` is this interpreter's environment and has uvicorn."""
    python = root / "venv" / "bin" / "python"
    probe = "import sys, os; print(os.path.realpath(sys.prefix)); import uvicorn"
    try:
        done = subprocess.run(
            [str(python), "-c", probe], capture_output=True, text=True, timeout=60
        )
    except OSError as exc:
        raise InvalidInput(f"{python}: cannot start the demo's interpreter: {exc}") from None
    prefix = done.stdout.strip()
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["exit " + str(done.returncode)])[-1]
        raise InvalidInput(
            f"{python} (prefix {prefix or '?'}) cannot run the demo: {last}"
            f" (install portbook with its demo extra: pip install -e '.[demo]')"
        )
    if prefix != os.path.realpath(sys.prefix):
        raise InvalidInput(
            f"{python} runs the environment {prefix}, not portbook's {sys.prefix}"
            " (demo.up --fresh relinks it)"
        )


def demo_up(target: Target, settings: Settings, timeout: float = 30.0) -> list[str]:
    """Start supervisord on the demo and wait until every service owns its port."""
    system = read_system(target, settings)
    supervisor = Supervisor(target, system)
    if not supervisor.is_up():
        supervisor.start()
    deadline = time.monotonic() + timeout
    lines = []
    for name, entry in sorted(system.services.items()):
        state = supervisor.wait_running(name, max(0.1, deadline - time.monotonic()))
        while not owns_port(target, state.pid, entry.port):
            if time.monotonic() > deadline:
                raise StepFailed(f"{name} (pid {state.pid}) never listened on {entry.port}")
            time.sleep(0.05)
        lines.append(f"{name:<24} pid {state.pid:<7} listening on {entry.port}")
    return lines


def demo_down(target: Target, settings: Settings) -> bool:
    """Shut the demo's supervisord down; False when it was not running."""
    supervisor = Supervisor(target, read_system(target, settings))
    if not supervisor.is_up():
        return False
    supervisor.shutdown()
    return True


def _renumber(root: Path, name: str, port: int) -> None:
    mpath = root / "backend/core/config/MASTER_PORT_MANIFEST.json"
    fpath = root / "backend/core/port_config.py"
    text = mpath.read_text()
    mpath.write_text(manifest.set_field(text, str(mpath), name, "port", port))
    text = fpath.read_text()
    fpath.write_text(fallback.set_port(text, str(fpath), name, port))
    os.utime(root)
