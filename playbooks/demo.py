"""demo.*: a REC.IO-shaped demo system to try portbook on."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from invoke import Context, Exit
from portbook.errors import PortbookError
from portbook.sim.demo import (
    DemoStartFailed,
    check_interpreter,
    demo_down,
    demo_running,
    demo_up,
    is_demo_copy,
    prepare_demo,
)
from portbook.sim.demo_fleet import demo_fleet_down, demo_fleet_up
from portbook.sim.fleet import fleet_table
from portbook.sim.hosts import skip_reason

from ._common import open_local
from ._flags import task


@task(
    help={
        "root": "Where to put the working copy (default: portbook.root).",
        "fresh": "Delete an existing working copy first (never a folder that is not one).",
        "keep-failed": "Leave supervisord running when a service fails to start.",
    }
)
def up(c: Context, root: str | None = None, fresh: bool = False, keep_failed: bool = False) -> None:
    """Copy the demo system to its working folder, start supervisord, wait for every service.

    An existing working copy is never overwritten without --fresh; a running demo is
    reported as running.
    """
    try:
        target, settings = open_local(c, root, system=False)
        if fresh and is_demo_copy(Path(settings.root)):
            demo_down_quiet(c, settings.root)
        for note in prepare_demo(settings.root, fresh):
            print(note)
        check_interpreter(Path(settings.root))
        target, settings = open_local(c, settings.root)
        if demo_running(target, settings):
            print(f"the demo is already running at {settings.root}")
        for line in demo_up(target, settings, keep_failed=keep_failed):
            print(line)
    except DemoStartFailed as exc:
        show_log_tail(exc)
        raise Exit(str(exc), code=exc.code) from None
    except PortbookError as exc:
        raise Exit(str(exc), code=exc.code) from None
    print(f"demo up at {settings.root}")


def show_log_tail(exc: DemoStartFailed) -> None:
    """Print the failed program's log path and last lines (on stderr, before the error)."""
    if exc.log_path:
        print(f"last lines of {exc.log_path}:", file=sys.stderr)
        for line in exc.log_tail or ["(empty)"]:
            print(f"  {line}", file=sys.stderr)


@task(help={"root": "The demo's working folder (default: portbook.root)."})
def down(c: Context, root: str | None = None) -> None:
    """Stop the demo's supervisord and every service under it."""
    try:
        target, settings = open_local(c, root)
        stopped = demo_down(target, settings)
    except PortbookError as exc:
        raise Exit(str(exc), code=exc.code) from None
    print("demo stopped" if stopped else "demo was not running")


def demo_down_quiet(c: Context, root: str) -> None:
    """Stop a demo at ``root`` if one runs there; ignore a missing or broken one."""
    try:
        target, settings = open_local(c, root, system=False)
        demo_down(target, settings)
    except PortbookError:
        pass


@task(
    help={
        "count": "How many hosts, pb-demo-1..N (default 3, at most 64).",
        "fresh": "Take down an existing demo fleet first.",
    }
)
def fleet_up(c: Context, count: int = 3, fresh: bool = False) -> None:
    """Build N SSH hosts here (network namespaces), each running the demo; root only.

    Hosts, their login key, known_hosts, inventory and state live in /tmp/portbook-fleet.
    """
    if os.geteuid() != 0:
        raise Exit(
            "demo.fleet-up needs root (network namespaces, sshd): sudo invoke demo.fleet-up", 2
        )
    if (reason := skip_reason()) is not None:
        raise Exit(reason.replace("SSH host tests", "demo.fleet-up"), code=2)
    try:
        fleet = demo_fleet_up(count, fresh=fresh)
    except (PortbookError, RuntimeError, OSError, subprocess.CalledProcessError) as exc:
        raise Exit(f"demo.fleet-up: {exc}", code=getattr(exc, "code", 1)) from None
    for line in fleet_table(fleet):
        print(line)
    print(f"inventory: {fleet.inventory} (the same hosts as inventory/demo.yaml)")


@task
def fleet_down(c: Context) -> None:
    """Take the demo fleet down (from /tmp/portbook-fleet/fleet.json): processes, netns, files."""
    try:
        names = demo_fleet_down()
    except (PortbookError, RuntimeError, OSError, ValueError, KeyError) as exc:
        raise Exit(f"demo.fleet-down: {exc}", code=getattr(exc, "code", 1)) from None
    print(f"demo fleet down: {', '.join(names)}" if names else "no demo fleet is up")
