"""LocalTarget: atomic writes that keep mode and owner, commands, processes, sockets, XML-RPC."""

from __future__ import annotations

import os
import re
import socket
import sys
import time
from pathlib import Path

import pytest
from portbook.errors import TargetError
from portbook.target import LocalTarget, SupervisorFault


@pytest.fixture
def local() -> LocalTarget:
    return LocalTarget()


def _temp_files(folder: Path) -> list[str]:
    return [p.name for p in folder.iterdir() if p.name.startswith(".portbook-")]


def test_write_atomic_creates_a_new_file_with_mode_0644(local: LocalTarget, tmp_path: Path) -> None:
    path = tmp_path / "new.conf"
    local.write_atomic(str(path), b"hello\n")
    assert path.read_bytes() == b"hello\n"
    assert path.stat().st_mode & 0o7777 == 0o644


def test_write_atomic_keeps_the_mode_of_the_file_it_replaces(
    local: LocalTarget, tmp_path: Path
) -> None:
    path = tmp_path / "run.sh"
    path.write_bytes(b"old\n")
    path.chmod(0o750)
    local.write_atomic(str(path), b"new\n")
    assert path.stat().st_mode & 0o7777 == 0o750
    assert local.file_mode(str(path)) == 0o750


def test_write_atomic_applies_an_explicit_mode(local: LocalTarget, tmp_path: Path) -> None:
    path = tmp_path / "secret"
    path.write_bytes(b"old\n")
    local.write_atomic(str(path), b"new\n", mode=0o600)
    assert path.stat().st_mode & 0o7777 == 0o600


@pytest.mark.skipif(os.geteuid() != 0, reason="only root can give a file to another owner")
def test_write_atomic_keeps_the_owner_of_the_file_it_replaces(
    local: LocalTarget, tmp_path: Path
) -> None:
    path = tmp_path / "owned"
    path.write_bytes(b"old\n")
    os.chown(path, 4321, 4322)
    local.write_atomic(str(path), b"new\n")
    st = path.stat()
    assert (st.st_uid, st.st_gid) == (4321, 4322)


def test_write_atomic_replaces_by_rename_so_readers_see_old_or_new_never_partial(
    local: LocalTarget, tmp_path: Path
) -> None:
    path = tmp_path / "manifest.json"
    path.write_bytes(b"old contents\n")
    inode = path.stat().st_ino
    with open(path, "rb") as reader:  # opened before: still sees the whole old file
        local.write_atomic(str(path), b"new contents\n")
        assert reader.read() == b"old contents\n"
    assert path.read_bytes() == b"new contents\n"
    assert path.stat().st_ino != inode


def test_write_atomic_leaves_no_temp_file_on_success(local: LocalTarget, tmp_path: Path) -> None:
    local.write_atomic(str(tmp_path / "a"), b"x")
    local.write_atomic(str(tmp_path / "a"), b"y")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a"]


def test_write_atomic_failure_leaves_the_old_file_and_no_temp_file(
    local: LocalTarget, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "conf"
    path.write_bytes(b"old\n")

    def refuse(src: str, dst: str) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", refuse)
    with pytest.raises(
        TargetError, match=re.escape(f"cannot write {path}: No space left on device")
    ):
        local.write_atomic(str(path), b"new\n")
    assert path.read_bytes() == b"old\n"
    assert _temp_files(tmp_path) == []


def test_write_atomic_into_a_missing_folder_is_a_target_error(
    local: LocalTarget, tmp_path: Path
) -> None:
    with pytest.raises(TargetError, match="cannot write"):
        local.write_atomic(str(tmp_path / "nope" / "x"), b"x")


def test_read_optional_returns_bytes_or_none_for_a_missing_file(
    local: LocalTarget, tmp_path: Path
) -> None:
    (tmp_path / "f").write_bytes(b"\x00\xffdata")
    assert local.read_optional(str(tmp_path / "f")) == b"\x00\xffdata"
    assert local.read_optional(str(tmp_path / "missing")) is None
    assert local.file_mode(str(tmp_path / "missing")) is None


def test_read_optional_of_a_folder_is_a_target_error(local: LocalTarget, tmp_path: Path) -> None:
    with pytest.raises(TargetError, match=re.escape(f"cannot read {tmp_path}")):
        local.read_optional(str(tmp_path))


def test_remove_deletes_and_ignores_missing_files(local: LocalTarget, tmp_path: Path) -> None:
    (tmp_path / "f").write_bytes(b"x")
    local.remove(str(tmp_path / "f"))
    local.remove(str(tmp_path / "f"))
    assert not (tmp_path / "f").exists()


def test_glob_is_sorted(local: LocalTarget, tmp_path: Path) -> None:
    for name in ("b.conf", "a.conf", "c.txt"):
        (tmp_path / name).write_bytes(b"")
    assert local.glob(str(tmp_path / "*.conf")) == [
        str(tmp_path / "a.conf"),
        str(tmp_path / "b.conf"),
    ]


def test_run_returns_exit_code_and_output_without_raising(local: LocalTarget) -> None:
    code = "import sys; print('out'); print('err', file=sys.stderr); sys.exit(3)"
    result = local.run([sys.executable, "-c", code])
    assert (result.code, result.stdout, result.stderr) == (3, "out\n", "err\n")


def test_run_passes_cwd_and_env(local: LocalTarget, tmp_path: Path) -> None:
    code = "import os; print(os.getcwd(), os.environ['PB_X'])"
    result = local.run([sys.executable, "-c", code], cwd=str(tmp_path), env={"PB_X": "1"})
    assert result.stdout.split() == [str(tmp_path), "1"]


def test_run_of_a_missing_program_is_a_target_error(local: LocalTarget) -> None:
    with pytest.raises(TargetError, match="cannot run /nonexistent/prog"):
        local.run(["/nonexistent/prog"])


def test_run_past_its_timeout_is_a_target_error(local: LocalTarget) -> None:
    with pytest.raises(TargetError, match=r"did not finish within 0\.2s"):
        local.run([sys.executable, "-c", "import time; time.sleep(5)"], timeout=0.2)


def test_spawn_runs_in_the_background_and_exit_code_reports_its_end(
    local: LocalTarget, tmp_path: Path
) -> None:
    log = tmp_path / "smoke.log"
    code = "import os, sys; print('hello', os.environ['PB_Y'], flush=True); sys.exit(7)"
    pid = local.spawn([sys.executable, "-c", code], str(tmp_path), {"PB_Y": "yes"}, str(log))
    deadline = time.monotonic() + 10
    while local.exit_code(pid) is None and time.monotonic() < deadline:
        time.sleep(0.01)
    assert local.exit_code(pid) == 7
    assert log.read_text() == "hello yes\n"


def test_spawned_process_is_described_and_stoppable(local: LocalTarget, tmp_path: Path) -> None:
    argv = [sys.executable, "-c", "import time; time.sleep(30)"]
    pid = local.spawn(argv, str(tmp_path), dict(os.environ), str(tmp_path / "log"))
    try:
        assert local.exit_code(pid) is None
        info = local.process(pid)
        deadline = time.monotonic() + 5  # between fork and exec the child shows our cmdline
        while info is not None and info.cmdline != tuple(argv) and time.monotonic() < deadline:
            time.sleep(0.01)
            info = local.process(pid)
        assert info is not None
        assert (info.pid, info.ppid, info.cmdline, info.cwd) == (
            pid,
            os.getpid(),
            tuple(argv),
            str(tmp_path),
        )
        assert pid in local.descendants(os.getpid())
    finally:
        local.send_signal(pid, 9)
    deadline = time.monotonic() + 10
    while local.exit_code(pid) is None and time.monotonic() < deadline:
        time.sleep(0.01)
    assert local.exit_code(pid) == -9
    assert local.process(pid) is None


def test_send_signal_to_a_gone_process_is_not_an_error(local: LocalTarget) -> None:
    local.send_signal(2**22 + 12345, 15)


def test_listeners_finds_a_socket_this_test_opens_with_this_pid(local: LocalTarget) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        port = sock.getsockname()[1]
        found = [lst for lst in local.listeners() if lst.port == port]
        assert [(lst.pid, lst.address) for lst in found] == [(os.getpid(), "127.0.0.1")]
        assert [lst.port for lst in local.listeners_of([os.getpid()])].count(port) == 1
    assert not any(lst.port == port for lst in local.listeners())


def test_rpc_to_a_missing_socket_is_a_target_error_naming_it(
    local: LocalTarget, tmp_path: Path
) -> None:
    sock = str(tmp_path / "supervisor.sock")
    with pytest.raises(
        TargetError, match=re.escape(f"supervisord at {sock} did not answer")
    ) as caught:
        local.rpc(sock, "supervisor.getState")
    assert not isinstance(caught.value, SupervisorFault)


def test_hold_lock_of_a_missing_root_is_a_target_error(local: LocalTarget, tmp_path: Path) -> None:
    missing = tmp_path / "missing"
    lock = local.hold_lock(str(missing), str(missing / ".portbook" / "lock"), False)
    with pytest.raises(TargetError, match=re.escape(f"cannot lock {missing}")), lock:
        pass


def test_remove_empty_dir_keeps_a_folder_with_files(local: LocalTarget, tmp_path: Path) -> None:
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "f").write_bytes(b"")
    (tmp_path / "empty").mkdir()
    local.remove_empty_dir(str(tmp_path / "full"))
    local.remove_empty_dir(str(tmp_path / "empty"))
    local.remove_empty_dir(str(tmp_path / "missing"))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["full"]


def test_environ_is_a_copy_of_this_process_environment(local: LocalTarget) -> None:
    env = local.environ()
    assert env == dict(os.environ)
    env["PB_CHANGED"] = "1"
    assert "PB_CHANGED" not in os.environ
