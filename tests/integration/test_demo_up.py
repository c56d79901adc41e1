"""demo.up on a real supervisord: the right interpreter, no overwritten work, a hint on failure."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

from .conftest import DemoSystem, make_demo, teardown_demo

pytestmark = pytest.mark.integration

CRASHING_SERVICE = 'raise SystemExit("cannot reach the database: DB_PASSWORD=\\"hunter2\\"")\n'


def interpreter_facts(python: Path) -> tuple[str, bool]:
    """The real ``sys.prefix`` ``python`` runs with, and whether it imports uvicorn."""
    probe = (
        "import os, sys, importlib.util; print(os.path.realpath(sys.prefix)); "
        "print(importlib.util.find_spec('uvicorn') is not None)"
    )
    done = subprocess.run([str(python), "-c", probe], capture_output=True, text=True, check=True)
    prefix, has_uvicorn = done.stdout.split()
    return prefix, has_uvicorn == "True"


@pytest.fixture
def stopped_demo() -> Iterator[DemoSystem]:
    """A demo copy with its own ports, not started; torn down afterwards."""
    system = make_demo(start=False)
    try:
        yield system
    finally:
        teardown_demo(system, graceful=False)


def supervisord_pids(root: str) -> list[int]:
    """Pids of supervisord processes whose conf lies inside ``root`` (read from /proc)."""
    found = []
    for proc in psutil.process_iter(["pid", "cmdline", "status"]):
        cmdline = " ".join(proc.info["cmdline"] or [])
        zombie = proc.info["status"] == psutil.STATUS_ZOMBIE
        if "supervisord" in cmdline and root in cmdline and not zombie:
            found.append(proc.info["pid"])
    return found


def test_the_demo_runs_its_services_on_portbooks_own_environment(demo: DemoSystem) -> None:
    python = Path(demo.root, "venv", "bin", "python")
    prefix, has_uvicorn = interpreter_facts(python)
    assert prefix == os.path.realpath(sys.prefix), f"{python} runs {prefix}, not {sys.prefix}"
    assert has_uvicorn, f"{python} cannot import uvicorn"
    for name, (state, pid) in demo.states().items():
        assert state == "RUNNING", name
        argv0 = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")[0].decode()
        assert os.path.normpath(argv0) == str(python), name


def test_the_suite_runs_in_a_virtualenv_in_ci() -> None:
    # The interpreter test above proves nothing outside a virtualenv (the base
    # interpreter is then the right one), so CI must run inside one.
    if os.environ.get("CI"):
        assert sys.prefix != sys.base_prefix, "CI must run the suite inside a virtualenv"


def test_demo_up_keeps_a_changed_running_demo_and_reports_it_running(demo: DemoSystem) -> None:
    script = Path(demo.root, "backend", "api", "db_poller.py")
    script.write_bytes(script.read_bytes() + b"# the operator's change\n")
    before_files, before_states = demo.files(), demo.states()

    done = demo.cli("demo.up", timeout=60)

    assert done.returncode == 0, done.stderr
    assert "already running" in done.stdout
    assert "differ from the shipped demo" in done.stdout
    assert "backend/api/db_poller.py" in done.stdout
    assert demo.files() == before_files
    assert demo.states() == before_states


def test_demo_up_starts_a_stopped_changed_copy_as_it_is(stopped_demo: DemoSystem) -> None:
    manifest = Path(stopped_demo.root, "backend/core/config/MASTER_PORT_MANIFEST.json")
    manifest.write_text(manifest.read_text().replace('"description"', '"description" ', 1))
    before = stopped_demo.files()

    done = stopped_demo.cli("demo.up", timeout=90)

    assert done.returncode == 0, done.stderr
    assert "already running" not in done.stdout
    assert stopped_demo.files() == before
    assert {state for state, _ in stopped_demo.states().values()} == {"RUNNING"}


def test_a_failed_start_shows_the_error_log_and_stops_supervisord(
    stopped_demo: DemoSystem,
) -> None:
    Path(stopped_demo.root, "backend", "api", "db_poller.py").write_text(CRASHING_SERVICE)

    done = stopped_demo.cli("demo.up", timeout=90)

    log = os.path.join(stopped_demo.root, "logs", "db_poller.err.log")
    assert done.returncode == 1
    assert f"last lines of {log}:" in done.stderr
    assert "cannot reach the database" in done.stderr
    assert "hunter2" not in done.stderr + done.stdout
    error = done.stderr.strip().splitlines()[-1]
    assert error.startswith("db_poller is FATAL in supervisor, not RUNNING;")
    assert f"{log} ends: cannot reach the database" in error
    assert supervisord_pids(stopped_demo.root) == []


def test_keep_failed_leaves_supervisord_running_for_a_look(stopped_demo: DemoSystem) -> None:
    Path(stopped_demo.root, "backend", "api", "db_poller.py").write_text(CRASHING_SERVICE)

    done = stopped_demo.cli("demo.up", "--keep-failed", timeout=90)

    assert done.returncode == 1
    assert "db_poller is FATAL" in done.stderr
    assert len(supervisord_pids(stopped_demo.root)) == 1
    assert stopped_demo.states()["main_app"][0] == "RUNNING"
