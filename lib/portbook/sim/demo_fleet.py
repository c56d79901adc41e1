"""The demo fleet: a fixed ``simfleet`` of N hosts at ``/tmp/portbook-fleet``.

``invoke demo.fleet-up`` and ``demo.fleet-down`` build and remove it; its inventory
ships as ``inventory/demo.yaml`` (the layout is :func:`portbook.sim.fleet.fixed_layout`),
and its ``fleet.json`` lets any process take it down.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from ..errors import Refused
from .fleet import (
    FIXED_MAX,
    SimFleet,
    check_trusted,
    create_fleet,
    destroy_fleet,
    destroy_from_state,
    fixed_layout,
    write_inventory,
    write_state,
)
from .hosts import stop_host_by_name

__all__ = ["DEMO_FLEET", "demo_fleet_down", "demo_fleet_up"]

DEMO_FLEET = Path("/tmp/portbook-fleet")
"""Where ``invoke demo.fleet-up`` builds the demo fleet."""


def demo_fleet_up(count: int = 3, *, fresh: bool = False, folder: Path = DEMO_FLEET) -> SimFleet:
    """Build the fixed demo fleet ``pb-demo-1..N`` in ``folder`` with its inventory and state.

    Refused when a fleet is already there, unless ``fresh`` (take it down first).
    """
    state = folder / "fleet.json"
    if fresh:
        destroy_from_state(state)
        for i in range(1, FIXED_MAX + 1):  # left by a fleet-up killed before its state was written
            netns, veth = fixed_layout(i)[2:]
            if os.path.exists(f"/run/netns/{netns}"):
                stop_host_by_name(netns, veth)
        if folder.exists():
            check_trusted(folder)
            shutil.rmtree(folder)
    elif state.exists():
        raise Refused(f"a demo fleet is already up ({state}): run demo.fleet-down, or use --fresh")
    elif folder.exists():
        raise Refused(f"{folder} exists but holds no fleet state: use --fresh to clear it")
    fleet = create_fleet(count, folder, fixed=True, name_prefix="pb-demo")
    try:
        write_inventory(fleet, fleet.inventory, groups={"canary": fleet.names[:1]})
        write_state(fleet, state)
    except BaseException:
        destroy_fleet(fleet)
        raise
    return fleet


def demo_fleet_down(folder: Path = DEMO_FLEET) -> list[str]:
    """Tear the demo fleet down from ``folder/fleet.json``; its hosts' names ([] if none)."""
    return destroy_from_state(folder / "fleet.json")
