"""Target methods for recovery: append_bytes, all_processes, environ_of, own_pids."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from portbook.errors import TargetError
from portbook.target import LocalTarget
from portbook.target.fake import FakeTarget


def test_local_append_bytes_creates_0640_and_appends(tmp_path: Path) -> None:
    path = tmp_path / "audit.log"
    local = LocalTarget()
    local.append_bytes(str(path), b"one\n")
    local.append_bytes(str(path), b"two\n")
    assert path.read_bytes() == b"one\ntwo\n"
    assert path.stat().st_mode & 0o777 == 0o640


def test_local_append_bytes_into_a_missing_folder_is_a_target_error(tmp_path: Path) -> None:
    with pytest.raises(TargetError, match="cannot append to"):
        LocalTarget().append_bytes(str(tmp_path / "no" / "log"), b"x")


def test_local_processes_environment_and_own_chain() -> None:
    local = LocalTarget()
    pids = {p.pid for p in local.all_processes()}
    assert os.getpid() in pids and os.getppid() in pids
    env = local.environ_of(os.getpid())
    assert env is not None and "PATH" in env
    assert local.environ_of(2**22 + 12345) is None
    assert {os.getpid(), os.getppid()} <= local.own_pids()


def test_fake_additions() -> None:
    fake = FakeTarget()
    fake.makedirs("/r")
    fake.append_bytes("/r/log", b"a")
    fake.append_bytes("/r/log", b"b")
    assert fake.files["/r/log"] == (b"ab", 0o640)
    fake.add_process(5, ["x"])
    fake.process_env[5] = {"A": "1"}
    assert fake.environ_of(5) == {"A": "1"} and fake.environ_of(6) is None
    assert [p.pid for p in fake.all_processes()] == [5]
    fake.own = {5}
    assert fake.own_pids() == {5}
    fake.fail_writes.add("/r/log")
    with pytest.raises(TargetError):
        fake.append_bytes("/r/log", b"c")
