"""The fleet flags through the real CLI, without SSH hosts: refusals and unreachable hosts."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]


def portbook(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(REPO / "lib"), str(REPO)]))
    argv = [sys.executable, "-m", "playbooks", *args]
    return subprocess.run(argv, capture_output=True, text=True, env=env, cwd=cwd, timeout=60)


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def inventory(tmp_path: Path) -> Path:
    path = tmp_path / "hosts.yaml"
    path.write_text(
        "defaults: {root: /srv/recio}\n"
        "hosts:\n"
        f"  ghost-1: {{address: 127.0.0.1, port: {closed_port()}}}\n"
        f"  ghost-2: {{address: 127.0.0.1, port: {closed_port()}}}\n"
        "groups:\n  ghosts: [ghost-1, ghost-2]\n"
    )
    return path


def test_portbook_dash_h_selects_hosts_like_the_hosts_flag(tmp_path: Path) -> None:
    path = inventory(tmp_path)
    done = portbook("-H", "ghosts", "-I", str(path), "supervisor.status", "--json", cwd=tmp_path)
    assert done.returncode == 1, done.stderr
    doc = json.loads(done.stdout)
    assert [(h["host"], h["result"]) for h in doc["hosts"]] == [
        ("ghost-1", "unreachable"),
        ("ghost-2", "unreachable"),
    ]


def test_unreachable_hosts_are_found_before_any_host_changes(tmp_path: Path) -> None:
    path = inventory(tmp_path)
    argv = ["service.add", "--name", "x_svc", "--hosts", "ghosts", "-i", str(path)]
    done = portbook(*argv, cwd=tmp_path)
    assert done.returncode == 1
    assert "ghost-1 | " in done.stdout and "unreachable" in done.stdout
    rows = [line.split() for line in done.stderr.splitlines()]
    assert rows[2][:8] == ["ghost-1", "unreachable", "0", "0", "0", "1", "0", "1"]
    assert rows[3][:2] == ["ghost-2", "unreachable"]
    assert "preflight: 2 host(s) cannot run it (--max-fail 0); nothing changed" in done.stderr


def test_bad_fleet_input_is_refused_in_one_line_with_exit_2(tmp_path: Path) -> None:
    path = inventory(tmp_path)
    cases = {
        ("--hosts", "nobody"): "no host or group named 'nobody'",
        ("--hosts", "ghosts", "--serial", "0"): "--serial must be at least 1",
        ("--hosts", "ghosts", "--max-fail", "-1"): "--max-fail must be 0 or more",
    }
    for flags, message in cases.items():
        done = portbook("service.add", "--name", "x_svc", "-i", str(path), *flags, cwd=tmp_path)
        assert done.returncode == 2, (flags, done.stderr)
        assert message in done.stderr and len(done.stderr.strip().splitlines()) == 1
        assert done.stdout == ""
    missing = portbook(
        "service.list", "--hosts", "all", "-i", str(tmp_path / "no.yaml"), cwd=tmp_path
    )
    assert missing.returncode == 2 and "no.yaml" in missing.stderr
