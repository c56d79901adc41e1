"""``recover.emergency``: the seed's EMERGENCY RECOVERY, scripted without its ``pkill -f python``.

``RECOVER`` (in :mod:`portbook.procedures`), in order:

1. shut supervisord down: ``supervisor.shutdown``, then SIGTERM, then SIGKILL, to its
   own pid only (found by its socket, its pidfile or its command line);
2. stop stray processes: orphans of the system's programs and holders of manifest
   ports, each only when provably the system's (``portbook.host.strays``): SIGTERM, then
   SIGKILL after ``stop_timeout``, pid and start time re-checked before every signal;
3. remove the socket and pidfile a dead supervisord left behind;
4. check that every manifest port is free, naming what still holds one;
5. check the configuration: the four places agree, supervisor's parser accepts it;
6. start supervisord and verify every program as ``supervisor.status`` does.

Refusals come first, before anything is stopped (exit 2): a foreign process on a
manifest port (named with pid, user and command line, and left alone) unless
``kill_foreign``; a configuration that is already broken; a lock held; an
unfinished service procedure's journal. A failure while acting stops the run
where it is (exit 1): signals cannot be undone, and the audit log says what
was done.
"""

from __future__ import annotations

from typing import Unpack

from ..config import Settings
from ..engine.operation import OpResult, RunOptions, check_operation, run_operation
from ..procedures import RECOVER
from ..target import Target

__all__ = ["plan_recover", "recover_system"]


def recover_system(
    target: Target, settings: Settings, *, kill_foreign: bool = False, **run: Unpack[RunOptions]
) -> OpResult:
    """Run the emergency recovery (``RECOVER``): locked, journaled, audited; never raises."""
    options = {"kill_foreign": kill_foreign}
    return run_operation(target, settings, "recover", RECOVER, options=options, **run)


def plan_recover(target: Target, settings: Settings, *, kill_foreign: bool = False) -> OpResult:
    """``--check``: what would be stopped and why, and any refusal; nothing changes."""
    return check_operation(target, settings, "recover", RECOVER, kill_foreign=kill_foreign)
