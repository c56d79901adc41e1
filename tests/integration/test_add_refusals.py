"""Bad input is refused with exit 2, a one-line message, and nothing changed anywhere."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from .conftest import DemoSystem, make_demo, teardown_demo

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def shared_demo() -> Iterator[DemoSystem]:
    """One running demo for all refusal cases: none of them may change it."""
    system = make_demo()
    try:
        yield system
    finally:
        teardown_demo(system)


BAD_NAMES = [
    "Risk",
    "risk monitor",
    "risk[1]",
    "risk;rm",
    "risk\nmonitor",
    "$(touch /tmp/pb)",
    "1risk",
    "",
    "a" * 65,
    "risk-monitor",
    "db_poller",
]


def _refused(demo: DemoSystem, *args: str, expect: str) -> None:
    files, states = demo.files(), demo.states()
    result = demo.cli("service.add", *args, "--json")
    assert result.returncode == 2, result.stdout + result.stderr
    report = json.loads(result.stdout)
    assert report["ok"] is False
    assert "\n" not in report["error"]
    assert expect in report["error"], report["error"]
    assert demo.files() == files
    assert demo.states() == states
    assert not Path(demo.root, ".portbook").exists()


@pytest.mark.parametrize("name", BAD_NAMES)
def test_bad_name_is_refused(shared_demo: DemoSystem, name: str) -> None:
    expect = "already exists" if name == "db_poller" else "invalid service name"
    _refused(shared_demo, "--name", name, expect=expect)


def test_port_in_manifest_is_refused_naming_its_owner(shared_demo: DemoSystem) -> None:
    port = shared_demo.port("db_poller")
    _refused(
        shared_demo,
        "--name",
        "risk",
        "--port",
        str(port),
        expect=f"{port} is db_poller's in the manifest",
    )


def test_port_held_by_a_foreign_process_is_refused_naming_the_pid(shared_demo: DemoSystem) -> None:
    port = shared_demo.base + 150
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", port))
        sock.listen()
        _refused(
            shared_demo, "--name", "risk", "--port", str(port), expect=f"{port} is held by pid"
        )


@pytest.mark.parametrize(
    ("args", "expect"),
    [
        (["--port", "80"], "outside 1024-65535"),
        (["--port", "70000"], "outside 1024-65535"),
        (["--port", "abc"], "--port must be an integer"),
        (["--port", "5000"], "avoid list"),
        (["--category", "batch"], "invalid category"),
        (["--script", "../evil.py"], "--script must be a path inside the root"),
        (["--script", "/etc/evil.py"], "--script must be a path inside the root"),
        (["--script", "x.py", "--command", "true"], "not both"),
        (["--description", "two\nlines"], "one line"),
        (["--restart", "sometimes"], "--restart must be"),
    ],
)
def test_bad_option_is_refused(shared_demo: DemoSystem, args: list[str], expect: str) -> None:
    _refused(shared_demo, "--name", "risk", *args, expect=expect)


def test_hardcoded_port_in_script_is_refused_with_file_and_line(shared_demo: DemoSystem) -> None:
    script = Path(shared_demo.root, "backend/api/risk.py")
    script.write_text(
        "import uvicorn\n\napp = None\n\nif __name__ == '__main__':\n"
        "    uvicorn.run(app, host='127.0.0.1', port=8123)\n"
    )
    try:
        _refused(shared_demo, "--name", "risk", expect="risk.py:6: hardcoded port 8123")
    finally:
        script.unlink()


def test_invalid_manifest_json_is_refused_with_line_and_column(shared_demo: DemoSystem) -> None:
    path = Path(shared_demo.root, "backend/core/config/MASTER_PORT_MANIFEST.json")
    good = path.read_bytes()
    path.write_bytes(good.replace(b'"port": ', b'"port" ', 1))
    try:
        _refused(shared_demo, "--name", "risk", expect="MASTER_PORT_MANIFEST.json:9:")
    finally:
        path.write_bytes(good)


def test_non_literal_default_ports_is_refused_with_line(shared_demo: DemoSystem) -> None:
    path = Path(shared_demo.root, "backend/core/port_config.py")
    good = path.read_bytes()
    path.write_bytes(
        good.replace(b"DEFAULT_PORTS = {", b"DEFAULT_PORTS = dict(**{", 1).replace(
            b'"db_poller": 8003,\n}'.replace(b"8003", str(shared_demo.port("db_poller")).encode()),
            b'"db_poller": 1,\n})',
        )
    )
    try:
        _refused(shared_demo, "--name", "risk", expect="port_config.py:")
    finally:
        path.write_bytes(good)


def test_conf_supervisor_rejects_is_refused(shared_demo: DemoSystem) -> None:
    path = Path(shared_demo.root, "backend/supervisord.conf")
    good = path.read_bytes()
    path.write_bytes(good + b"\n[program:broken]\ncommand=/bin/true\nnumprocs=2\n")
    try:
        _refused(shared_demo, "--name", "risk", expect="supervisord.conf")
    finally:
        path.write_bytes(good)
