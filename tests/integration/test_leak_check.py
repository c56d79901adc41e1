"""Tests clean up after themselves: a demo that fails to come up leaves nothing behind, and the
end-of-run check fails a run that leaves a process running, naming it, but never flags what
the run did not start (another run's demo, another run's processes).

The check itself is proven on inner pytest runs of one small test file, with this suite's
``tests/conftest.py`` as their plugin.
"""

from __future__ import annotations

import contextlib
import os
import re
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest
from portbook.config import Settings
from portbook.errors import StepFailed
from portbook.sim.demo import demo_up, install_demo
from portbook.sim.hosts import netns_pids, skip_reason
from portbook.target import Target

from .. import leakcheck
from . import conftest as integration
from .conftest import REPO, DemoSystem, make_demo
from .sshhosts import create_host, ssh_host

pytestmark = pytest.mark.integration

CRASHING = 'raise SystemExit("db_poller: broken on purpose")\n'


def _running_in(root: str) -> list[str]:
    """Command lines of live processes whose cwd or arguments lie inside ``root``."""
    return [" ".join(p.info["cmdline"] or []) for p in integration._inside(root)]


def _gone(proc: psutil.Process) -> bool:
    """True once ``proc`` has exited (a zombie counts; a reused pid is another process)."""
    try:
        return not proc.is_running() or proc.status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


def test_a_demo_whose_service_crashes_at_start_leaves_no_process_and_no_folder(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    roots: list[str] = []

    def install_then_break(root: str, ports: dict[str, int] | None = None) -> None:
        install_demo(root, ports)
        Path(root, "backend/api/db_poller.py").write_text(CRASHING)
        roots.append(root)

    monkeypatch.setattr(integration, "install_demo", install_then_break)
    with pytest.raises(StepFailed, match="db_poller"):
        make_demo()
    [root] = roots
    assert _running_in(root) == []
    assert not os.path.lexists(root)
    assert Path(sys.prefix, "bin", "python").exists()  # the venv link was removed, not followed


def test_a_demo_failing_after_supervisord_is_up_has_it_and_its_programs_stopped(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    seen: list[psutil.Process] = []
    roots: list[str] = []
    commands: list[str] = []

    def up_then_fail(target: Target, settings: Settings) -> list[str]:
        demo_up(target, settings)
        roots.append(settings.root)
        seen.extend(integration._inside(settings.root))
        commands.extend(" ".join(p.info["cmdline"] or []) for p in seen)
        raise RuntimeError("injected: the fixture fails once the demo is up")

    monkeypatch.setattr(integration, "demo_up", up_then_fail)
    with pytest.raises(RuntimeError, match="injected"):
        make_demo()
    assert len(seen) > len(integration.DEMO_SERVICES)  # supervisord and every program
    assert any("supervisord -c" in command for command in commands), commands
    assert [p.pid for p in seen if not _gone(p)] == []
    assert _running_in(roots[0]) == []
    assert not os.path.lexists(roots[0])


# --- the end-of-run check, on inner runs -------------------------------------------------


def run_pytest(folder: Path, test_source: str) -> subprocess.CompletedProcess[str]:
    """``pytest`` on one test file in ``folder``, with the suite's conftest as its plugin."""
    folder.mkdir()
    (folder / "pytest.ini").write_text("[pytest]\n")
    (folder / "conftest.py").write_text('pytest_plugins = ["tests.conftest"]\n')
    (folder / "test_inner.py").write_text(test_source)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), str(REPO / "lib")])}
    argv = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"]
    argv += [f"--basetemp={folder / 'tmp'}", str(folder / "test_inner.py")]
    return subprocess.run(argv, cwd=folder, env=env, capture_output=True, text=True, timeout=240)


@pytest.fixture
def mark() -> Iterator[str]:
    """A unique word for a probe process's command line; any such process is killed after."""
    word = f"pb-leak-probe-{uuid.uuid4().hex}"
    yield word
    for proc in psutil.process_iter(["cmdline"]):
        if word in (proc.info["cmdline"] or []):
            with contextlib.suppress(psutil.Error):
                proc.kill()


def _probe_alive(word: str) -> list[int]:
    return [
        p.pid
        for p in psutil.process_iter(["cmdline", "status"])
        if word in (p.info["cmdline"] or []) and p.info["status"] != psutil.STATUS_ZOMBIE
    ]


LEAKS_AN_ORPHAN = """
import subprocess, sys

def test_leaves_a_process_running_behind_its_back():
    sleeper = f'{sys.executable} -c "import time; time.sleep(300)" MARK'
    subprocess.run(["sh", "-c", sleeper + " >/dev/null 2>&1 &"], check=True)  # orphaned at once
"""


def test_the_check_fails_a_run_that_leaves_a_process_running_and_names_it(
    tmp_path: Path, mark: str
) -> None:
    done = run_pytest(tmp_path / "inner", LEAKS_AN_ORPHAN.replace("MARK", mark))
    out = done.stdout + done.stderr
    assert "1 passed" in out  # the test passed: the run fails on the leak alone
    assert done.returncode == 1, out
    [line] = [line for line in out.splitlines() if mark in line]
    assert re.match(r"\s*pid \d+ \(PORTBOOK_TEST_SESSION=[0-9a-f]{6}\): .*time.sleep", line)
    assert _probe_alive(mark) == []  # reported, then killed


LEAKS_A_DEMO = """
from tests.integration.conftest import make_demo

def test_starts_a_demo_and_forgets_it():
    make_demo()
"""


def test_a_forgotten_demo_fails_the_run_and_its_supervisord_and_folder_are_removed(
    tmp_path: Path,
) -> None:
    done = run_pytest(tmp_path / "inner", LEAKS_A_DEMO)
    out = done.stdout + done.stderr
    assert done.returncode == 1, out
    tag = re.search(r"LEAK: this test run \(tag ([0-9a-f]{6})\)", out)
    assert tag is not None, out
    session_folder = os.path.join(tempfile.gettempdir(), f"pbt-{tag[1]}")
    assert re.search(r"pid \d+ .*supervisord -c " + re.escape(session_folder), out), out
    assert f"folder {session_folder}/pb-" in out
    assert _running_in(session_folder) == []
    assert not os.path.lexists(session_folder)


CLEAN = """
import subprocess, sys

def test_starts_a_process_and_stops_it():
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(300)"])
    proc.kill()
    proc.wait()
"""


def test_the_check_passes_a_clean_run_and_ignores_what_other_runs_left_running(
    tmp_path: Path, demo: DemoSystem, mark: str
) -> None:
    other_root = tempfile.mkdtemp(prefix="pb-")  # like another engineer's demo copy
    env = {**os.environ, "PORTBOOK_TEST_SESSION": "0ther0"}
    sleeper = f'{sys.executable} -c "import time; time.sleep(300)" {mark}'
    subprocess.run(["sh", "-c", sleeper + " >/dev/null 2>&1 &"], cwd=other_root, env=env)
    try:
        assert _probe_alive(mark) and demo.states()  # both running while the inner run ends
        done = run_pytest(tmp_path / "inner", CLEAN)
        out = done.stdout + done.stderr
        assert done.returncode == 0, out
        assert "LEAK" not in out
        assert _probe_alive(mark) and {s for s, _ in demo.states().values()} == {"RUNNING"}
    finally:
        os.rmdir(other_root)


@pytest.mark.skipif(skip_reason() is not None, reason=skip_reason() or "")
def test_a_process_started_over_ssh_in_one_of_the_runs_hosts_counts_as_the_runs() -> None:
    session = leakcheck.current()
    assert session is not None
    with ssh_host() as host:
        assert host.netns.startswith(session.netns_prefix)
        assert host.folder.parent == session.folder
        with host.login() as target:
            env = {"PATH": "/usr/bin:/bin"}  # no marker: sshd does not pass ours on
            pid = target.spawn(["sleep", "300"], "/", env, str(host.folder / "sleep.log"))
        found = {proc.pid: why for proc, why in leakcheck.find(session).processes}
        assert found.get(pid) == "in the run's network namespace"
    assert pid not in {proc.pid for proc, _ in leakcheck.find(session).processes}


@pytest.mark.skipif(skip_reason() is not None, reason=skip_reason() or "")
def test_a_host_whose_namespace_name_is_taken_is_refused_and_the_existing_one_left_alone(
    tmp_path: Path,
) -> None:
    with ssh_host() as host:
        assert host.sshd is not None
        with pytest.raises(RuntimeError, match="already exists"):
            create_host(netns=host.netns, folder=tmp_path / "second")
        assert host.sshd.poll() is None and host.sshd.pid in netns_pids(host.netns)
        assert not (tmp_path / "second").exists()
        with host.login() as target:
            assert target.run(["true"]).code == 0
