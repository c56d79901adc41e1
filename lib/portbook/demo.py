"""The REC.IO-shaped demo system: install a working copy, bring it up, take it down."""

from __future__ import annotations

import os
import shutil
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

__all__ = ["DEMO_SOURCE", "demo_down", "demo_up", "install_demo"]

DEMO_SOURCE = Path(__file__).resolve().parents[2] / "demo" / "system"


def install_demo(
    dest: str, ports: dict[str, int] | None = None, python: str = sys.executable
) -> None:
    """Copy the demo tree to ``dest``, link ``venv/bin/python``, optionally renumber ports."""
    if not DEMO_SOURCE.is_dir():
        raise InvalidInput(f"demo system not found at {DEMO_SOURCE} (run from a portbook checkout)")
    shutil.copytree(DEMO_SOURCE, dest, dirs_exist_ok=True)
    venv = Path(dest, "venv", "bin")
    venv.mkdir(parents=True, exist_ok=True)
    link = venv / "python"
    if not link.exists():
        link.symlink_to(python)
    for name, port in (ports or {}).items():
        _renumber(Path(dest), name, port)


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
