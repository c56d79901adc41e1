"""Killed between spawning the smoke process and journaling its pid: undo finds it by stamp."""

from __future__ import annotations

import signal
from types import SimpleNamespace

from portbook.engine.journal import JournalEntry
from portbook.steps.smoke import SMOKE_STAMP, SmokeTest, stamped
from portbook.target.base import ProcInfo
from portbook.target.fake import FakeTarget

ROOT = "/srv/recio"


def target_with(*procs: tuple[int, str, str]) -> FakeTarget:
    """Processes as (pid, cwd, stamp)."""
    fake = FakeTarget()
    for pid, cwd, stamp in procs:
        fake.processes[pid] = ProcInfo(pid, 1, ("python", "x.py"), cwd, "root", 1.0)
        fake.process_env[pid] = {SMOKE_STAMP: stamp} if stamp else {}
    return fake


def test_stamped_finds_only_the_process_carrying_the_stamp_in_that_folder() -> None:
    fake = target_with(
        (10, ROOT, "abc"), (11, ROOT, "other"), (12, "/elsewhere", "abc"), (13, ROOT, "")
    )
    assert stamped(fake, "abc", ROOT) == [10]


def test_undo_without_a_journaled_pid_kills_the_stamped_smoke_process_only() -> None:
    fake = target_with((10, ROOT, "abc"), (11, ROOT, "other"))
    entry = JournalEntry("smoke-test", data={"smoke_stamp": "abc", "smoke_cwd": ROOT})
    SmokeTest().undo(SimpleNamespace(target=fake), entry)  # type: ignore[arg-type]
    assert (10, signal.SIGKILL) in fake.signals
    assert all(pid != 11 for pid, _ in fake.signals)


def test_undo_with_a_journaled_pid_trusts_the_pid_and_not_the_stamp() -> None:
    fake = target_with((10, ROOT, "abc"))
    data = {"smoke_pid": 10, "smoke_started": 99.0, "smoke_stamp": "abc", "smoke_cwd": ROOT}
    SmokeTest().undo(SimpleNamespace(target=fake), JournalEntry("smoke-test", data=data))  # type: ignore[arg-type]
    assert fake.signals == []  # pid 10 started at 1.0, not 99.0: not provably the one we ran
