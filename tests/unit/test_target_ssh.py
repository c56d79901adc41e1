"""SshTarget's pieces without SSH: the command line, the remote program, its parsers.

The remote program is run here exactly as a host runs it, through a shell, by
handing ``Remote`` an invoke ``Context`` (a Fabric ``Connection`` is one, so
``Remote`` cannot tell the difference).
"""

from __future__ import annotations

import ast
import glob
import json
import os
import shlex
import signal
import socket
import sys
import time
from collections.abc import Iterator
from importlib import resources
from pathlib import Path

import pytest
from invoke import Context
from portbook.target import LocalTarget
from portbook.target.ssh_exec import (
    Remote,
    RemoteError,
    parse_reply,
    program,
    python_command,
    stdin_command,
)
from portbook.target.ssh_files import unescape
from portbook.target.ssh_remote_facts import parse_address, parse_listening

HOSTILE = ["$(touch PWNED)", "`id`", "a b; rm -rf /x", 'it\'s "q" & | > <', "-rf", "new\nline", "ü"]


@pytest.fixture
def remote() -> Remote:
    """The remote program, run by a local shell as sshd would run it."""
    return Remote(Context(), sys.executable, lambda command: None)


@pytest.fixture
def listening() -> Iterator[int]:
    """A port this test process listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield sock.getsockname()[1]


@pytest.mark.parametrize("name", ["ssh_remote.py", "ssh_remote_facts.py"])
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
    words = shlex.split(python_command(f"/opt/{value}/python3", request))
    assert words == ["exec", f"/opt/{value}/python3", "-c", program(), json.dumps(request)]
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
        Remote(Context(), "/no/python3", lambda command: None).call("facts", {})


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


@pytest.mark.parametrize(
    ("part", "literal"),
    [
        ("/srv/recio", "/srv/recio"),
        (glob.escape("/srv/a[1]*?/b"), "/srv/a[1]*?/b"),
        ("/srv/*", None),
        ("/srv/a?", None),
        ("/srv/[ab]", None),
        ("", ""),
    ],
)
def test_unescape_undoes_glob_escape_and_spots_real_wildcards(
    part: str, literal: str | None
) -> None:
    assert unescape(part) == literal


def test_a_missing_known_hosts_file_is_refused_before_connecting(tmp_path: Path) -> None:
    from fabric import Connection
    from portbook.errors import TargetError
    from portbook.target import SshTarget

    missing = str(tmp_path / "known_hosts")
    with pytest.raises(TargetError, match="host key check failed: no such known_hosts file"):
        SshTarget(Connection("192.0.2.1"), known_hosts=missing)
