"""SshTarget's pieces without SSH: the command line, the remote program, its parsers.

The remote program is run here exactly as a host runs it, through a shell, by
handing ``Remote`` an invoke ``Context`` (a Fabric ``Connection`` is one, so
``Remote`` cannot tell the difference).
"""

from __future__ import annotations

import ast
import base64
import json
import os
import shlex
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from importlib import resources
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from portbook.target import LocalTarget
from portbook.target.fake import FakeTarget
from portbook.target.ssh_exec import (
    Remote,
    RemoteError,
    parse_reply,
    stdin_command,
)
from portbook.target.ssh_remote_facts import parse_address, parse_listening

HOSTILE = ["$(touch PWNED)", "`id`", "a b; rm -rf /x", 'it\'s "q" & | > <', "-rf", "new\nline", "ü"]


class LocalChannel:
    """What Remote uses of a paramiko session channel, over a local ``sh -c`` (as sshd runs it)."""

    def __init__(self) -> None:
        self.proc: subprocess.Popen[bytes] | None = None
        self.closed = False

    def settimeout(self, seconds: float | None) -> None:
        pass

    def exec_command(self, command: str) -> None:
        pipe = subprocess.PIPE
        self.proc = subprocess.Popen(["sh", "-c", command], stdin=pipe, stdout=pipe, stderr=pipe)

    def sendall(self, data: bytes) -> None:
        assert self.proc is not None and self.proc.stdin is not None
        self.proc.stdin.write(data)
        self.proc.stdin.flush()

    def makefile(self, mode: str) -> Any:
        assert self.proc is not None
        return self.proc.stdout

    def makefile_stderr(self, mode: str) -> Any:
        assert self.proc is not None
        return self.proc.stderr

    def recv_exit_status(self) -> int:
        assert self.proc is not None
        return self.proc.wait()

    def exit_status_ready(self) -> bool:
        return self.proc is not None and self.proc.poll() is not None

    def get_transport(self) -> Any:
        return SimpleNamespace(is_active=lambda: not self.closed)

    def close(self) -> None:
        self.closed = True
        if self.proc is not None and self.proc.stdin is not None:
            self.proc.stdin.close()
            self.proc.wait(timeout=10)


class LocalConnection:
    """A stand-in for Fabric's Connection: each session is a local shell."""

    def __init__(self) -> None:
        self.channels: list[LocalChannel] = []

    def create_session(self) -> LocalChannel:
        self.channels.append(LocalChannel())
        return self.channels[-1]


@pytest.fixture
def remote() -> Iterator[Remote]:
    """The remote program, served by a local shell as sshd would run it."""
    served = Remote(LocalConnection(), sys.executable, lambda command: None)
    yield served
    served.close()


@pytest.fixture
def listening() -> Iterator[int]:
    """A port this test process listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield sock.getsockname()[1]


@pytest.mark.parametrize(
    "name", ["ssh_remote.py", "ssh_remote_facts.py", "ssh_remote_files.py", "ssh_remote_spawn.py"]
)
def test_the_remote_program_is_python_3_7_and_imports_nothing_from_portbook(name: str) -> None:
    source = resources.files("portbook.target").joinpath(name).read_text()
    tree = ast.parse(source, feature_version=(3, 7))
    imported = [
        node.module or "" if isinstance(node, ast.ImportFrom) else alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.Import | ast.ImportFrom)
        for alias in node.names
    ]
    assert not [m for m in imported if m.startswith(("portbook", "."))]
    assert "psutil" not in imported  # optional: imported by name at run time only


@pytest.mark.parametrize("value", HOSTILE)
def test_every_value_reaches_the_remote_shell_quoted(value: str) -> None:
    request = {"op": "run", "argv": [value, "x"], "cwd": value, "env": {"K": value}}
    boot = shlex.split(stdin_command(f"/{value}", request, 123))
    assert boot[:3] == ["exec", f"/{value}", "-c"] and json.loads(boot[4]) == request


def test_hostile_arguments_run_literally_through_a_real_shell(
    remote: Remote, tmp_path: Path
) -> None:
    request = {"argv": ["printf", "%s|", *HOSTILE], "cwd": str(tmp_path), "timeout": 10}
    done = remote.call("run", request, 10)
    assert done["code"] == 0 and done["stdout"] == "".join(f"{v}|" for v in HOSTILE)
    assert not list(tmp_path.iterdir()) and not Path("PWNED").exists()


def test_remote_facts_name_the_real_interpreter(remote: Remote) -> None:
    facts = remote.call("facts", {})
    assert os.path.samefile(facts["python"], sys.executable)
    assert facts["uid"] == os.getuid() and facts["psutil"] is True


@pytest.mark.parametrize("use_psutil", [True, False], ids=["psutil", "proc"])
def test_remote_probes_agree_with_the_local_target(
    remote: Remote, listening: int, use_psutil: bool
) -> None:
    remote.use_psutil = use_psutil
    local = LocalTarget()
    mine = os.getpid()
    rows = remote.call("listeners", {"pids": [mine]})
    assert [listening, mine, "127.0.0.1"] in rows
    everyone = remote.call("listeners", {"pids": None})
    assert [listening, mine, "127.0.0.1"] in everyone
    info = remote.call("process", {"pid": mine})
    expected = local.process(mine)
    assert expected is not None
    assert (info["ppid"], tuple(info["cmdline"]), info["cwd"], info["user"]) == (
        expected.ppid,
        expected.cmdline,
        expected.cwd,
        expected.user,
    )
    assert abs(info["started"] - expected.started) < 0.05
    assert remote.call("environ_of", {"pid": mine}) == local.environ_of(mine)
    assert remote.call("process", {"pid": 2**22 + 1}) is None
    assert mine in remote.call("own_pids", {})
    assert mine in {p["pid"] for p in remote.call("all_processes", {})}


def test_spawned_process_gets_its_own_session_and_its_exit_code_is_recorded(
    remote: Remote, tmp_path: Path
) -> None:
    log = tmp_path / "out.log"
    request: dict[str, object] = {"argv": ["sh", "-c", "echo $X; exit 7"], "cwd": str(tmp_path)}
    request.update(env={"X": "$(nope)", "PATH": os.environ["PATH"]}, log=str(log), user=None)
    started = remote.call("spawn", request)
    query = {"pid": started["pid"], "dir": started["dir"], "waiter": started["waiter"]}
    deadline = time.monotonic() + 10
    code = remote.call("exit_code", query)
    while code is None and time.monotonic() < deadline:
        time.sleep(0.05)
        code = remote.call("exit_code", query)
    assert code == 7 and log.read_text() == "$(nope)\n"
    assert not Path(started["dir"]).exists()


def test_a_signalled_spawn_reports_minus_the_signal(remote: Remote, tmp_path: Path) -> None:
    request = {"argv": ["sleep", "30"], "cwd": "/", "env": {}, "log": str(tmp_path / "l")}
    started = remote.call("spawn", request)
    pid = started["pid"]
    assert os.getsid(pid) == pid  # its own session, as locally
    assert remote.call("exit_code", {"pid": pid, "dir": started["dir"]}) is None
    remote.call("signal", {"pid": pid, "signum": int(signal.SIGTERM)})
    query = {"pid": pid, "dir": started["dir"], "waiter": started["waiter"]}
    deadline = time.monotonic() + 10
    while (code := remote.call("exit_code", query)) is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert code == -signal.SIGTERM


def test_remote_errors_come_back_as_a_kind_and_one_line(remote: Remote) -> None:
    with pytest.raises(RemoteError) as caught:
        remote.call("run", {"argv": ["/no/such/program"], "timeout": 5}, 5)
    assert (caught.value.kind, caught.value.text) == ("os", "No such file or directory")
    with pytest.raises(RemoteError) as caught:
        remote.call("run", {"argv": ["sleep", "5"], "timeout": 0.2}, 1)
    assert caught.value.kind == "timeout"
    with pytest.raises(RemoteError) as caught:
        remote.call("rpc", {"socket": "/no/such.sock", "body": "", "timeout": 1})
    assert caught.value.kind == "connect"


def test_a_missing_interpreter_is_named() -> None:
    with pytest.raises(RemoteError, match="/no/python3 not found on the host"):
        Remote(LocalConnection(), "/no/python3", lambda command: None).call("facts", {})


def test_parse_reply_takes_the_last_json_line_and_ignores_rc_noise() -> None:
    assert parse_reply('motd\n{"ok": [1, 2]}\n', "", 0, "python3") == [1, 2]
    with pytest.raises(RemoteError, match="Traceback tail"):
        parse_reply("", "Traceback\nTraceback tail\n", 1, "python3")


PROC_NET_TCP = """\
  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 0100007F:1F41 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 4242 1
   1: 0100007F:1F41 0100007F:9C40 01 00000000:00000000 00:00000000 00000000     0        0 4343 1
   2: 00000000:0016 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 4444 1
"""

PROC_NET_TCP6 = (
    "  sl  local_address                         remote_address                        st ...\n"
    "   0: 00000000000000000000000001000000:1F90 00000000000000000000000000000000:0000 0A "
    "00000000:00000000 00:00000000 00000000     0        0 5555 1 0000000000000000 100 0 0 10 0\n"
)


@pytest.mark.skipif(sys.byteorder != "little", reason="recorded on a little-endian host")
def test_proc_net_tcp_rows_in_listen_state_become_port_and_address() -> None:
    assert parse_listening(PROC_NET_TCP) == {"4242": (8001, "127.0.0.1"), "4444": (22, "0.0.0.0")}
    assert parse_listening(PROC_NET_TCP6) == {"5555": (8080, "::1")}
    assert parse_address("0100007F") == "127.0.0.1"


def test_a_missing_known_hosts_file_is_refused_before_connecting(tmp_path: Path) -> None:
    from fabric import Connection
    from portbook.errors import TargetError
    from portbook.target import SshTarget

    missing = str(tmp_path / "known_hosts")
    with pytest.raises(TargetError, match="host key check failed: no such known_hosts file"):
        SshTarget(Connection("192.0.2.1"), known_hosts=missing)


def _tree_fixture(root: Path) -> None:
    for rel in (
        "a.py",
        "sub/b.sh",
        "sub/deeper/c.ts",
        ".hidden/d.py",
        "sub/.e.py",
        "venv/f.py",
        "logs/g.py",
        "other_logs/h.py",
        "node_modules/i.js",
    ):
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(rel)
    (root / "linked").symlink_to(root / "sub")


def test_tree_is_the_same_listing_locally_remotely_and_in_the_fake(
    remote: Remote, tmp_path: Path
) -> None:
    _tree_fixture(tmp_path)
    skip_names = frozenset({"venv", "node_modules", "logs"})
    skip_paths = frozenset({str(tmp_path / "other_logs")})
    local = LocalTarget().tree(str(tmp_path), skip_names, skip_paths, 30)
    assert [p.removeprefix(str(tmp_path) + "/") for p in local] == [
        "a.py",
        "linked/b.sh",
        "linked/deeper/c.ts",
        "sub/b.sh",
        "sub/deeper/c.ts",
    ]
    request = {"root": str(tmp_path), "skip_names": sorted(skip_names)}
    assert (
        remote.call("tree", {**request, "skip_paths": sorted(skip_paths), "max_depth": 30}) == local
    )
    assert LocalTarget().tree(str(tmp_path), skip_names, skip_paths, 0) == [str(tmp_path / "a.py")]
    files = {p: (Path(p).read_bytes(), 0o644) for p in local if "linked" not in p}
    files[str(tmp_path / ".hidden/d.py")] = (b"", 0o644)
    fake = FakeTarget(files=files)
    assert fake.tree(str(tmp_path), skip_names, skip_paths, 30) == [
        p for p in local if "linked" not in p
    ]


def test_read_many_returns_every_files_bytes_and_none_for_missing_ones(
    remote: Remote, tmp_path: Path
) -> None:
    (tmp_path / "x.py").write_bytes(b"\x00\xffbytes")
    paths = [str(tmp_path / "x.py"), str(tmp_path / "missing.py"), str(tmp_path)]
    expected = {paths[0]: b"\x00\xffbytes", paths[1]: None, paths[2]: None}
    assert LocalTarget().read_many(paths) == expected
    answer = remote.call("read_many", {"paths": paths})
    assert answer[paths[1]] is None and answer[paths[2]] is None
    assert base64.b64decode(answer[paths[0]]) == b"\x00\xffbytes"


def test_the_serving_python_holds_the_lock_and_its_end_lets_go(tmp_path: Path) -> None:
    info = str(tmp_path / ".portbook/lock")
    first = Remote(LocalConnection(), sys.executable, lambda command: None)
    second = Remote(LocalConnection(), sys.executable, lambda command: None)
    try:
        held = first.lock(str(tmp_path), info, wait=False)
        assert Path(info).read_text().split()[0] == str(held.pid) and not held.lost()
        with pytest.raises(RemoteError, match=f"locked by pid {held.pid} since"):
            second.lock(str(tmp_path), info, wait=False)
        held.release()
        again = second.lock(str(tmp_path), info, wait=False)
        assert not Path(info).exists() or Path(info).read_text().split()[0] == str(again.pid)
        second.close()  # the controller goes away: the host's Python exits, the flock with it
        assert again.lost()
        assert first.lock(str(tmp_path), info, wait=False).pid == held.pid
    finally:
        first.close()
        second.close()
