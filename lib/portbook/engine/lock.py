"""The per-root lock: one portbook run at a time on a system, held for the whole run."""

from __future__ import annotations

import contextlib
import posixpath
from collections.abc import Iterator

from ..config import Settings
from ..target import Target

__all__ = ["root_lock"]


@contextlib.contextmanager
def root_lock(target: Target, settings: Settings, wait: bool = False) -> Iterator[None]:
    """Lock the system's root on the target for the block; refuse or wait when taken.

    The holder's pid and start time sit in ``<root>/.portbook/lock`` while it
    runs. The lock dies with its holder (flock locally), so a SIGKILLed run
    never leaves a stale lock; its journal is what marks the unfinished work.
    """
    with target.hold_lock(settings.root, posixpath.join(settings.journal_dir, "lock"), wait):
        yield
