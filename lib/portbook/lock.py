"""The per-root lock: one portbook run at a time on a system, held for the whole run."""

from __future__ import annotations

import contextlib
import fcntl
import os
import time
from collections.abc import Iterator

from .config import Settings
from .errors import Locked

__all__ = ["root_lock"]


@contextlib.contextmanager
def root_lock(settings: Settings, wait: bool = False, poll: float = 0.2) -> Iterator[None]:
    """Hold ``<root>/.portbook/lock`` (flock) for the block; refuse or wait when it is taken.

    flock is released by the kernel when the holder dies, so a SIGKILLed run
    never leaves a stale lock; its journal is what marks the unfinished work.
    """
    os.makedirs(settings.journal_dir, exist_ok=True)
    path = os.path.join(settings.journal_dir, "lock")
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if not wait:
                    raise Locked(_holder(fd, path)) from None
                time.sleep(poll)
        os.ftruncate(fd, 0)
        stamp = time.strftime("%Y-%m-%dT%H:%M:%S%z")
        os.pwrite(fd, f"{os.getpid()} {stamp}\n".encode(), 0)
        yield
    finally:
        os.close(fd)


def _holder(fd: int, path: str) -> str:
    text = os.pread(fd, 200, 0).decode(errors="replace").split()
    if len(text) >= 2:
        return f"{path}: locked by pid {text[0]} since {text[1]}"
    return f"{path}: locked by another portbook run"
