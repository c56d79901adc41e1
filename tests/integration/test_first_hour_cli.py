"""The operator's first hour, through the real CLI: pipes closed early, one-line refusals,
and modify showing ``old -> new`` port."""

from __future__ import annotations

import json
import shlex
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.unit.cli_support import assert_quiet, into_closed_pipe

from .conftest import REPO, DemoSystem, cli_env, make_demo, teardown_demo, wait_listening

pytestmark = pytest.mark.integration

PORTBOOK = [sys.executable, "-m", "playbooks"]
INVOKE = [sys.executable, "-m", "invoke"]
ENTRIES = {"portbook": PORTBOOK, "invoke": INVOKE}
"""Both ways in: the console script (``python -m playbooks``) and ``invoke`` over tasks.py."""

# a foreign server whose command line has newlines, as `python3 -c "$(cat <<EOF ...)"` makes
NEWLINE_SERVER = (
    "import socket, sys, time\n"
    "s = socket.socket()\n"
    "s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)\n"
    "s.bind(('127.0.0.1', int(sys.argv[1])))\n"
    "s.listen()\n"
    "time.sleep(300)\n"
)


@pytest.fixture
def stopped_demo() -> Iterator[DemoSystem]:
    """A demo copy whose supervisord is not started: enough for plans and refusals."""
    system = make_demo(start=False)
    try:
        yield system
    finally:
        teardown_demo(system)


def piped_to_head(argv: list[str], cwd: str) -> subprocess.CompletedProcess[str]:
    """``ARGV | head -1`` in bash with pipefail: the exit code is the command's."""
    command = shlex.join(argv) + " | head -1"
    return subprocess.run(
        ["bash", "-o", "pipefail", "-c", command],
        capture_output=True,
        text=True,
        env=cli_env(),
        cwd=cwd,
        timeout=180,
    )


@pytest.mark.parametrize("entry", ENTRIES)
def test_a_plan_into_a_closed_pipe_exits_0_without_a_traceback(
    stopped_demo: DemoSystem, entry: str
) -> None:
    argv = [*ENTRIES[entry], "service.add", "--name", "x_svc", "--check", "--root"]
    done = into_closed_pipe([*argv, stopped_demo.root])
    assert_quiet(done)
    assert done.returncode == 0, done.stderr


@pytest.mark.parametrize("entry", ENTRIES)
def test_an_add_piped_into_head_finishes_the_add_quietly(demo: DemoSystem, entry: str) -> None:
    name = f"pipe_{entry}"
    argv = [*ENTRIES[entry], "service.add", "--name", name, "--root", demo.root]
    done = piped_to_head(argv, str(REPO))
    assert_quiet(done)
    assert done.returncode == 0, done.stderr
    assert done.stdout.count("\n") == 1 and "doctor-before" in done.stdout
    assert demo.states()[name][0] == "RUNNING"
    assert not Path(demo.root, ".portbook", "journal.json").exists()
    manifest = Path(demo.root, "backend/core/config/MASTER_PORT_MANIFEST.json").read_text()
    assert f'"{name}"' in manifest


@pytest.fixture
def newline_server(stopped_demo: DemoSystem) -> Iterator[int]:
    """A foreign process (cwd /) whose argv holds newlines, listening on a port in range."""
    port = stopped_demo.base + 150
    proc = subprocess.Popen(
        [sys.executable, "-c", NEWLINE_SERVER, str(port)],
        cwd="/",
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        wait_listening(port)
        yield port
    finally:
        proc.kill()
        proc.wait(timeout=10)


@pytest.mark.parametrize("check", [False, True])
def test_a_port_refused_over_a_newline_command_is_named_on_one_line(
    stopped_demo: DemoSystem, newline_server: int, check: bool
) -> None:
    args = ["service.add", "--name", "x_svc", "--port", str(newline_server)]
    done = stopped_demo.cli(*args, *(["--check"] if check else []))
    assert done.returncode == 2, done.stdout + done.stderr
    assert done.stdout == ""
    lines = done.stderr.splitlines()
    assert len(lines) == 1, done.stderr
    assert f"{newline_server} is held by pid " in lines[0]
    assert "-c import socket, sys, time\\ns = socket.socket()\\n" in lines[0]


def test_a_port_refused_over_a_newline_command_is_one_line_in_json(
    stopped_demo: DemoSystem, newline_server: int
) -> None:
    args = ["service.add", "--name", "x_svc", "--port", str(newline_server), "--json"]
    done = stopped_demo.cli(*args)
    assert done.returncode == 2
    assert len(done.stdout.strip().splitlines()) == 1
    error = json.loads(done.stdout)["error"]
    assert "\n" not in error and "import socket, sys, time\\ns = socket.socket()" in error


def test_modify_shows_the_old_port_next_to_the_new_in_plan_steps_and_summary(
    demo: DemoSystem,
) -> None:
    old, new = demo.port("db_poller"), demo.base + 120
    move = f"{old} -> {new}"
    args = ["service.modify", "--name", "db_poller", "--port", str(new)]
    plan = demo.cli(*args, "--check")
    assert plan.returncode == 0, plan.stderr
    lines = plan.stdout.splitlines()
    assert lines[0] == f"plan: modify db_poller (watchdog) on port {move}; nothing changed yet"
    assert f"port: {move}" in lines
    for step in ("manifest", "fallback", "restart"):
        assert move in _line(lines, f"] {step} "), (step, plan.stdout)
    done = demo.cli(*args)
    assert done.returncode == 0, done.stdout + done.stderr
    out = done.stdout.splitlines()
    for step in ("manifest", "fallback", "restart", "verify"):
        assert move in _line(out, f" {step} "), (step, done.stdout)
    assert out[-1].startswith("modify on local: done in ")
    assert out[-1].endswith(f"; port {move}")


def _line(lines: list[str], marker: str) -> str:
    found = [line for line in lines if marker in line]
    assert found, (marker, lines)
    return found[0]
