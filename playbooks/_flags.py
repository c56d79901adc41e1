"""portbook's ``@task``: invoke's, with one flag scheme for every task.

* Short flags are not derived from the parameter names (invoke's
  ``auto_shortflags``, which gave ``-h`` to ``--check`` in one task and to
  ``--hosts`` in the next, and printed ``--, --accept-new-keys``): only the
  flags in :data:`SHORT_FLAGS` have one, and each means the same everywhere.
  ``-h`` is always help.
* A parameter annotated ``int`` (or ``int | None``) is an INT flag, even when its
  default is None ("unset: use the config"); a value that is not an integer is
  refused with exit 2, not a traceback.
* A parameter without a default is a required flag: missing, the task refuses
  (exit 2) naming the flag, before its body runs.
* While a task runs, a closed stdout or stderr (``| head -1``) is not an error:
  the rest of the output is dropped and the run finishes with its own exit code.
"""

from __future__ import annotations

import inspect
import typing
from collections.abc import Callable
from typing import Any

from invoke import Argument, Exit, Task
from invoke import task as invoke_task
from portbook.cli import quiet_closed_pipes
from portbook.errors import InvalidInput

from ._common import refuse

__all__ = ["SHORT_FLAGS", "PortbookTask", "task"]

SHORT_FLAGS: dict[str, str] = {
    "name": "n",
    "port": "p",
    "to": "t",
    "root": "r",
    "check": "C",
    "json": "j",
    "wait": "w",
    "hosts": "H",
    "inventory": "i",
}
"""Parameter -> its one short flag, the same in every task. ``-C`` is Ansible's ``--check``,
``-i`` its inventory; ``-H`` is ``portbook -H``. Every other flag is long only."""


class IntArgument(Argument):
    """An INT flag whose bad value is refused (exit 2) instead of raising ValueError."""

    def set_value(self, value: Any, cast: bool = True) -> None:
        """Cast to int; ``--serial abc`` ends the program with a one-line refusal."""
        try:
            super().set_value(value, cast)
        except ValueError:
            raise Exit(f"--{self.name} must be an integer, not {value!r}", code=2) from None


class PortbookTask(Task[Any]):
    """An invoke Task with portbook's flags: fixed short flags, INT kinds, required flags."""

    def __init__(self, body: Callable[..., Any], **kwargs: Any) -> None:
        kwargs["auto_shortflags"] = False
        super().__init__(body, **kwargs)

    def arg_opts(self, name: str, default: str, taken_names: set[str]) -> dict[str, Any]:
        """invoke's options for one parameter, plus its short flag and its INT kind."""
        opts = super().arg_opts(name, default, taken_names)
        if name in SHORT_FLAGS:
            opts["names"] = [*opts["names"], SHORT_FLAGS[name]]
        if _is_int(typing.get_type_hints(self.body).get(name)):
            opts["kind"] = int
        return opts

    def get_arguments(self, ignore_unknown_help: bool | None = None) -> list[Argument]:
        """The task's flags; unlike invoke's, calling it twice keeps the help texts."""
        saved = dict(self.help)
        try:
            args = super().get_arguments(ignore_unknown_help)
        finally:
            self.help = saved
        return [_int_argument(a) if a.kind is int else a for a in args]

    def required(self) -> list[str]:
        """The flags this task cannot run without (parameters with no default)."""
        params = list(inspect.signature(self.body).parameters.values())[1:]
        return [p.name for p in params if p.default is inspect.Parameter.empty]

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        """Refuse a missing required flag (exit 2); run the body with closed pipes quiet."""
        with quiet_closed_pipes():
            given = inspect.signature(self.body).bind_partial(*args, **kwargs).arguments
            missing = [n for n in self.required() if given.get(n) is None]
            if missing:
                flags = " and ".join(f"--{n.replace('_', '-')}" for n in missing)
                verb = "is" if len(missing) == 1 else "are"
                exc = InvalidInput(f"{flags} {verb} required (see --help)")
                refuse(exc, bool(given.get("json")), self.name)
            return super().__call__(*args, **kwargs)


def task(*args: Any, **kwargs: Any) -> Callable[..., Any]:
    """``@task`` or ``@task(help=..., ...)``: invoke's decorator making a PortbookTask."""
    return invoke_task(*args, klass=PortbookTask, **kwargs)


def _is_int(hint: Any) -> bool:
    """True for ``int`` and ``int | None``."""
    return hint is int or (hint is not None and set(typing.get_args(hint)) == {int, type(None)})


def _int_argument(arg: Argument) -> IntArgument:
    return IntArgument(
        names=arg.names,
        kind=int,
        default=arg.default,
        help=arg.help,
        positional=arg.positional,
        optional=arg.optional,
        incrementable=arg.incrementable,
        attr_name=arg.attr_name,
    )
