"""The REC.IO-shaped demo system: install a working copy, bring it up, take it down."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

from ..config import Settings
from ..errors import InvalidInput, PortbookError, StepFailed
from ..host.probes import owns_port
from ..host.supervisor import Supervisor
from ..registry import fallback, manifest
from ..registry.system import read_system
from ..target import Target

__all__ = [
    "DEMO_SOURCE",
    "DemoStartFailed",
    "changed_files",
    "check_interpreter",
    "demo_down",
    "demo_running",
    "demo_up",
    "install_demo",
    "is_demo_copy",
    "link_interpreter",
    "prepare_demo",
]

DEMO_SOURCE = Path(__file__).resolve().parents[3] / "demo" / "system"


MARKER = ".portbook-demo"
"""A file install_demo leaves at the root: what ``demo.up --fresh`` may delete."""

_MANIFEST = "backend/core/config/MASTER_PORT_MANIFEST.json"
_NOT_SHIPPED = ("logs/", ".run/", ".portbook/", "venv/", MARKER)


def install_demo(dest: str, ports: dict[str, int] | None = None) -> None:
    """Copy the demo tree to ``dest``, link its ``venv`` to this interpreter, renumber ports."""
    if not DEMO_SOURCE.is_dir():
        raise InvalidInput(f"demo system not found at {DEMO_SOURCE} (run from a portbook checkout)")
    shutil.copytree(DEMO_SOURCE, dest, dirs_exist_ok=True)
    Path(dest, MARKER).write_text("portbook demo working copy: demo.up --fresh deletes it\n")
    link_interpreter(Path(dest))
    for name, port in (ports or {}).items():
        _renumber(Path(dest), name, port)


def prepare_demo(dest: str, fresh: bool) -> list[str]:
    """Make ``dest`` a demo working copy without ever overwriting one; notes for the operator.

    A missing or empty folder gets a new copy. An existing working copy is kept as it
    is (only its ``venv`` link is renewed), and the notes say which files differ from
    the shipped demo. ``fresh`` deletes a working copy first, and nothing else: a
    folder that is not one is refused, whatever the flags.
    """
    root = Path(dest)
    if root.exists() and any(root.iterdir()):
        if not is_demo_copy(root):
            raise InvalidInput(
                f"{root} is not empty and is not a portbook demo working copy"
                "; pick another folder with --root"
            )
        if fresh:
            shutil.rmtree(root)
    if not root.exists() or not any(root.iterdir()):
        install_demo(dest)
        return [f"installed the demo at {root}"]
    link_interpreter(root)
    changed = changed_files(root)
    if not changed:
        return [f"using the working copy at {root} (as shipped)"]
    shown = ", ".join(changed[:5]) + (f" and {len(changed) - 5} more" if len(changed) > 5 else "")
    return [
        f"kept the working copy at {root}: {len(changed)} file(s) differ from the shipped demo"
        f" ({shown}); demo.up --fresh starts over"
    ]


def is_demo_copy(root: Path) -> bool:
    """True for a folder install_demo made (its marker, or an older copy's demo-only files)."""
    if (root / MARKER).is_file():
        return True
    return (root / _MANIFEST).is_file() and (root / "backend/core/health.py").is_file()


def changed_files(root: Path) -> list[str]:
    """Files of the shipped demo that differ in (or are missing from) ``root``, and new ones."""
    shipped = _tree(DEMO_SOURCE)
    here = _tree(root)
    differ = [rel for rel, data in shipped.items() if here.get(rel) != data]
    return sorted(differ + [rel for rel in here if rel not in shipped])


def _tree(root: Path) -> dict[str, bytes]:
    """Every file under ``root`` that the demo ships (runtime folders and caches left out)."""
    files = {}
    for path in root.rglob("*"):
        rel = path.relative_to(root).as_posix()
        if path.is_file() and not rel.startswith(_NOT_SHIPPED) and "__pycache__" not in rel:
            files[rel] = path.read_bytes()
    return files


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


class DemoStartFailed(StepFailed):
    """A demo program did not come up; carries its log's path and last lines."""

    def __init__(self, message: str, log_path: str, log_tail: list[str]) -> None:
        super().__init__(message)
        self.log_path = log_path
        self.log_tail = log_tail


def demo_up(
    target: Target, settings: Settings, timeout: float = 30.0, keep_failed: bool = False
) -> list[str]:
    """Start supervisord on the demo and wait until every service owns its port.

    When a program fails, the supervisord this call started is shut down again
    (unless ``keep_failed``), and the error carries the program's log tail.
    """
    system = read_system(target, settings)
    supervisor = Supervisor(target, system)
    started = not supervisor.is_up()
    if started:
        supervisor.start()
    began = time.monotonic()
    deadline = began + timeout
    lines = []
    for name, entry in sorted(system.services.items()):
        try:
            lines.append(_wait_for(target, supervisor, name, entry.port, began, deadline))
        except StepFailed as exc:
            path, tail = supervisor.error_log(name)
            message = str(exc)
            if started and not keep_failed:
                message += _stop_again(supervisor)
            raise DemoStartFailed(message, path, tail) from None
    return lines


def _stop_again(supervisor: Supervisor) -> str:
    """Shut down the supervisord demo_up started; what happened, for the failure message."""
    try:
        supervisor.shutdown()
    except PortbookError as exc:
        return f"; supervisord could not be stopped: {exc}"
    return "; supervisord stopped again (--keep-failed leaves it running)"


def _wait_for(
    target: Target, supervisor: Supervisor, name: str, port: int, began: float, deadline: float
) -> str:
    """Wait until ``name`` is RUNNING and its pid owns ``port``; its status line."""
    state = supervisor.wait_running(name, max(0.1, deadline - time.monotonic()), since=began)
    while not owns_port(target, state.pid, port):
        if time.monotonic() > deadline:
            raise StepFailed(f"{name} (pid {state.pid}) never listened on {port}")
        time.sleep(0.05)
    return f"{name:<24} pid {state.pid:<7} listening on {port}"


def demo_running(target: Target, settings: Settings) -> bool:
    """True when the demo's supervisord answers on its socket."""
    return Supervisor(target, read_system(target, settings)).is_up()


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
