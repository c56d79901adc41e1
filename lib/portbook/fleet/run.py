"""A procedure on the selected hosts: inventory, sessions, rollout, each host's lines, recap.

With no host selected (no ``--hosts``, no ``portbook -H``, no ``fleet.hosts``)
a procedure runs locally; with hosts, its job runs on each of them over SSH.
:func:`run_fleet` writes what an operator reads (or the one JSON object) and
returns the exit code: the worst host's, or the refusal's.
"""

from __future__ import annotations

import json
import sys
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ..commands.options import rollout_numbers
from ..errors import PortbookError
from .inventory import load_inventory
from .jobs import PrepareJob
from .recap import fleet_json, prefixed, recap_text
from .rollout import FleetJob, RolloutOptions, rollout
from .sessions import SessionOptions, close_sessions, open_sessions

__all__ = ["EVERY", "FLEET_DEFAULTS", "FleetFlags", "Write", "rollout_options", "run_fleet"]

FLEET_DEFAULTS: dict[str, Any] = {
    "inventory": "inventory/hosts.yaml",
    "hosts": None,
    "serial": 1,
    "max_fail": 0,
    "accept_new_keys": False,
    "connect_timeout": 10,
}
"""The ``fleet`` configuration's defaults (``portbook -H`` sets ``hosts``)."""

EVERY = 1_000_000
"""A batch size and failure count no inventory reaches."""

Write = Callable[[str, bool], None]
"""Where the run's text goes: ``write(text, to_stderr)``."""


def _print(text: str, to_stderr: bool) -> None:
    print(text, file=sys.stderr if to_stderr else sys.stdout, flush=True)


@dataclass(frozen=True)
class FleetFlags:
    """The fleet flags of one invocation; :meth:`selection` says whether to use SSH at all."""

    hosts: str | None = None
    inventory: str | None = None
    serial: int | str | None = None
    max_fail: int | str | None = None
    fleet_rollback: bool = False
    accept_new_keys: bool = False

    @classmethod
    def reading(cls, hosts: str | None, inventory: str | None, accept_new_keys: bool) -> FleetFlags:
        """For read-only procedures: every host at once, no host's failure stops the others."""
        return cls(hosts, inventory, EVERY, EVERY, False, accept_new_keys)

    def selection(self, config: Mapping[str, Any]) -> str | None:
        """The host selection: the flag, else ``fleet.hosts`` (``portbook -H``), else None."""
        return self.hosts or config.get("hosts") or None


def rollout_options(flags: FleetFlags, config: Mapping[str, Any]) -> RolloutOptions:
    """The flags over the ``fleet`` configuration; InvalidInput for a bad serial or max-fail."""
    serial = flags.serial if flags.serial is not None else config.get("serial", 1)
    max_fail = flags.max_fail if flags.max_fail is not None else config.get("max_fail", 0)
    return RolloutOptions(*rollout_numbers(serial, max_fail), flags.fleet_rollback)


def run_fleet(
    procedure: str,
    flags: FleetFlags,
    config: Mapping[str, Any],
    settings: Mapping[str, Any],
    job: FleetJob | PrepareJob,
    as_json: bool,
    write: Write = _print,
) -> int:
    """Run ``procedure``'s ``job`` on the selected hosts; write each host's lines, the recap.

    ``config`` is the ``fleet`` configuration, ``settings`` the ``portbook`` one
    each host's settings start from. Returns the worst host's exit code, or a
    refusal's (bad inventory, selection or options; a job that cannot be made).
    """
    try:
        path = flags.inventory or str(config.get("inventory") or FLEET_DEFAULTS["inventory"])
        hosts = load_inventory(path).select(flags.selection(config) or "")
        options = rollout_options(flags, config)
    except PortbookError as exc:
        return _refuse(exc, procedure, as_json, write)
    accept = flags.accept_new_keys or bool(config.get("accept_new_keys"))
    timeout = int(config.get("connect_timeout") or 10)
    sessions = open_sessions(hosts, SessionOptions(dict(settings), accept, timeout))
    try:
        try:
            ready = job if isinstance(job, FleetJob) else job(sessions)
        except PortbookError as exc:
            return _refuse(exc, procedure, as_json, write)
        if not as_json:
            names = ", ".join(h.name for h in hosts)
            write(f"{procedure} on {len(hosts)} host(s) from {path}: {names}", False)
        result = rollout(sessions, ready, options, _emitter(hosts, as_json, write))
    finally:
        close_sessions(sessions)
    if as_json:
        write(fleet_json(result), False)
    else:
        write(recap_text(result), result.code != 0)
    return result.code


def _emitter(
    hosts: Sequence[Any], as_json: bool, write: Write
) -> Callable[[str], Callable[[str], None]]:
    width = max((len(h.name) for h in hosts), default=0)
    lock = threading.Lock()

    def emit_for(name: str) -> Callable[[str], None]:
        def emit(text: str) -> None:
            if as_json:
                return
            with lock:
                for line in text.splitlines() or [""]:
                    write(prefixed(name, width, line), False)

        return emit

    return emit_for


def _refuse(exc: PortbookError, procedure: str, as_json: bool, write: Write) -> int:
    if as_json:
        doc = {"ok": False, "procedure": procedure, "error": str(exc), "exit_code": exc.code}
        write(json.dumps({**doc, "hosts": []}), False)
    else:
        verdict = "refused" if exc.code == 2 else "failed"
        write(f"{procedure}: {verdict} (exit {exc.code}): {exc}", True)
    return exc.code
