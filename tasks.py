"""portbook's task namespace: service, demo and dev (``invoke --list``)."""

from __future__ import annotations

import sys
from pathlib import Path

from invoke import Collection, Context

sys.path.insert(0, str(Path(__file__).resolve().parent / "lib"))

from portbook.cli import guard_std_streams

from playbooks import namespace
from playbooks._flags import task

guard_std_streams()  # `invoke ... | head -1`: invoke's own output quiet on a closed pipe too


@task(help={"fix": "Apply ruff's fixes and formatting instead of only checking."})
def check(c: Context, fix: bool = False) -> None:
    """Lint, format-check and type-check: ruff and mypy."""
    if fix:
        c.run("ruff check --fix lib playbooks tests bench tasks.py")
        c.run("ruff format lib playbooks tests bench tasks.py")
    else:
        c.run("ruff check lib playbooks tests bench tasks.py")
        c.run("ruff format --check lib playbooks tests bench tasks.py")
    c.run("mypy")


@task(help={"unit": "Only the fast unit tests.", "k": "Only tests matching this expression."})
def test(c: Context, unit: bool = False, k: str = "") -> None:
    """Run the test suite (unit and integration) with pytest."""
    where = "tests/unit" if unit else "tests"
    c.run(f"{sys.executable} -m pytest {where} -q" + (f" -k {k!r}" if k else ""), pty=False)


ns = namespace()
ns.add_collection(Collection("dev", check, test))
