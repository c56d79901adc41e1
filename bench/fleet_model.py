"""What ``bench/fleet.py`` measures (runs on N hosts, procedures on one), and its CPU meters."""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

# _common puts lib/ and the repo on sys.path, so it must come before portbook.
import _common  # noqa: F401
import psutil
from portbook.fleet.inventory import load_inventory
from portbook.fleet.sessions import HostSession, SessionOptions, close_sessions, open_sessions
from portbook.sim.fleet import SimFleet

CALIBRATION_CALLS = 10

__all__ = [
    "Calibration",
    "Cost",
    "FleetRun",
    "ProcRun",
    "background_cpu",
    "calibrate",
    "machine_cpu",
    "own_cpu",
]


@dataclass
class Cost:
    """Remote commands and round trips summed over some sessions."""

    commands: int = 0
    round_trips: int = 0

    @classmethod
    def of(cls, sessions: Sequence[HostSession]) -> Cost:
        """The sessions' counters now (targets count from their creation)."""
        targets = [s.target for s in sessions if s.target is not None]
        return cls(
            sum(int(getattr(t, "commands", 0)) for t in targets),
            sum(int(getattr(t, "round_trips", 0)) for t in targets),
        )

    def __sub__(self, other: Cost) -> Cost:
        return Cost(self.commands - other.commands, self.round_trips - other.round_trips)


@dataclass
class FleetRun:
    """One timed add on ``count`` hosts."""

    count: int
    index: int
    name: str
    ok: bool = False
    error: str = ""
    wall: float = math.nan  # open_sessions .. end of rollout
    connect: float = math.nan  # open_sessions
    prepare: float = math.nan  # add_job(...)(sessions): the common port for N > 1
    rollout: float = math.nan  # FleetResult.seconds
    host_seconds: list[float] = field(default_factory=list)
    connect_cost: Cost = field(default_factory=Cost)
    job_cost: Cost = field(default_factory=Cost)  # prepare + rollout
    cpu: float = math.nan  # machine CPU seconds over the run
    own: float = math.nan  # this process's CPU seconds over the run
    cleanup_error: str = ""

    @property
    def busy(self) -> float:
        """Machine CPU as a share of what every core could give in the run's wall time."""
        return self.cpu / (self.wall * (os.cpu_count() or 1))


@dataclass
class ProcRun:
    """One procedure on one host, over an open session (connect not included)."""

    procedure: str
    ok: bool = False
    error: str = ""
    wall: float = math.nan
    cost: Cost = field(default_factory=Cost)


@dataclass
class Calibration:
    """What one trivial remote exchange costs, per call: wall, machine CPU, own CPU, trips."""

    label: str
    calls: int
    wall: float
    cpu: float
    own: float
    round_trips: float  # NaN: not made through portbook's counters


def machine_cpu() -> float:
    """CPU seconds the whole machine has spent busy so far (user + nice + system)."""
    t = psutil.cpu_times()
    return float(t.user + t.nice + t.system)


def own_cpu() -> float:
    """CPU seconds this process (every thread: the SSH client side) has used so far."""
    t = psutil.Process().cpu_times()
    return float(t.user + t.system)


def background_cpu(seconds: float = 2.0) -> float:
    """Share of every core busy over ``seconds`` while this script waits (others' work)."""
    before = machine_cpu()
    time.sleep(seconds)
    return (machine_cpu() - before) / (seconds * (os.cpu_count() or 1))


def _calls(
    label: str, sessions: Sequence[HostSession], calls: int, fn: Callable[[], Any]
) -> Calibration:
    before = Cost.of(sessions)
    cpu0, own0, started = machine_cpu(), own_cpu(), time.perf_counter()
    for _ in range(calls):
        fn()
    wall = time.perf_counter() - started
    cpu, own = machine_cpu() - cpu0, own_cpu() - own0
    trips = (Cost.of(sessions) - before).round_trips / calls
    return Calibration(label, calls, wall / calls, cpu / calls, own / calls, trips or math.nan)


def calibrate(fleet: SimFleet, calls: int = CALIBRATION_CALLS) -> list[Calibration]:
    """On the first host, ``calls`` times each: ``target.run(["true"])`` (portbook's way), and
    a new SSH command ``true`` through the same connection (the user's shell, nothing else)."""
    hosts = load_inventory(str(fleet.inventory)).select(fleet.names[0])
    sessions = open_sessions(hosts, SessionOptions({}))
    try:
        target: Any = sessions[0].target
        if target is None:
            raise RuntimeError(f"{sessions[0].name}: not connected: {sessions[0].error}")
        return [
            _calls("`target.run(['true'])`", sessions, calls, lambda: target.run(["true"])),
            _calls(
                "a new SSH command `true` (the user's shell; Fabric directly, uncounted)",
                sessions,
                calls,
                lambda: target.connection.run("true", hide=True, in_stream=False),
            ),
        ]
    finally:
        close_sessions(sessions)
