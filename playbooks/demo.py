"""demo.*: a REC.IO-shaped demo system to try portbook on."""

from __future__ import annotations

import shutil

from invoke import Context, Exit, task
from portbook.demo import demo_down, demo_up, install_demo
from portbook.errors import PortbookError

from ._common import open_local


@task(
    help={
        "root": "Where to put the working copy (default: portbook.root).",
        "fresh": "Delete an existing working copy first.",
    }
)
def up(c: Context, root: str | None = None, fresh: bool = False) -> None:
    """Copy the demo system to its working folder, start supervisord, wait for every service."""
    try:
        target, settings = open_local(c, root)
        if fresh:
            demo_down_quiet(c, settings.root)
            shutil.rmtree(settings.root, ignore_errors=True)
        install_demo(settings.root)
        target, settings = open_local(c, settings.root)
        for line in demo_up(target, settings):
            print(line)
    except PortbookError as exc:
        raise Exit(str(exc), code=exc.code) from None
    print(f"demo up at {settings.root}")


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
        target, settings = open_local(c, root)
        demo_down(target, settings)
    except PortbookError:
        pass
