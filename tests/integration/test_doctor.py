"""doctor on copies of the demo: each kind of finding seeded, found at its file:line (or pid).

Static findings are seeded into fresh, not-running copies (a file copy each, so fast); live
ones into one running demo shared by the module, restored after each test. Expected lines
are looked up in the seeded files themselves, never taken from doctor.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from invoke import Config, Context, Exit
from portbook.config import Settings, load_settings
from portbook.doctor.findings import Finding
from portbook.doctor.run import run_checks
from portbook.registry import fallback, manifest
from portbook.sim.demo import install_demo
from portbook.target import LocalTarget

from playbooks import doctor as task_module

from .conftest import DemoSystem, foreign_server, make_demo, teardown_demo, wait_listening

pytestmark = pytest.mark.integration

MANIFEST = "backend/core/config/MASTER_PORT_MANIFEST.json"
FALLBACK = "backend/core/port_config.py"
CONF = "backend/supervisord.conf"
RESTART = "scripts/MASTER_RESTART.sh"
SECRET = "demo-not-a-real-password"


# --- helpers ------------------------------------------------------------------------------


def line_of(root: str, rel: str, needle: str) -> str:
    """``rel:N`` where N is the 1-based line of the first line containing ``needle``."""
    lines = Path(root, rel).read_text().splitlines()
    return f"{rel}:{next(i for i, line in enumerate(lines, 1) if needle in line)}"


def edit(root: str, rel: str, old: str, new: str) -> None:
    """Replace ``old`` (which must be there) by ``new`` in a file of the copy."""
    path = Path(root, rel)
    text = path.read_text()
    assert old in text, f"{old!r} not in {rel}"
    path.write_text(text.replace(old, new, 1))


def append(root: str, rel: str, text: str) -> None:
    """Add ``text`` at the end of a file of the copy (created with its folders if missing)."""
    path = Path(root, rel)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as handle:
        handle.write(text)


def set_port(root: str, name: str, port: int) -> None:
    """Give ``name`` another port in the manifest and DEFAULT_PORTS alike."""
    for rel, module in ((MANIFEST, manifest), (FALLBACK, fallback)):
        path = Path(root, rel)
        if module is manifest:
            path.write_text(manifest.set_field(path.read_text(), str(path), name, "port", port))
        else:
            path.write_text(fallback.set_port(path.read_text(), str(path), name, port))


def settings_of(root: str) -> Settings:
    return load_settings(None, root, Path(root, "portbook.yaml").read_text())


def static(root: str) -> list[Finding]:
    """Every static finding on the copy at ``root``."""
    return run_checks(LocalTarget(), settings_of(root), live=False).findings


def pairs(found: list[Finding]) -> set[tuple[str, str]]:
    return {(f.check, f.place) for f in found}


def dead_pid() -> int:
    """The pid of a process that has exited (and been reaped)."""
    done = subprocess.run(["true"], check=True)
    del done
    proc = subprocess.Popen(["true"])
    proc.wait()
    return proc.pid


@pytest.fixture
def copy(tmp_path: Path) -> str:
    """A fresh, not-running copy of the demo, with ranges that hold its own ports."""
    root = str(tmp_path / "recio")
    install_demo(root)
    Path(root, "portbook.yaml").write_text(
        "ranges:\n  core: [3000, 8100]\n  watchdog: [3000, 8100]\n"
    )
    return root


# --- a clean copy -------------------------------------------------------------------------


def test_the_shipped_demo_has_only_its_plaintext_password_statically(copy: str) -> None:
    found = static(copy)
    assert pairs(found) == {("secrets.plaintext", line_of(copy, CONF, "DB_PASSWORD"))}
    assert found[0].severity == "warning" and "DB_PASSWORD" in found[0].message
    assert SECRET not in repr(found)


# --- static seeds: (seed, check, place) ---------------------------------------------------

Seed = Callable[[str], None]


def _drop_db_poller_section(root: str) -> None:
    text = Path(root, CONF).read_text()
    Path(root, CONF).write_text(text[: text.index("[program:db_poller]")])


def _shell_seed(root: str) -> None:
    append(root, RESTART, "PORTS=(3000 4000)\nlsof -i :8001 || true\n")


def _js_seed(root: str) -> None:
    append(
        root,
        "frontend/src/api.js",
        "const api = { port: 3000 };\nfetch('http://localhost:8002/x');\n",
    )


def _client_seed(root: str) -> None:
    append(
        root,
        "backend/core/client.py",
        'import requests\n\nrequests.get("http://localhost:8001/health")\n',
    )


def _no_get_port(root: str) -> None:
    Path(root, "backend/api/trade_executor.py").write_text(
        "import os\n\nimport uvicorn\n\nfrom backend.core.health import health_app\n\n"
        'app = health_app("trade_executor")\nPORT = int(os.environ.get("PORT", "0"))\n'
        "uvicorn.run(app, port=PORT)\n"
    )


def _non_executable_command(root: str) -> None:
    append(root, "bin/run.sh", "#!/bin/sh\nexec true\n")
    os.chmod(Path(root, "bin/run.sh"), 0o644)
    edit(
        root,
        CONF,
        "command=%(here)s/../venv/bin/python backend/api/db_poller.py",
        "command=bin/run.sh",
    )


SEEDS: dict[str, tuple[Seed, str, Callable[[str], str]]] = {
    "port mismatch": (
        lambda r: edit(r, FALLBACK, '"db_poller": 8003', '"db_poller": 8013'),
        "agreement.port-mismatch",
        lambda r: line_of(r, FALLBACK, '"db_poller"'),
    ),
    "missing from DEFAULT_PORTS": (
        lambda r: edit(r, FALLBACK, '    "db_poller": 8003,\n', ""),
        "agreement.missing-fallback",
        lambda r: line_of(r, MANIFEST, '"db_poller"'),
    ),
    "only in DEFAULT_PORTS": (
        lambda r: edit(r, FALLBACK, '"db_poller": 8003,', '"db_poller": 8003,\n    "ghost": 8050,'),
        "agreement.missing-manifest",
        lambda r: line_of(r, FALLBACK, '"ghost"'),
    ),
    "no program section": (
        _drop_db_poller_section,
        "agreement.missing-program",
        lambda r: line_of(r, MANIFEST, '"db_poller"'),
    ),
    "program without manifest entry": (
        lambda r: append(r, CONF, "\n[program:extra]\ncommand=/bin/sleep 100\n"),
        "agreement.missing-manifest",
        lambda r: line_of(r, CONF, "[program:extra]"),
    ),
    "two services on one port": (
        lambda r: set_port(r, "btc_price_watchdog", 8003),
        "agreement.duplicate-port",
        lambda r: line_of(r, MANIFEST, '"db_poller"'),
    ),
    "port in the program's command": (
        lambda r: edit(r, CONF, "backend/api/main_app.py", "backend/api/main_app.py --port 9100"),
        "agreement.program-port",
        lambda r: line_of(r, CONF, "--port 9100"),
    ),
    "uvicorn port literal": (
        lambda r: edit(r, "backend/api/db_poller.py", "port=SERVICE_PORT", "port=8003"),
        "hardcoded.python",
        lambda r: line_of(r, "backend/api/db_poller.py", "port=8003"),
    ),
    "request to localhost": (
        _client_seed,
        "hardcoded.python",
        lambda r: line_of(r, "backend/core/client.py", "localhost:8001"),
    ),
    "shell port list": (_shell_seed, "hardcoded.shell", lambda r: line_of(r, RESTART, "PORTS=(")),
    "lsof in a script": (_shell_seed, "hardcoded.shell", lambda r: line_of(r, RESTART, "lsof")),
    "js port key": (_js_seed, "hardcoded.js", lambda r: line_of(r, "frontend/src/api.js", "port:")),
    "js url": (_js_seed, "hardcoded.js", lambda r: line_of(r, "frontend/src/api.js", "fetch")),
    "service never calls get_port": (
        _no_get_port,
        "code.no-get-port",
        lambda r: "backend/api/trade_executor.py",
    ),
    "get_port of an unknown name": (
        lambda r: append(r, "backend/api/main_app.py", 'OTHER = get_port("ghost")\n'),
        "code.unknown-service",
        lambda r: line_of(r, "backend/api/main_app.py", '"ghost"'),
    ),
    "syntax error": (
        lambda r: append(r, "backend/api/db_poller.py", "def broken(:\n"),
        "code.syntax",
        lambda r: line_of(r, "backend/api/db_poller.py", "def broken"),
    ),
    "port on the avoid list": (
        lambda r: set_port(r, "db_poller", 9000),
        "policy.avoid",
        lambda r: line_of(r, MANIFEST, '"db_poller"'),
    ),
    "privileged port": (
        lambda r: set_port(r, "db_poller", 80),
        "policy.privileged",
        lambda r: line_of(r, MANIFEST, '"db_poller"'),
    ),
    "port outside its range": (
        lambda r: set_port(r, "db_poller", 8200),
        "policy.range",
        lambda r: line_of(r, MANIFEST, '"db_poller"'),
    ),
    "value supervisor rejects": (
        lambda r: edit(r, CONF, "[program:db_poller]\n", "[program:db_poller]\nstartsecs=soon\n"),
        "supervisor.parse",
        lambda r: line_of(r, CONF, "[program:db_poller]"),
    ),
    "line supervisor cannot place": (
        lambda r: append(r, CONF, "this is not an option\n"),
        "supervisor.parse",
        lambda r: line_of(r, CONF, "this is not an option"),
    ),
    "log in /tmp": (
        lambda r: edit(r, CONF, "stderr_logfile=logs/db_poller", "stderr_logfile=/tmp/db_poller"),
        "supervisor.tmp-log",
        lambda r: line_of(r, CONF, "/tmp/db_poller"),
    ),
    "log outside logs/": (
        lambda r: edit(
            r, CONF, "stdout_logfile=logs/db_poller", "stdout_logfile=backend/db_poller"
        ),
        "supervisor.log-path",
        lambda r: line_of(r, CONF, "stdout_logfile=backend/db_poller"),
    ),
    "log folder missing": (
        lambda r: edit(
            r, CONF, "stdout_logfile=logs/db_poller", "stdout_logfile=logs/gone/db_poller"
        ),
        "supervisor.log-dir",
        lambda r: line_of(r, CONF, "logs/gone/"),
    ),
    "command missing": (
        lambda r: edit(
            r,
            CONF,
            "venv/bin/python backend/api/db_poller.py",
            "venv/bin/python3.99 backend/api/db_poller.py",
        ),
        "supervisor.command",
        lambda r: line_of(r, CONF, "python3.99"),
    ),
    "command not executable": (
        _non_executable_command,
        "supervisor.command",
        lambda r: line_of(r, CONF, "command=bin/run.sh"),
    ),
    "script missing": (
        lambda r: edit(r, CONF, "backend/api/db_poller.py", "backend/api/db_pollr.py"),
        "supervisor.script-missing",
        lambda r: line_of(r, CONF, "db_pollr.py"),
    ),
    "directory missing": (
        lambda r: edit(
            r,
            CONF,
            "directory=%(here)s/..\nautostart=true\nautorestart=true\nstderr_logfile=logs/db_poller",
            "directory=%(here)s/../nowhere\nautostart=true\nautorestart=true\nstderr_logfile=logs/db_poller",
        ),
        "supervisor.directory",
        lambda r: line_of(r, CONF, "nowhere"),
    ),
    "no PYTHONPATH": (
        lambda r: edit(
            r,
            CONF,
            'stdout_logfile=logs/db_poller.out.log\nenvironment=PYTHONPATH="."',
            "stdout_logfile=logs/db_poller.out.log",
        ),
        "supervisor.pythonpath",
        lambda r: line_of(r, CONF, "[program:db_poller]"),
    ),
    "import without backend.": (
        lambda r: edit(
            r, "backend/api/db_poller.py", "from backend.core.health", "from core.health"
        ),
        "imports.no-backend-prefix",
        lambda r: line_of(r, "backend/api/db_poller.py", "from core.health"),
    ),
    "sys.path hack in a library": (
        lambda r: append(
            r,
            "backend/core/health.py",
            "\nimport os, sys\nsys.path.append(os.path.dirname(__file__))\n",
        ),
        "imports.sys-path-hack",
        lambda r: line_of(r, "backend/core/health.py", "sys.path.append"),
    ),
}


@pytest.mark.parametrize("name", list(SEEDS))
def test_a_seeded_problem_is_reported_at_its_place(copy: str, name: str) -> None:
    seed, check, place = SEEDS[name]
    seed(copy)
    found = static(copy)
    assert (check, place(copy)) in pairs(found), [f"{f.check} {f.place}" for f in found]
    assert SECRET not in repr(found)


def test_a_seeded_error_fails_the_task_and_its_json_names_it(copy: str) -> None:
    SEEDS["port mismatch"][0](copy)
    code, doc = task(copy, "--json", only="agreement.port-mismatch,secrets")
    assert code == 1 and doc["exit_code"] == 1 and doc["ok"] is False
    assert [(f["check"], f["place"], f["fixable"]) for f in doc["findings"]] == [
        ("agreement.port-mismatch", line_of(copy, FALLBACK, '"db_poller"'), True),
        ("secrets.plaintext", line_of(copy, CONF, "DB_PASSWORD"), False),
    ]


def test_only_the_key_of_a_secret_is_shown(copy: str) -> None:
    code, doc = task(copy, "--json", only="secrets")
    assert code == 0 and [f["message"] for f in doc["findings"]] == [
        "[program:main_app] environment= holds DB_PASSWORD in plain text"
    ]
    assert SECRET not in json.dumps(doc)


# --- leftovers (on a copy whose supervisord is not running) -----------------------------


def test_an_interrupted_runs_journal_points_to_rollback(copy: str) -> None:
    journal = {
        "procedure": "add",
        "spec": {},
        "pid": dead_pid(),
        "started": time.time(),
        "entries": [],
    }
    append(copy, ".portbook/journal.json", json.dumps(journal))
    found = run_checks(LocalTarget(), settings_of(copy), ["leftovers"]).findings
    assert pairs(found) == {("leftovers.journal", ".portbook/journal.json")}
    assert "invoke service.rollback" in found[0].fix


def test_stale_lock_socket_and_pidfile_are_found(copy: str) -> None:
    append(copy, ".portbook/lock", f"{dead_pid()} 2026-01-01T00:00:00\n")
    append(copy, ".run/supervisord.pid", f"{dead_pid()}\n")
    with socket.socket(socket.AF_UNIX) as sock:  # a real socket file nobody listens on
        sock.bind(str(Path(copy, ".run/supervisor.sock")))
    found = run_checks(LocalTarget(), settings_of(copy), ["leftovers", "supervisor.socket"])
    assert pairs(found.findings) == {
        ("leftovers.stale-lock", ".portbook/lock"),
        ("leftovers.stale-socket", ".run/supervisor.sock"),
        ("leftovers.stale-pidfile", ".run/supervisord.pid"),
        ("supervisor.socket", ".run/supervisor.sock"),
    }


# --- live: one running demo for the module ----------------------------------------------


@pytest.fixture(scope="module")
def running() -> Iterator[DemoSystem]:
    """The demo running under its own supervisord; ranges widened to hold its ports."""
    system = make_demo()
    try:
        Path(system.root, "portbook.yaml").write_text(
            f"ranges:\n  core: [{system.base}, {system.base + 199}]\n"
            f"  watchdog: [{system.base}, {system.base + 199}]\nsmoke_timeout: 20\n"
        )
        yield system
    finally:
        teardown_demo(system)


@contextlib.contextmanager
def restored(system: DemoSystem, *rels: str) -> Iterator[None]:
    """Put the files back afterwards, and db_poller running and owning its port."""
    saved = {rel: Path(system.root, rel).read_bytes() for rel in rels}
    try:
        yield
    finally:
        for rel, data in saved.items():
            Path(system.root, rel).write_bytes(data)
        if system.states()["db_poller"][0] != "RUNNING":
            system.target.rpc(sock(system), "supervisor.startProcess", "db_poller", True)
        wait_listening(system.port("db_poller"))


def sock(system: DemoSystem) -> str:
    return os.path.join(system.root, ".run", "supervisor.sock")


def live(system: DemoSystem) -> list[Finding]:
    return run_checks(system.target, system.settings).findings


def test_a_clean_running_demo_gives_no_finding_and_exit_0(running: DemoSystem) -> None:
    with restored(running, CONF):
        edit(running.root, CONF, f',DB_PASSWORD="{SECRET}"', "")
        assert live(running) == []
        code, doc = task(running.root, "--json")
        assert (code, doc["exit_code"], doc["findings"]) == (0, 0, [])
        assert doc["services"] == 5 and "live.foreign-holder" in doc["checked"]


def test_a_foreign_process_on_a_stopped_services_port_is_named_by_pid(
    running: DemoSystem,
) -> None:
    with restored(running):
        running.target.rpc(sock(running), "supervisor.stopProcess", "db_poller", True)
        with foreign_server(running.port("db_poller")) as proc:
            found = [f for f in live(running) if f.check != "secrets.plaintext"]
            assert pairs(found) == {
                ("live.not-running", "db_poller"),
                ("live.foreign-holder", f"pid {proc.pid}"),
            }
            holder = next(f for f in found if f.check == "live.foreign-holder")
            assert f"port {running.port('db_poller')} (db_poller)" in holder.message
            assert "http.server" in holder.message


def test_a_manual_run_left_holding_the_port_is_a_stray_of_the_system(running: DemoSystem) -> None:
    with restored(running):
        running.target.rpc(sock(running), "supervisor.stopProcess", "db_poller", True)
        env = {**os.environ, "PYTHONPATH": running.root}
        env = {k: v for k, v in env.items() if not k.startswith("SUPERVISOR_")}
        proc = subprocess.Popen(  # seed Step 5: "test the service manually", never stopped
            [sys.executable, "backend/api/db_poller.py"],
            cwd=running.root,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        try:
            wait_listening(running.port("db_poller"))
            found = pairs(live(running))
            assert ("live.stray", f"pid {proc.pid}") in found
            assert ("live.not-running", "db_poller") in found
        finally:
            proc.kill()
            proc.wait(timeout=10)


def test_a_port_changed_without_a_restart_is_not_listening(running: DemoSystem) -> None:
    new = running.base + 150
    with restored(running, MANIFEST, FALLBACK):
        set_port(running.root, "db_poller", new)
        found = [f for f in live(running) if f.check == "agreement.not-listening"]
        assert [f.place for f in found] == ["db_poller"]
        assert found[0].message.endswith(
            f"does not listen on its port {new}; it listens on {running.port('db_poller')}"
        )


# --- the task, in-process (it is registered in the namespace separately) --------------


def task(root: str, *flags: str, only: str | None = None) -> tuple[int, dict[str, Any]]:
    """Run ``doctor --root ROOT FLAGS`` in-process; its exit code and JSON object."""
    import io
    from contextlib import redirect_stdout

    ctx = Context(Config(overrides={"portbook": {}}))
    out, code = io.StringIO(), 0
    kwargs = {re.sub("^--", "", f).replace("-", "_"): True for f in flags}
    with redirect_stdout(out):
        try:
            task_module.doctor(ctx, root=root, only=only, **kwargs)
        except Exit as exc:
            code = exc.code
    doc: dict[str, Any] = json.loads(out.getvalue())
    return code, doc
