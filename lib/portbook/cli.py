"""The ``portbook`` console script's Program: the same tasks as ``invoke``, run from any folder.

The entry point itself (``portbook``, ``python -m playbooks``) is :mod:`playbooks.cli`: it
gives this Program the task namespace, which the library does not import.

Like Fabric's ``fab``, it adds a core ``-H/--hosts`` flag: ``portbook -H demo
service.add --name X`` runs the task on the inventory's ``demo`` group, as
``--hosts demo`` after the task name would.

Unlike ``invoke``, it has none of invoke's shell-runner flags (``--pty``,
``--dry``, ``--echo``, ...): portbook's tasks do not run their work through
``c.run``, and a ``--dry`` that silently applied a change would be a trap. Its
help lists the tasks first. A flag it cannot parse is refused with exit 2, and
output into a pipe closed early (``| head -1``) ends quietly, no traceback.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator
from typing import Any, TextIO, cast

from invoke import Argument, Exit, ParseError, Program

__all__ = ["RUNNER_FLAGS", "PortbookProgram", "guard_std_streams", "quiet_closed_pipes"]

RUNNER_FLAGS = frozenset(
    {
        "command-timeout",
        "dry",
        "echo",
        "hide",
        "prompt-for-sudo-password",
        "pty",
        "warn-only",
        "write-pyc",
    }
)
"""invoke's core flags about ``c.run`` and the interpreter: meaningless for portbook."""


class PortbookProgram(Program):
    """invoke's Program plus ``-H/--hosts`` and ``-I/--inventory`` (fleet config),
    without invoke's shell-runner flags."""

    def core_args(self) -> list[Argument]:
        """invoke's core flags that mean something here, then the fleet's."""
        return [
            *(arg for arg in super().core_args() if arg.name not in RUNNER_FLAGS),
            Argument(
                names=("hosts", "H"),
                help="Run the task on these inventory hosts or groups (comma-separated, or all).",
            ),
            Argument(
                names=("inventory", "I"),
                help="Inventory file for --hosts (portbook or Ansible YAML).",
            ),
        ]

    def parse_core_args(self) -> None:
        """Parse the core flags; the runner flags invoke still reads keep their defaults."""
        try:
            super().parse_core_args()
        except ParseError as exc:
            raise Exit(f"portbook: {exc}", code=2) from None
        args = self.core[0].args
        for arg in Program.core_args(self):
            if arg.name in RUNNER_FLAGS and arg.name not in args:
                args[arg.name] = arg

    def parse_tasks(self) -> None:
        """Parse the tasks and their flags; a flag that does not parse is refused (exit 2)."""
        try:
            super().parse_tasks()
        except ParseError as exc:
            raise Exit(f"portbook: {exc}", code=2) from None

    def parse_cleanup(self) -> None:
        """``--help TASK`` for an unknown task is refused (exit 2) like a bad flag."""
        try:
            super().parse_cleanup()
        except ParseError as exc:
            raise Exit(f"portbook: {exc}", code=2) from None

    def update_config(self, merge: bool = True) -> None:
        """Put ``-H``/``-I`` into ``fleet.hosts``/``fleet.inventory`` (runtime overrides)."""
        fleet = {}
        if self.args.hosts.value:
            fleet["hosts"] = self.args.hosts.value
        if self.args.inventory.value:
            fleet["inventory"] = self.args.inventory.value
        super().update_config(merge=False)
        if fleet:
            # invoke replaced the overrides level just now; add ours to it
            self.config.load_overrides({**self.config._overrides, "fleet": fleet}, merge=False)
        if merge:
            self.config.merge()

    def print_help(self) -> None:
        """The tasks first, then the few options of portbook itself."""
        print(f"Usage: {self.binary} [options] <task> [--task-options] ...")
        print(f"       {self.binary} <task> --help    (a task's own options)")
        print("")
        self.list_tasks()
        print("Options:")
        print("")
        self.print_columns(self.initial_context.help_tuples())

    def task_list_opener(self, extra: str = "") -> str:
        """``Tasks:`` rather than invoke's ``Subcommands:``."""
        return "Tasks" + (f" ({extra})" if extra else "")


class _PipeGuard:
    """A text stream that, once its reader is gone, drops what is written instead of raising."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream

    def write(self, text: str) -> int:
        """Write through; on a closed pipe, send the rest to /dev/null."""
        try:
            return self.stream.write(text)
        except BrokenPipeError:
            _to_devnull(self.stream)
            return len(text)

    def flush(self) -> None:
        """Flush through; on a closed pipe, send the rest to /dev/null."""
        try:
            self.stream.flush()
        except BrokenPipeError:
            _to_devnull(self.stream)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.stream, name)


def _to_devnull(stream: TextIO) -> None:
    """Point the stream's file descriptor at /dev/null (buffered bytes go there too)."""
    try:
        fd = stream.fileno()
    except (OSError, ValueError):  # a stream without a descriptor: dropping is enough
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, fd)
    finally:
        os.close(devnull)


def guard_std_streams() -> None:
    """From now on, output to a closed stdout or stderr is dropped instead of raising.

    For entry points (``portbook``, invoke loading tasks.py): everything printed
    after, invoke's help and listing included, and the flush at interpreter exit.
    """
    if not isinstance(sys.stdout, _PipeGuard):
        sys.stdout = cast(TextIO, _PipeGuard(sys.stdout))
    if not isinstance(sys.stderr, _PipeGuard):
        sys.stderr = cast(TextIO, _PipeGuard(sys.stderr))


@contextlib.contextmanager
def quiet_closed_pipes() -> Iterator[None]:
    """While inside, a stdout or stderr whose reader closed (``| head -1``) is not an error.

    Output after the close is dropped and the work goes on to its own exit code:
    a change must not stop half-way because nobody reads its report. Nested uses
    share the outer guard. On leaving, both streams are flushed through it, so
    nothing fails later at interpreter exit either.
    """
    saved = sys.stdout, sys.stderr
    guard_std_streams()
    try:
        yield
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        sys.stdout, sys.stderr = saved
