"""What an interrupted run or a killed supervisord leaves behind.

* ``<root>/.portbook/journal.json`` while no live run owns it: an interrupted portbook run
  whose changes are still half applied (``invoke service.rollback`` undoes them);
* ``<root>/.portbook/lock`` naming a pid that is gone (the flock died with it; the file is
  only its label);
* supervisord's socket file when nothing answers on it, and its pidfile when the pid in it
  is gone or is not a supervisord.
"""

from __future__ import annotations

import posixpath
import time
from collections.abc import Iterator

from portbook.engine.journal import Journal
from portbook.errors import PortbookError
from portbook.registry.system import expand, section

from .checks_base import Check, Context
from .checks_live import supervisor_up
from .findings import Finding

__all__ = ["LEFTOVERS", "pid_in"]


def pid_in(data: bytes | None) -> int | None:
    """The pid a lock or pid file starts with (None when absent or unreadable)."""
    words = (data or b"").split()
    return int(words[0]) if words and words[0].isdigit() else None


def _alive(ctx: Context, pid: int | None) -> bool:
    return pid is not None and pid > 0 and ctx.target.process(pid) is not None


def _journal(ctx: Context) -> Iterator[Finding]:
    path = posixpath.join(ctx.settings.journal_dir, "journal.json")
    fix = "invoke service.rollback (undoes the interrupted run from its journal)"
    try:
        journal = Journal.load(ctx.target, ctx.settings)
    except PortbookError as exc:
        yield Finding("leftovers.journal", "error", ctx.place(path), str(exc), fix)
        return
    if journal is None:
        return
    lock = pid_in(ctx.target.read_optional(posixpath.join(ctx.settings.journal_dir, "lock")))
    if lock == journal.pid and _alive(ctx, journal.pid):
        return  # that run is still going
    when = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(journal.started))
    done = sum(1 for e in journal.entries if e.state == "applied")
    yield Finding(
        "leftovers.journal",
        "error",
        ctx.place(path),
        f"an interrupted {journal.procedure} (pid {journal.pid}, started {when}) left its "
        f"journal: {done} of {len(journal.entries)} step(s) applied",
        fix,
    )


def _lock(ctx: Context) -> Iterator[Finding]:
    path = posixpath.join(ctx.settings.journal_dir, "lock")
    data = ctx.target.read_optional(path)
    if data is None or _alive(ctx, pid_in(data)):
        return
    yield Finding(
        "leftovers.stale-lock",
        "warning",
        ctx.place(path),
        f"lock label names pid {pid_in(data) or '?'}, which is gone",
        f"delete {ctx.place(path)} (no run holds the lock)",
    )


def _supervisor_files(ctx: Context) -> Iterator[Finding]:
    system = ctx.system
    if system is None:
        return
    supervisor, _ = supervisor_up(ctx)
    try:
        socket = system.socket_path()
    except PortbookError:
        socket = ""
    if supervisor is None and socket and ctx.target.file_mode(socket) is not None:
        yield Finding(
            "leftovers.stale-socket",
            "warning",
            ctx.place(socket),
            "supervisord's socket file exists but nothing answers on it",
            f"delete {ctx.place(socket)} (invoke supervisor.restart removes it)",
        )
    value = section(system.main_conf, "supervisord").get("pidfile")
    if not value:
        return
    try:
        pidfile = system.resolve(expand(value, system.main_conf.path, ctx.environ))
    except PortbookError:
        return
    pid = pid_in(ctx.target.read_optional(pidfile))
    if ctx.target.file_mode(pidfile) is None:
        return
    info = ctx.target.process(pid) if pid else None
    if info is not None and any("supervisord" in arg for arg in info.cmdline[:3]):
        return
    who = f"pid {pid}, which is gone" if info is None else f"pid {pid}, which is not supervisord"
    yield Finding(
        "leftovers.stale-pidfile",
        "warning",
        ctx.place(pidfile),
        f"supervisord's pidfile names {who if pid else 'no pid'}",
        f"delete {ctx.place(pidfile)} (invoke supervisor.restart removes it)",
    )


def check_leftovers(ctx: Context) -> Iterator[Finding]:
    """``leftovers.journal``, ``leftovers.stale-lock``, ``-socket`` and ``-pidfile``."""
    yield from _journal(ctx)
    yield from _lock(ctx)
    yield from _supervisor_files(ctx)


LEFTOVERS = Check(
    (
        "leftovers.journal",
        "leftovers.stale-lock",
        "leftovers.stale-socket",
        "leftovers.stale-pidfile",
    ),
    True,
    check_leftovers,
)
