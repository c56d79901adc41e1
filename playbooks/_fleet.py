"""What every procedure task does with ``--hosts``: inventory, sessions, rollout, recap.

With no hosts (no ``--hosts``, no ``portbook -H``, no ``fleet.hosts``) a task
runs locally as before; with hosts, its job runs on each of them over SSH.
"""

from __future__ import annotations

import json
import sys
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from invoke import Context, Exit
from portbook.errors import InvalidInput, PortbookError
from portbook.fleet.inventory import load_inventory
from portbook.fleet.recap import fleet_json, prefixed, recap_text
from portbook.fleet.rollout import FleetJob, RolloutOptions, rollout
from portbook.fleet.sessions import HostSession, SessionOptions, close_sessions, open_sessions

__all__ = [
    "FLEET_DEFAULTS",
    "Fleet",
    "fleet_help",
    "run_fleet",
]

FLEET_DEFAULTS: dict[str, Any] = {
    "inventory": "inventory/hosts.yaml",
    "hosts": None,
    "serial": 1,
    "max_fail": 0,
    "accept_new_keys": False,
    "connect_timeout": 10,
}

_HELP = {
    "hosts": "Run on these inventory hosts or groups over SSH (comma-separated, or all).",
    "inventory": "Inventory file, portbook or Ansible YAML (default: fleet.inventory).",
    "serial": "With --hosts: hosts done at a time; the first batch is the canary (default 1).",
    "max_fail": "With --hosts: stop once more than this many hosts failed (default 0).",
    "fleet_rollback": "With --hosts: when the rollout stops, also undo the hosts already done.",
    "accept_new_keys": "With --hosts: accept and record unknown host keys (changed: refused).",
}

_EVERY = 1_000_000
"""A batch size and failure count no inventory reaches."""

PrepareJob = Callable[[Sequence[HostSession]], FleetJob]


def fleet_help(
    help: dict[str, str], *, rolling: bool = True, rollback: bool = False
) -> dict[str, str]:
    """``help`` plus the fleet flags a task takes (rolling ones only for changing tasks)."""
    keys = ["hosts", "inventory", "accept_new_keys"]
    if rolling:
        keys += ["serial", "max_fail"]
    if rollback:
        keys.append("fleet_rollback")
    return {**help, **{key: _HELP[key] for key in keys}}


@dataclass(frozen=True)
class Fleet:
    """The fleet flags of one task invocation; ``selected`` says whether to use SSH at all."""

    hosts: str | None = None
    inventory: str | None = None
    serial: int | str | None = None
    max_fail: int | str | None = None
    fleet_rollback: bool = False
    accept_new_keys: bool = False

    @classmethod
    def reading(cls, hosts: str | None, inventory: str | None, accept_new_keys: bool) -> Fleet:
        """For read-only tasks: every host at once, and no host's failure stops the others."""
        return cls(hosts, inventory, _EVERY, _EVERY, False, accept_new_keys)

    def selection(self, c: Context) -> str | None:
        """The host selection: the flag, else ``fleet.hosts`` (``portbook -H``), else None."""
        return self.hosts or _config(c).get("hosts") or None


def run_fleet(
    c: Context, flags: Fleet, procedure: str, job: FleetJob | PrepareJob, as_json: bool
) -> None:
    """Run ``job`` on the selected hosts, print each host's lines and the recap, exit worst."""
    config = _config(c)
    try:
        path = flags.inventory or str(config.get("inventory") or FLEET_DEFAULTS["inventory"])
        hosts = load_inventory(path).select(flags.selection(c) or "")
        options = _options(flags, config)
    except PortbookError as exc:
        _refuse(exc, procedure, as_json)
        return
    sessions = open_sessions(
        hosts,
        SessionOptions(
            dict(c.config.get("portbook", {})),
            flags.accept_new_keys or bool(config.get("accept_new_keys")),
            int(config.get("connect_timeout") or 10),
        ),
    )
    try:
        try:
            ready = job if isinstance(job, FleetJob) else job(sessions)
        except PortbookError as exc:
            _refuse(exc, procedure, as_json)
            return
        if not as_json:
            names = ", ".join(h.name for h in hosts)
            print(f"{procedure} on {len(hosts)} host(s) from {path}: {names}", flush=True)
        result = rollout(sessions, ready, options, _emitter(hosts, as_json))
    finally:
        close_sessions(sessions)
    if as_json:
        print(fleet_json(result))
    else:
        print(recap_text(result), file=sys.stdout if result.code == 0 else sys.stderr)
    if result.code:
        raise Exit(code=result.code)


def _config(c: Context) -> dict[str, Any]:
    return dict(c.config.get("fleet", {}) or {})


def _options(flags: Fleet, config: dict[str, Any]) -> RolloutOptions:
    serial = flags.serial if flags.serial is not None else config.get("serial", 1)
    max_fail = flags.max_fail if flags.max_fail is not None else config.get("max_fail", 0)
    try:
        serial, max_fail = int(serial), int(max_fail)
    except (TypeError, ValueError):
        raise InvalidInput(
            f"--serial and --max-fail must be integers: {serial!r}, {max_fail!r}"
        ) from None
    if serial < 1:
        raise InvalidInput(f"--serial must be at least 1, not {serial}")
    if max_fail < 0:
        raise InvalidInput(f"--max-fail must be 0 or more, not {max_fail}")
    return RolloutOptions(serial, max_fail, flags.fleet_rollback)


def _emitter(hosts: Sequence[Any], as_json: bool) -> Callable[[str], Callable[[str], None]]:
    width = max((len(h.name) for h in hosts), default=0)
    lock = threading.Lock()

    def emit_for(name: str) -> Callable[[str], None]:
        def emit(text: str) -> None:
            if as_json:
                return
            with lock:
                for line in text.splitlines() or [""]:
                    print(prefixed(name, width, line), flush=True)

        return emit

    return emit_for


def _refuse(exc: PortbookError, procedure: str, as_json: bool) -> None:
    if as_json:
        doc = {"ok": False, "procedure": procedure, "error": str(exc), "exit_code": exc.code}
        print(json.dumps({**doc, "hosts": []}))
    else:
        verdict = "refused" if exc.code == 2 else "failed"
        print(f"{procedure}: {verdict} (exit {exc.code}): {exc}", file=sys.stderr)
    raise Exit(code=exc.code)
