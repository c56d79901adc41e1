"""The help text of every flag more than one task takes: written once, used by every task."""

from __future__ import annotations

__all__ = [
    "ACCEPT_NEW_KEYS_HELP",
    "FLEET_ROLLBACK_HELP",
    "HOSTS_HELP",
    "INVENTORY_HELP",
    "JSON_HELP",
    "MAX_FAIL_HELP",
    "ROOT_HELP",
    "SERIAL_HELP",
    "WAIT_HELP",
    "fleet_help",
]

ROOT_HELP = "The managed system's root folder (default: portbook.root, else the current folder)."
JSON_HELP = "Print exactly one JSON object on stdout."
WAIT_HELP = "Wait for another portbook run's lock instead of refusing."

HOSTS_HELP = "Run on these inventory hosts or groups over SSH (comma-separated, or all)."
INVENTORY_HELP = "Inventory file, portbook or Ansible YAML (default: fleet.inventory)."
SERIAL_HELP = "With --hosts: hosts done at a time; the first batch is the canary (default 1)."
MAX_FAIL_HELP = "With --hosts: stop once more than this many hosts failed (default 0)."
FLEET_ROLLBACK_HELP = "With --hosts: when the rollout stops, also undo the hosts already done."
ACCEPT_NEW_KEYS_HELP = "With --hosts: accept and record unknown host keys (changed: refused)."


def fleet_help(
    help: dict[str, str], *, rolling: bool = True, rollback: bool = False
) -> dict[str, str]:
    """``help`` plus the fleet flags a task takes (rolling ones only for changing tasks)."""
    fleet = {
        "hosts": HOSTS_HELP,
        "inventory": INVENTORY_HELP,
        "accept_new_keys": ACCEPT_NEW_KEYS_HELP,
    }
    if rolling:
        fleet |= {"serial": SERIAL_HELP, "max_fail": MAX_FAIL_HELP}
    if rollback:
        fleet["fleet_rollback"] = FLEET_ROLLBACK_HELP
    return {**help, **fleet}
