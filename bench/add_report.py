"""What ``bench/add.py`` measures per attempt, and portbook's own tables in its section.

Every sentence with a verdict is computed from the attempts: each has its opposite for
when the data says otherwise.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from _common import median
from _probes import Refusals
from _stamp import Stamp

STEPS = ("fallback", "manifest", "service-code", "supervisor-conf", "smoke-test", "apply", "verify")
BUDGET = 1.0  # seconds allowed above the floor
LABELS = {"portbook": "portbook", "ansible": "Ansible", "restart-script": "restart script"}
NAN = math.nan

__all__ = [
    "BUDGET",
    "LABELS",
    "STEPS",
    "Attempt",
    "console_line",
    "header",
    "ms",
    "of",
    "portbook_tables",
]


@dataclass
class Attempt:
    """One method's ADD on one fresh demo copy (portbook's own figures when it is portbook)."""

    method: str
    index: int
    root: str = ""
    ok: bool = False
    error: str = ""
    wall: float = NAN
    probes: dict[str, Refusals] = field(default_factory=dict)  # the other services
    others_kept: bool = False
    killed: list[int] = field(default_factory=list)
    noop: float = NAN  # Ansible: a play with no tasks, on the same copy
    steps: dict[str, float] = field(default_factory=dict)
    smoke_listen: float = NAN
    smoke_stop: float = NAN
    floor_listen: float = NAN
    floor_stop: float = NAN
    startsecs: float = NAN
    startup: float = NAN
    bare_python: float = NAN

    @property
    def floor(self) -> float:
        """Start-to-listen + SIGINT-to-exit + startsecs."""
        return self.floor_listen + self.floor_stop + self.startsecs

    @property
    def margin(self) -> float:
        """Seconds to spare under floor + 1 s (negative: missed by that much)."""
        return self.floor + BUDGET - self.wall

    @property
    def outside_steps(self) -> float:
        """Wall time not inside any step: start-up, reading, planning, locking, output."""
        return self.wall - sum(self.steps.values())

    @property
    def refused(self) -> int:
        """Refused probes on the other services."""
        return sum(r.failures for r in self.probes.values())

    @property
    def longest(self) -> float:
        """The longest refused stretch any other service saw."""
        return max((r.longest for r in self.probes.values()), default=0.0)

    @property
    def target_met(self) -> bool:
        """Wall within floor + 1 s and no refused probe."""
        return self.margin >= 0 and self.refused == 0


def console_line(a: Attempt) -> str:
    """One line per attempt for the console."""
    head = f"round {a.index} {a.method:<14}"
    if not a.ok:
        return f"{head} FAILED: {a.error}"
    extra = f", floor {a.floor:.2f}s" if a.method == "portbook" else ""
    return (
        f"{head} wall {a.wall:.2f}s{extra}, others' longest gap {a.longest:.3f}s, "
        f"refused probes {a.refused}, other pids kept {a.others_kept}"
        + (f", killed at teardown {a.killed}" if a.killed else "")
    )


def ms(values: Sequence[float]) -> str:
    vals = [v for v in values if not math.isnan(v)]
    return f"{median(vals):.3f} | {max(vals):.3f}" if vals else "- | -"


def of(attempts: Sequence[Attempt], method: str) -> list[Attempt]:
    return [a for a in attempts if a.method == method and a.ok]


def header(stamp: Stamp, runs: int, base: int) -> list[str]:
    """Title, method and stamp."""
    return [
        "## service.add, and the same ADD by Ansible and by the restart script",
        "",
        f"`python bench/add.py --runs N --write` ({runs} round{'s' * (runs != 1)} here). Each",
        "round does the same",
        "ADD three ways, each on a fresh demo copy (five services under their own supervisord)",
        f"on the same ports ({base}-{base + 4}), in an order that rotates from round to round.",
        f"The same ADD: `bench_svc` on port {base + 100}, category watchdog, one description,",
        "and the script and `[program:bench_svc]` text portbook writes (read off an untimed",
        "warm-up add).",
        "",
        "- **portbook**: `python -m playbooks service.add --name bench_svc --port P --category",
        "  watchdog --description D --json`; it returns after supervisor's `startsecs` and its",
        "  own check that the new pid owns the port.",
        "- **Ansible**: `bench/ansible/add_service.yml` through `ansible-playbook -c local`,",
        "  no fact gathering: ansible.builtin `lineinfile` (twice), `copy`, `blockinfile`,",
        "  `command: supervisorctl update bench_svc`, `wait_for` the port; it returns when the",
        "  port accepts.",
        "- **restart script**: the same four edits (made by the bench), then `python -m",
        "  portbook supervisor.restart --use-script`, which runs the system's",
        "  `scripts/MASTER_RESTART.sh` (supervisord shut down, then started again) and returns",
        "  when every program runs and owns its port.",
        "",
        "Each is timed as a whole process while a thread TCP-connects to every other service's",
        "port every 20 ms, from 0.2 s before to 0.5 s after: a service's downtime is its",
        "longest refused stretch (+/- 20 ms). Then an oracle apart from portbook",
        "(`bench/_oracle.py`: the files read with `json`, `ast` and `configparser`,",
        "supervisor's own XML-RPC client, psutil) checks the four places, that supervisor calls",
        "`bench_svc` RUNNING and that its pid owns the port: an attempt that fails it counts as",
        "failed, without a time. For portbook the floor is measured afterwards on the same",
        "copy: the new service's start-to-listen and SIGINT-to-exit times as supervisor runs",
        "it, plus `startsecs`. Target: wall <= floor + 1 s, and no failed probe on another",
        "service.",
        "",
        *stamp.lines(),
        "",
    ]


def portbook_tables(ok: Sequence[Attempt]) -> list[str]:
    """Per-step medians, the measures around the floor, where the time above it goes."""
    out = ["### portbook", "", "| step | median s |", "| --- | ---: |"]
    out += [f"| {s} | {median([a.steps.get(s, 0.0) for a in ok]):.3f} |" for s in _steps(ok)]
    out += [
        f"| (sum of steps) | {median([sum(a.steps.values()) for a in ok]):.3f} |",
        f"| (outside steps: start-up, read, plan, lock, output) | "
        f"{median([a.outside_steps for a in ok]):.3f} |",
        "",
        "| measure | median s | max s |",
        "| --- | ---: | ---: |",
    ]
    rows: list[tuple[str, Callable[[Attempt], float]]] = [
        ("total wall time of the command", lambda a: a.wall),
        ("floor = listen + stop + startsecs", lambda a: a.floor),
        ("floor: start-to-listen", lambda a: a.floor_listen),
        ("floor: SIGINT-to-exit", lambda a: a.floor_stop),
        ("floor: supervisor startsecs", lambda a: a.startsecs),
        ("smoke test's own listen (psutil poll)", lambda a: a.smoke_listen),
        ("smoke test's own stop", lambda a: a.smoke_stop),
        ("`python -m playbooks --version` (start-up + imports)", lambda a: a.startup),
        ("`python -c pass` (bare interpreter)", lambda a: a.bare_python),
    ]
    out += [f"| {label} | {ms([get(a) for a in ok])} |" for label, get in rows]
    return [*out, "", *target_verdict(ok), "", *above_floor_table(ok)]


def _steps(ok: Sequence[Attempt]) -> list[str]:
    """Every step the JSON named, in the order the runs reported them."""
    names: list[str] = []
    for a in ok:
        names += [s for s in a.steps if s not in names]
    return names


def target_verdict(ok: Sequence[Attempt]) -> list[str]:
    """Both halves of the target, per run and on the medians."""
    wall, floor = median([a.wall for a in ok]), median([a.floor for a in ok])
    in_time = sum(a.margin >= 0 for a in ok)
    clean = sum(a.refused == 0 for a in ok)
    both = sum(a.target_met for a in ok)
    refused = sum(a.refused for a in ok)
    met = wall <= floor + BUDGET and refused == 0
    return [
        f"Target wall <= floor + {BUDGET:g} s and no failed probe on another service: "
        f"{'met' if met else 'missed'} (median wall {wall:.2f} s against floor + {BUDGET:g} s "
        f"= {floor + BUDGET:.2f} s; {refused} refused probe(s) in all). Both held in {both} "
        f"of {len(ok)} runs: {in_time} within the time, {clean} without a refused probe. "
        f"Margin under floor + {BUDGET:g} s: median {median([a.margin for a in ok]):+.2f} s, "
        f"worst run {min(a.margin for a in ok):+.2f} s (negative = missed by that much)."
    ]


def above_floor_table(ok: Sequence[Attempt]) -> list[str]:
    """Wall minus floor, split into parts that add up to it in every run."""
    extra = [s for s in _steps(ok) if s not in STEPS]
    extra_label = f"other steps ({', '.join(extra)})" if extra else "other steps (none)"

    def parts(a: Attempt) -> list[tuple[str, float]]:
        files = sum(a.steps.get(s, 0.0) for s in STEPS[:4])
        other = sum(v for s, v in a.steps.items() if s not in STEPS)
        return [
            ("interpreter + imports (`--version`)", a.startup),
            ("rest outside steps (read, plan, lock, journal, output)", a.outside_steps - a.startup),
            ("file steps 1-4", files),
            (
                "smoke-test minus floor listen+stop",
                a.steps.get("smoke-test", 0.0) - a.floor_listen - a.floor_stop,
            ),
            ("apply minus startsecs", a.steps.get("apply", 0.0) - a.startsecs),
            ("verify", a.steps.get("verify", 0.0)),
            (extra_label, other),
        ]

    out = [
        "Where the time above the floor goes (medians per part; the parts of one run add up",
        "to its wall minus its floor):",
        "",
        "| part | median s |",
        "| --- | ---: |",
    ]
    for col in zip(*(parts(a) for a in ok), strict=True):
        out.append(f"| {col[0][0]} | {median([v for _, v in col]):.3f} |")
    return [*out, f"| (wall minus floor) | {median([a.wall - a.floor for a in ok]):.3f} |"]
