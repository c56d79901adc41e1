"""Stopping processes proven to be the system's: SIGTERM, then SIGKILL, identity re-checked.

Every signal is recorded (journal and audit log, through ``Op.did``) before it is
sent, and only to a process that is still the one that was proven: same pid,
same start time. Portbook's own process chain and pids 0 and 1 are never
signalled. Nothing here can be undone.
"""

from __future__ import annotations

import signal
import time
from collections.abc import Sequence

from ..engine.journal import JournalEntry
from ..engine.operation import Op
from ..errors import StepFailed
from ..host.strays import describe
from ..target import ProcInfo, Target

__all__ = ["same_process", "stop_all", "wait_gone"]


def stop_all(
    op: Op, entry: JournalEntry, victims: Sequence[tuple[ProcInfo, str]], grace: float
) -> None:
    """SIGTERM each process, SIGKILL what is left after ``grace``; identity re-checked before
    every signal (same pid, same start time); portbook's own chain and pids 0-1 never."""
    never = {0, 1, *op.target.own_pids()}
    victims = [(info, why) for info, why in victims if info.pid not in never]
    op.note(entry, victims=[{"pid": i.pid, "started": i.started, "why": w} for i, w in victims])
    for info, why in victims:
        _signal(op, entry, info, signal.SIGTERM, why)
    wait_gone(op.target, [i for i, _ in victims], grace)
    for info, why in victims:
        _signal(op, entry, info, signal.SIGKILL, f"{why}; still alive {grace:g}s after SIGTERM")
    left = wait_gone(op.target, [i for i, _ in victims], 5.0)
    if left:
        raise StepFailed(f"still alive after SIGKILL: {', '.join(describe(i) for i in left)}")


def same_process(target: Target, info: ProcInfo) -> bool:
    """True while ``info``'s pid is alive and is still the process it was (start time)."""
    now = target.process(info.pid)
    return now is not None and abs(now.started - info.started) < 0.5


def _signal(op: Op, entry: JournalEntry, info: ProcInfo, signum: int, why: str) -> None:
    if not same_process(op.target, info):
        return
    op.did(entry, f"{signal.Signals(signum).name} to {describe(info)} ({why})")
    op.target.send_signal(info.pid, signum)


def wait_gone(target: Target, infos: Sequence[ProcInfo], timeout: float) -> list[ProcInfo]:
    """Wait up to ``timeout`` for every process to be gone; those still alive."""
    deadline = time.monotonic() + timeout
    while True:
        left = [i for i in infos if same_process(target, i)]
        if not left or time.monotonic() >= deadline:
            return left
        time.sleep(0.05)
