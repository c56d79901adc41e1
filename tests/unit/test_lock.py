"""root_lock on the real filesystem: one holder per root, across processes, even after SIGKILL."""

from __future__ import annotations

import multiprocessing
import os
import re
import signal
import threading
import time
from collections.abc import Iterator
from multiprocessing.process import BaseProcess
from multiprocessing.synchronize import Event
from pathlib import Path

import pytest
from portbook.config import Settings, load_settings
from portbook.engine.lock import root_lock
from portbook.errors import Locked
from portbook.target import LocalTarget
from portbook.target.fake import FakeTarget

_fork = multiprocessing.get_context("fork")


def _hold(settings: Settings, held: Event, release: Event) -> None:
    """Child process: take the lock, say so, keep it until told to let go."""
    with root_lock(LocalTarget(), settings):
        held.set()
        release.wait(30)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return load_settings(None, str(tmp_path))


@pytest.fixture
def holder(settings: Settings) -> Iterator[tuple[BaseProcess, Event]]:
    """Another process holding the root's lock; set the event to release it."""
    held, release = _fork.Event(), _fork.Event()
    child = _fork.Process(target=_hold, args=(settings, held, release))
    child.start()
    try:
        assert held.wait(10), "child never took the lock"
        yield child, release
    finally:
        if child.is_alive():  # Event.set() hangs on a waiter that was SIGKILLed
            release.set()
            child.join(10)
        if child.is_alive():
            child.kill()
            child.join()


def test_lock_records_its_holder_while_held_and_leaves_no_trace_after(settings: Settings) -> None:
    info = Path(settings.journal_dir, "lock")
    with root_lock(LocalTarget(), settings):
        assert info.read_text().split()[0] == str(os.getpid())
    assert not Path(settings.journal_dir).exists()
    with root_lock(LocalTarget(), settings):  # released: can be taken again
        pass


def test_second_holder_in_another_process_is_refused_naming_its_pid_and_since_when(
    settings: Settings, holder: tuple[BaseProcess, Event]
) -> None:
    child, _ = holder
    with pytest.raises(Locked) as caught, root_lock(LocalTarget(), settings):
        pass
    message = str(caught.value)
    assert f"locked by pid {child.pid} since " in message
    assert re.search(r"since \d{4}-\d\d-\d\dT\d\d:\d\d:\d\d", message)
    assert message.startswith(settings.root)
    assert caught.value.code == 2


def test_wait_true_waits_until_the_holder_releases(
    settings: Settings, holder: tuple[BaseProcess, Event]
) -> None:
    child, release = holder
    timer = threading.Timer(0.3, release.set)
    started = time.monotonic()
    timer.start()
    with root_lock(LocalTarget(), settings, wait=True):
        waited = time.monotonic() - started
        child.join(5)
        assert not child.is_alive(), "got the lock while the holder still held it"
    timer.join()
    assert waited >= 0.3


def test_lock_is_released_when_its_holder_is_killed_with_sigkill(
    settings: Settings, holder: tuple[BaseProcess, Event]
) -> None:
    child, _ = holder
    assert child.pid is not None
    os.kill(child.pid, signal.SIGKILL)
    child.join(5)
    assert child.exitcode == -signal.SIGKILL
    with root_lock(LocalTarget(), settings):  # no wait: free at once, stale info file or not
        assert Path(settings.journal_dir, "lock").read_text().split()[0] == str(os.getpid())


def test_fake_target_lock_refuses_while_another_run_holds_it(
    target: FakeTarget, settings: Settings
) -> None:
    target.lock_holder = (4121, "2026-01-01T00:00:00+0000")
    message = "locked by pid 4121 since 2026-01-01T00:00:00"
    with pytest.raises(Locked, match=message), root_lock(target, settings):
        pass
    assert target.writes == []
