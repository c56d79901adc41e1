"""service.add beyond the happy path: code fixes, drift, a stopped supervisord, master restart,
conf.d includes, smoke-test failures, secret masking, service.list and the console script."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from portbook.host.probes import owns_port
from portbook.sim.demo import demo_up

from . import oracle
from .conftest import DemoSystem, cli_env, make_demo, teardown_demo

pytestmark = pytest.mark.integration

HARDCODED = """import uvicorn

from backend.core.health import health_app

app = health_app("risk")

if __name__ == "__main__":
    uvicorn.run(app, host="127.0.0.1", port=8123, log_level="warning")
"""


@pytest.fixture
def stopped_demo() -> Iterator[DemoSystem]:
    """A demo copy whose supervisord is not running yet."""
    system = make_demo(start=False)
    try:
        yield system
    finally:
        teardown_demo(system)


def _json(result: subprocess.CompletedProcess[str]) -> dict[str, object]:
    doc = json.loads(result.stdout)
    assert isinstance(doc, dict)
    return doc


def test_fix_code_rewrites_a_hardcoded_port_to_get_port(demo: DemoSystem) -> None:
    script = Path(demo.root, "backend/api/risk.py")
    script.write_text(HARDCODED)
    result = demo.cli("service.add", "--name", "risk", "--fix-code", "--json")
    assert result.returncode == 0, result.stdout + result.stderr
    text = script.read_text()
    assert 'get_port("risk")' in text and "8123" not in text
    state, pid = demo.states()["risk"]
    assert state == "RUNNING" and owns_port(demo.target, pid, demo.base + 100)
    assert oracle.owns(pid, demo.base + 100)


def test_drift_in_another_program_is_refused_and_rolled_back(demo: DemoSystem) -> None:
    conf = Path(demo.root, "backend/supervisord.conf")
    conf.write_text(
        conf.read_text().replace(
            "stdout_logfile=logs/db_poller.out.log", "stdout_logfile=logs/db_poller.log"
        )
    )
    files, states = demo.files(), demo.states()
    result = demo.cli("service.add", "--name", "risk", "--json")
    assert result.returncode == 2, result.stdout
    error = str(_json(result)["error"])
    assert "changed db_poller" in error
    assert demo.files() == files and demo.states() == states


def test_add_starts_supervisord_when_it_is_down(stopped_demo: DemoSystem) -> None:
    result = stopped_demo.cli("service.add", "--name", "risk", "--json")
    assert result.returncode == 0, result.stdout + result.stderr
    states = stopped_demo.states()
    assert {s for s, _ in states.values()} == {"RUNNING"}
    assert owns_port(stopped_demo.target, states["risk"][1], stopped_demo.base + 100)
    assert oracle.owns(states["risk"][1], stopped_demo.base + 100)


def test_restart_master_restarts_every_program_and_the_new_one_runs(demo: DemoSystem) -> None:
    before = demo.states()
    result = demo.cli("service.add", "--name", "risk", "--restart", "master", "--json")
    assert result.returncode == 0, result.stdout + result.stderr
    after = demo.states()
    assert all(after[n][0] == "RUNNING" and after[n][1] != before[n][1] for n in before)
    assert owns_port(demo.target, after["risk"][1], demo.base + 100)
    assert oracle.owns(after["risk"][1], demo.base + 100)


def test_conf_d_include_gets_the_program_in_its_own_file(stopped_demo: DemoSystem) -> None:
    conf = Path(stopped_demo.root, "backend/supervisord.conf")
    original = conf.read_bytes() + b"\n[include]\nfiles = conf.d/*.conf\n"
    conf.write_bytes(original)
    Path(stopped_demo.root, "backend/conf.d").mkdir()
    demo_up(stopped_demo.target, stopped_demo.settings)
    result = stopped_demo.cli("service.add", "--name", "risk", "--json")
    assert result.returncode == 0, result.stdout + result.stderr
    assert conf.read_bytes() == original
    own = Path(stopped_demo.root, "backend/conf.d/risk.conf").read_text()
    assert own.startswith("[program:risk]\n") and "%(here)s/../.." in own
    assert stopped_demo.states()["risk"][0] == "RUNNING"


@pytest.mark.parametrize(
    ("command", "expect"),
    [
        ("python3 -c \"print('boom'); raise SystemExit(3)\"", "exited with code 3"),
        ("python3 -m http.server --bind 127.0.0.1 {other}", "not {port}"),
        (
            'python3 -c "import signal,socket,time; signal.signal(signal.SIGINT, signal.SIG_IGN); '
            "s=socket.socket(); s.bind(('127.0.0.1',{port})); s.listen(); time.sleep(60)\"",
            "still running",
        ),
    ],
    ids=["exits", "wrong-port", "ignores-sigint"],
)
def test_smoke_test_failure_rolls_back_and_names_the_cause(
    demo: DemoSystem, command: str, expect: str
) -> None:
    port, other = demo.base + 100, demo.base + 150
    states = demo.states()
    Path(demo.root, "portbook.yaml").write_text(
        Path(demo.root, "portbook.yaml").read_text() + "stop_timeout: 2\nsmoke_timeout: 5\n"
    )
    files = demo.files()
    cmd = command.format(port=port, other=other)
    result = demo.cli("service.add", "--name", "risk", "--command", cmd, "--json")
    assert result.returncode == 1, result.stdout + result.stderr
    report = _json(result)
    assert expect.format(port=port) in str(report["error"])
    statuses = [s["status"] for s in report["steps"]]  # type: ignore[attr-defined]
    assert statuses[:6] == ["undone", "undone", "undone", "skipped", "undone", "failed"]
    assert demo.files() == files and demo.states() == states
    assert not any(lst.port in (port, other) for lst in demo.target.listeners())
    assert oracle.is_free(port) and oracle.is_free(other)


def test_secrets_in_environment_are_masked_in_check_output(demo: DemoSystem) -> None:
    conf = Path(demo.root, "backend/supervisord.conf")
    conf.write_text(
        conf.read_text().replace(
            'stdout_logfile=logs/db_poller.out.log\nenvironment=PYTHONPATH="."',
            "stdout_logfile=logs/db_poller.out.log\n"
            'environment=PYTHONPATH=".",DB_PASSWORD="s3cret-pw",DSN="postgres://u:pw2@db/x"',
        )
    )
    result = demo.cli("service.add", "--name", "risk", "--check")
    assert result.returncode == 0, result.stderr
    assert "DB_PASSWORD" in result.stdout
    assert "s3cret-pw" not in result.stdout and "pw2" not in result.stdout


def test_service_list_shows_disagreements_and_exits_1(demo: DemoSystem) -> None:
    fallback = Path(demo.root, "backend/core/port_config.py")
    port = demo.port("db_poller")
    fallback.write_text(fallback.read_text().replace(f'"db_poller": {port}', '"db_poller": 8999'))
    result = demo.cli("service.list", "--json")
    assert result.returncode == 1, result.stderr
    rows = {r["name"]: r for r in _json(result)["services"]}  # type: ignore[attr-defined]
    assert rows["db_poller"]["problems"] == [f"DEFAULT_PORTS says 8999, manifest says {port}"]
    assert rows["main_app"]["problems"] == [] and rows["main_app"]["owns_port"] is True
    assert oracle.owns(demo.states()["main_app"][1], demo.port("main_app"))


def test_console_script_runs_the_same_tasks_from_the_system_root(demo: DemoSystem) -> None:
    exe = shutil.which("portbook")
    assert exe, "the portbook console script is not installed (pip install -e .)"
    result = subprocess.run(
        [exe, "service.add", "--name", "risk", "--json"],
        cwd=demo.root,
        capture_output=True,
        text=True,
        timeout=120,
        env=cli_env(),
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert _json(result)["ok"] is True
    assert demo.states()["risk"][0] == "RUNNING"


def test_python_dash_m_portbook_lists_the_tasks() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "playbooks", "--list"],
        capture_output=True,
        text=True,
        env=cli_env(),
        timeout=60,
    )
    assert result.returncode == 0
    assert "service.add" in result.stdout and "service.rollback" in result.stdout
