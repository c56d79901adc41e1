"""What a call costs over SSH in round trips, its work apart from the polls timing decides.

``SshTarget.round_trips`` counts every exchange with the host: a procedure's work, and its
waits. The smoke test, supervisor's start and the ownership checks poll until a service
listens or runs, one probe a poll, and how many polls that takes depends on how busy the
machine is (measured: one add over SSH took 155 to 182 round trips for the same work).
Every such wait in portbook sleeps (``time.sleep``) between two probes, so while the call
runs each sleep is noted with the round-trip count and where it slept (the very frame and
line): round trips made between two sleeps of the same wait are a poll repeated, and the
rest, the work, is the same count on every run. A wait that stopped sleeping would poll
flat out with no sleep to tell its repeats apart: they would all count as work.
"""

from __future__ import annotations

import itertools
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from types import FrameType
from typing import TypeVar
from unittest import mock

from portbook.target import SshTarget

__all__ = ["Cost", "measure"]

T = TypeVar("T")


@dataclass(frozen=True)
class Cost:
    """Remote commands started, round trips, and how many of those repeated a poll."""

    commands: int
    round_trips: int
    repeated_polls: int

    @property
    def work(self) -> int:
        """Round trips but the repeated polls: the same on a fast and a slow machine."""
        return self.round_trips - self.repeated_polls


def measure(target: SshTarget, call: Callable[[], T]) -> tuple[T, Cost]:
    """``call()``'s result, and what it cost on ``target``."""
    sleeps: list[tuple[FrameType, int, int]] = []
    caller, real_sleep = threading.get_ident(), time.sleep

    def noting_sleep(seconds: float) -> None:
        if threading.get_ident() == caller:  # not paramiko's threads
            frame = sys._getframe(1)
            sleeps.append((frame, frame.f_lineno, target.round_trips))
        real_sleep(seconds)

    commands, trips = target.commands, target.round_trips
    with mock.patch("time.sleep", noting_sleep):
        result = call()
    repeated = sum(
        b[2] - a[2] for a, b in itertools.pairwise(sleeps) if a[0] is b[0] and a[1] == b[1]
    )
    sleeps.clear()  # the frames, and their locals, go now
    cost = Cost(target.commands - commands, target.round_trips - trips, repeated)
    return result, cost
