"""The ``portbook`` console script (and ``python -m playbooks``): the tasks, run from any folder.

The Program (core flags, help, closed pipes) is :class:`portbook.cli.PortbookProgram`; this
module gives it the task namespace, so the library never imports its task layer.
"""

from __future__ import annotations

from invoke import Program
from portbook.cli import PortbookProgram, guard_std_streams

from . import namespace

__all__ = ["main", "program"]


def program() -> Program:
    """A portbook Program over portbook's namespace (playbooks)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        current = version("portbook")
    except PackageNotFoundError:
        current = "dev"
    return PortbookProgram(
        namespace=namespace(), name="portbook", binary="portbook", version=current
    )


def main() -> None:
    """Entry point: ``portbook service.add --name X`` in the system's root."""
    guard_std_streams()
    program().run()
