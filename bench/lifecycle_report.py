"""What ``bench/lifecycle.py`` measures, and its section of docs/benchmarks.md.

Every verdict is computed from the runs, with its opposite for when the data says
otherwise.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

from _common import DEMO_SERVICES, median
from _probes import Refusals
from _stamp import Stamp

MODIFIED, REMOVED = "db_poller", "trade_executor"
OPS = ("service.modify", "service.remove", "supervisor.restart", "recover.emergency")
UNTOUCHED = ("service.modify", "service.remove")  # the others must not see a refused probe
TITLES = {
    "service.modify": f"`service.modify --name {MODIFIED} --port P` (P: a free port)",
    "service.remove": f"`service.remove --name {REMOVED}`",
    "supervisor.restart": "`supervisor.restart`",
    "recover.emergency": "`recover.emergency` after SIGKILL of supervisord",
}

__all__ = [
    "MODIFIED",
    "OPS",
    "REMOVED",
    "OpResult",
    "RunResult",
    "docs_body",
    "run_line",
    "unexpected",
]


@dataclass
class OpResult:
    """One timed command of one run."""

    task: str
    skipped: bool = False
    ok: bool = False
    error: str = ""
    wall: float = math.nan
    steps: dict[str, float] = field(default_factory=dict)
    probes: dict[str, Refusals] = field(default_factory=dict)  # per service probed
    reported_ok: dict[str, bool] = field(default_factory=dict)  # the JSON's services[].ok
    checks: dict[str, bool] = field(default_factory=dict)  # facts checked after the command
    own_downtime: float = math.nan  # modify: db_poller's old port down -> new port up

    @property
    def outside_steps(self) -> float:
        """Wall time not inside any step: start-up, reading, planning, locking, output."""
        return self.wall - sum(self.steps.values())

    @property
    def failed_probes(self) -> int:
        """Refused probes on the services this command probed."""
        return sum(r.failures for r in self.probes.values())


@dataclass
class RunResult:
    """Everything measured on one demo copy."""

    index: int
    base: int
    root: str
    ops: dict[str, OpResult] = field(default_factory=dict)
    error: str = ""
    killed: list[int] = field(default_factory=list)


def _ms(values: Sequence[float]) -> str:
    """``median | max`` cells in seconds (``- | -`` for none)."""
    vals = [v for v in values if not math.isnan(v)]
    return f"{median(vals):.3f} | {max(vals):.3f}" if vals else "- | -"


def _yes(results: Sequence[OpResult], check: str) -> str:
    done = [r.checks[check] for r in results if check in r.checks]
    return f"{sum(done)}/{len(done)}"


def _order(name: str) -> int:
    return DEMO_SERVICES.index(name) if name in DEMO_SERVICES else len(DEMO_SERVICES)


def timing_rows(task: str, ok: Sequence[OpResult]) -> list[str]:
    """Wall time, each step, the time outside steps (and db_poller's downtime for modify)."""
    steps: list[str] = []
    for r in ok:
        steps += [s for s in r.steps if s not in steps]
    out = ["| measure | median s | max s |", "| --- | ---: | ---: |"]
    out.append(f"| **wall time of the command** | {_ms([r.wall for r in ok])} |")
    out += [f"| step `{s}` | {_ms([r.steps.get(s, 0.0) for r in ok])} |" for s in steps]
    out.append(
        "| (outside steps: start-up, read, plan, lock, output) | "
        f"{_ms([r.outside_steps for r in ok])} |"
    )
    if task == "service.modify":
        out.append(
            f"| **{MODIFIED} downtime** (old port refusing -> new port accepting) | "
            f"{_ms([r.own_downtime for r in ok])} |"
        )
    return out


def untouched_rows(ok: Sequence[OpResult]) -> list[str]:
    """Probes on the services the command was not asked to touch, and the target's verdict."""
    names = sorted({n for r in ok for n in r.probes}, key=_order)
    out = ["| other service | probes | failed |", "| --- | ---: | ---: |"]
    for name in names:
        attempts = sum(r.probes[name].attempts for r in ok if name in r.probes)
        failures = sum(r.probes[name].failures for r in ok if name in r.probes)
        out.append(f"| {name} | {attempts} | {failures} |")
    refused = sum(r.failed_probes for r in ok)
    hit = sum(1 for r in ok if r.failed_probes)
    verdict = (
        "met: no other service refused a connection"
        if not refused
        else f"missed: {refused} refused probe(s), in {hit} of {len(ok)} runs"
    )
    return [*out, "", f"Target no refused probe on the services not touched: {verdict}."]


def downtime_rows(ok: Sequence[OpResult]) -> list[str]:
    """Per service: longest refused stretch, back at the end, the JSON's own verdict."""
    names = sorted({n for r in ok for n in r.probes}, key=_order)
    out = [
        "| service | longest refusal median s | max s | back (probe) | ok (JSON) | probes "
        "| refused |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for name in names:
        rs = [r.probes[name] for r in ok if name in r.probes]
        reported = sum(r.reported_ok.get(name, False) for r in ok)
        out.append(
            f"| {name} | {_ms([x.longest for x in rs])} | {sum(x.back for x in rs)}/{len(rs)} "
            f"| {reported}/{len(ok)} | {sum(x.attempts for x in rs)} "
            f"| {sum(x.failures for x in rs)} |"
        )
    return [*out, "", f"Services probed: {', '.join(names) or 'none'}."]


def op_section(task: str, results: Sequence[OpResult], runs: int) -> list[str]:
    """Markdown for one operation: timings, probes or downtime, and the checks made after it."""
    out = [f"### {TITLES[task]}", ""]
    if results and all(r.skipped for r in results):
        return [*out, "skipped: task not available when the benchmark ran.", ""]
    ok = [r for r in results if r.ok]
    out.append(f"{len(ok)} of {runs} runs succeeded.")
    out += [f"- run failed: {r.error}" for r in results if not r.ok and not r.skipped]
    if not ok:
        return [*out, ""]
    out += ["", *timing_rows(task, ok), ""]
    out += untouched_rows(ok) if task in UNTOUCHED else downtime_rows(ok)
    checks: list[str] = []
    for r in ok:
        checks += [c for c in r.checks if c not in checks]
    if checks:
        facts = "; ".join(f"{c} {_yes(ok, c)}" for c in checks)
        out += ["", f"Checked after the command (runs where true): {facts}."]
    return [*out, ""]


def header(stamp: Stamp, runs: int, ports: tuple[int, int], timing: tuple[float, ...]) -> list[str]:
    """Title, method and stamp; ``timing`` is (probe interval, lead, tail) in seconds."""
    interval, lead, tail = timing
    return [
        "## Service lifecycle: modify, remove, master restart, emergency recovery",
        "",
        f"`python bench/lifecycle.py --runs N --write`: each of {runs} runs installs a fresh",
        "demo copy (five services under their own supervisord, ports in "
        f"{ports[0]}-{ports[1]}) and runs, one after",
        "the other on that copy, the real commands below, each as `python -m playbooks TASK ...",
        "--root ROOT --json` in a subprocess (wall time of the whole process; per-step seconds",
        f"from its JSON). Threads TCP-connect to the services' ports every {interval * 1000:g} ms",
        f"from {lead:g} s before each command to {tail:g} s after it. For modify and remove, a",
        "refused probe on a service the command was not asked to touch is a fault (target:",
        f"none). {MODIFIED}'s downtime is from the first refused probe on its old port to the",
        "first accepted one on its new port (separate prober). For restart and recovery, a",
        "service's downtime is its longest refused stretch (first refused probe to the next",
        f"accepted one, so +/- {interval * 1000:g} ms); *back* means its last probe was",
        "accepted. Each command sees the services the ones before it left. Recovery is",
        "measured after SIGKILL of supervisord, its services left running (checked below).",
        "",
        *stamp.lines(),
        "",
    ]


def docs_body(
    results: Sequence[RunResult],
    stamp: Stamp,
    ports: tuple[int, int],
    timing: tuple[float, ...],
) -> str:
    """The markdown for the lifecycle section of docs/benchmarks.md (also printed)."""
    out = header(stamp, len(results), ports, timing)
    for task in OPS:
        out += op_section(task, [r.ops[task] for r in results if task in r.ops], len(results))
    out += [f"- run {r.index} failed: {r.error}" for r in results if r.error]
    return "\n".join(out)


def run_line(result: RunResult) -> str:
    """One line per run for the console."""
    parts = []
    for task, op in result.ops.items():
        if op.skipped:
            parts.append(f"{task} skipped: task not available")
        elif op.ok:
            extra = f", own downtime {op.own_downtime:.3f}s" if task == "service.modify" else ""
            parts.append(f"{task} {op.wall:.2f}s{extra}, refused probes {op.failed_probes}")
        else:
            parts.append(f"{task} FAILED: {op.error}")
    return "; ".join(parts) if parts else f"FAILED: {result.error}"


def unexpected(results: Sequence[RunResult]) -> list[str]:
    """Refused probes on untouched services, services not back, checks that came out false."""
    found = []
    for r in results:
        for task, op in r.ops.items():
            if not op.ok:
                continue
            for name, x in op.probes.items():
                if task in UNTOUCHED and x.failures:
                    found.append(f"run {r.index} {task}: {x.failures} failed probe(s) on {name}")
                elif not x.back:
                    found.append(f"run {r.index} {task}: {name} not accepting at the end")
            found += [f"run {r.index} {task}: NOT {c}" for c, v in op.checks.items() if not v]
    return found
