"""The fleet section of docs/benchmarks.md, from what ``bench/fleet.py`` measured.

Every verdict is computed from the runs and the calibration, with its opposite for when
the data says otherwise.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from _common import median
from _stamp import Stamp
from fleet_model import Calibration, Cost, FleetRun, ProcRun

TARGET_RATIO = 1.5
TARGET_HOSTS = 6
PROCEDURES = ("add", "modify", "rename", "remove")

__all__ = ["PROCEDURES", "TARGET_HOSTS", "TARGET_RATIO", "console", "docs_body"]


def _med(runs: Sequence[FleetRun], get: Callable[[FleetRun], float]) -> float:
    return median([get(r) for r in runs])


def _per_host(runs: Sequence[FleetRun], get: Callable[[FleetRun], int]) -> str:
    """Per-host count (total / hosts), or a range when the runs disagree."""
    if not runs:
        return "-"
    per = sorted({get(r) / r.count for r in runs})
    fmt = [f"{v:.1f}".removesuffix(".0") for v in per]
    return fmt[0] if len(fmt) == 1 else f"{fmt[0]}-{fmt[-1]}"


def fleet_table(runs: Sequence[FleetRun], counts: Sequence[int], total: int) -> list[str]:
    """Markdown rows, one per host count: medians, ratios to one host, SSH cost, CPU."""
    out = [
        "| hosts | ok runs | end to end median s | max s | ratio to 1 host | connect s "
        "| port pick s | rollout s | rollout ratio | slowest host s | commands per host "
        "| round trips per host | machine CPU s | CPU busy | portbook CPU s |",
        "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: "
        "| ---: | ---: | ---: |",
    ]
    base = [r for r in runs if r.ok and r.count == min(counts)]
    base_wall, base_roll = _med(base, lambda r: r.wall), _med(base, lambda r: r.rollout)
    for count in counts:
        ok = [r for r in runs if r.ok and r.count == count]
        if not ok:
            out.append(f"| {count} | 0/{total} |" + " - |" * 13)
            continue
        wall, roll = _med(ok, lambda r: r.wall), _med(ok, lambda r: r.rollout)
        out.append(
            f"| {count} | {len(ok)}/{total} | {wall:.3f} | {max(r.wall for r in ok):.3f} "
            f"| {wall / base_wall:.2f}x | {_med(ok, lambda r: r.connect):.3f} "
            f"| {_med(ok, lambda r: r.prepare):.3f} | {roll:.3f} | {roll / base_roll:.2f}x "
            f"| {_med(ok, lambda r: max(r.host_seconds)):.3f} "
            f"| {_per_host(ok, lambda r: r.connect_cost.commands + r.job_cost.commands)} "
            f"| {_per_host(ok, lambda r: r.connect_cost.round_trips + r.job_cost.round_trips)} "
            f"| {_med(ok, lambda r: r.cpu):.2f} | {_med(ok, lambda r: r.busy):.0%} "
            f"| {_med(ok, lambda r: r.own):.2f} |"
        )
    return out


def cost_split(runs: Sequence[FleetRun], counts: Sequence[int]) -> list[str]:
    """Markdown rows: connect vs add, commands / round trips per host."""
    out = [
        "| hosts | connect: commands / round trips per host | add (port pick + rollout): "
        "commands / round trips per host |",
        "| ---: | ---: | ---: |",
    ]

    def cell(rs: list[FleetRun], get: Callable[[FleetRun], Cost]) -> str:
        commands = _per_host(rs, lambda r: get(r).commands)
        return f"{commands} / {_per_host(rs, lambda r: get(r).round_trips)}"

    for count in counts:
        ok = [r for r in runs if r.ok and r.count == count]
        if ok:
            connect = cell(ok, lambda r: r.connect_cost)
            out.append(f"| {count} | {connect} | {cell(ok, lambda r: r.job_cost)} |")
    return out


def _spread(values: Sequence[int]) -> str:
    low, high = min(values), max(values)
    return f"{low}" if low == high else f"{low}-{high}"


def procedure_table(connects: Sequence[Cost], procs: Sequence[dict[str, ProcRun]]) -> list[str]:
    """Markdown rows: per procedure on one host, remote commands, round trips, wall time."""
    out = [
        "| procedure (one host, session open) | ok runs | remote commands | round trips "
        "| wall median s | max s |",
        "| --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    if connects:
        out.append(
            f"| (connect: open_sessions) | {len(connects)}/{len(procs)} "
            f"| {_spread([c.commands for c in connects])} "
            f"| {_spread([c.round_trips for c in connects])} | | |"
        )
    labels = {
        "add": "add `--name bench_proc_N`",
        "modify": "modify `--port auto`",
        "rename": "rename `--to bench_ren_N --fix-code`",
        "remove": "remove `--delete-code`",
    }
    for procedure in PROCEDURES:
        ok = [p[procedure] for p in procs if procedure in p and p[procedure].ok]
        if not ok:
            out.append(f"| {labels[procedure]} | 0/{len(procs)} | - | - | - | - |")
            continue
        walls = [p.wall for p in ok]
        out.append(
            f"| {labels[procedure]} | {len(ok)}/{len(procs)} "
            f"| {_spread([p.cost.commands for p in ok])} "
            f"| {_spread([p.cost.round_trips for p in ok])} "
            f"| {median(walls):.3f} | {max(walls):.3f} |"
        )
    return out


def cost_note(cal: Sequence[Calibration], runs: Sequence[FleetRun]) -> str:
    """What a new remote command costs here, and its share of an add's CPU per host."""
    bashrc = Path.home() / ".bashrc"
    pyenv = bashrc.is_file() and "pyenv init" in bashrc.read_text(errors="replace")
    shell = f"`{bashrc}` here {'runs' if pyenv else 'does not run'} `pyenv init`"
    text = f"Each new remote command starts the user's shell on the host ({shell})"
    if len(cal) != 2:
        return text + "; the calibration did not run, so its cost is not known here."
    new, req = cal[1], cal[0]
    text += (
        f": one costs {new.cpu * 1000:.0f} ms of machine CPU and {new.wall * 1000:.0f} ms of "
        f"wall time here, a request on an open channel {req.cpu * 1000:.0f} ms and "
        f"{req.wall * 1000:.0f} ms (last table)."
    )
    ok = [r for r in runs if r.ok]
    if not ok:
        return text
    commands = median([(r.connect_cost.commands + r.job_cost.commands) / r.count for r in ok])
    cpu = median([r.cpu / r.count for r in ok])
    share = commands * new.cpu / cpu if cpu > 0 else math.nan
    return text + (
        f" With {commands:g} remote command(s) per host (median over every run), new shells "
        f"come to about {share:.0%} of the machine CPU per host ({cpu:.2f} s, median)."
    )


def intro(counts: Sequence[int], total: int) -> list[str]:
    """What the benchmark does (no figures)."""
    top = max(counts)
    return [
        "## service.add across a fleet (simulated SSH hosts)",
        "",
        f"`python bench/fleet.py --runs N --counts {','.join(map(str, counts))} --write`: one",
        f"simulated fleet of {top} hosts is built once (each host a network namespace on this",
        "machine with its own sshd on port 22 and its own copy of the demo under its own",
        "supervisord, same ports). For N hosts the first N are used with `--serial N`, all in",
        "one batch, as `service.add --name X --hosts H1,..,HN --serial N` runs it, but",
        "in-process (`open_sessions`, `add_job`, `rollout`) so each host's `SshTarget` can count",
        "remote commands (new SSH channels running a command) and round trips (every exchange",
        "that waits for the host, requests on an open channel included). *End to end* is from",
        "opening the sessions (connect, host key check, the host's facts and settings) to the",
        "end of the rollout; *port pick* is `--port auto`'s common free port, probed on every",
        "host before the rollout when N > 1; *rollout* is the rollout alone; *slowest host* the",
        f"longest host run in it. Each of the {total} runs per host count adds a new service",
        "`bench_svc_N_RUN` and removes it afterwards (untimed; a failed removal is listed under",
        "Failures), so every run finds the hosts in the same state; host counts are interleaved",
        "in each round of runs. Target: "
        f"{TARGET_HOSTS} hosts end to end within {TARGET_RATIO}x of one host (ratio of the "
        "medians).",
        "",
        "*Machine CPU* is the whole machine's busy CPU seconds (`psutil.cpu_times()`: user +",
        "nice + system) during the run, *CPU busy* that over wall time x cores, *portbook CPU*",
        "this process's own (the SSH client side: paramiko, crypto, the procedures). The hosts",
        "are namespaces on this machine, so every host's sshd, shells, remote Python,",
        "supervisord and new service share its cores with anything else running (load average",
        "below).",
        "",
    ]


def docs_body(
    runs: Sequence[FleetRun],
    counts: Sequence[int],
    total: int,
    procs: tuple[Sequence[Cost], Sequence[dict[str, ProcRun]]],
    cal: Sequence[Calibration],
    facts: dict[str, Any],
) -> str:
    """The markdown for the fleet section of docs/benchmarks.md (also printed)."""
    stamp: Stamp = facts["stamp"]
    out = [*intro(counts, total), cost_note(cal, runs), "", *stamp.lines()]
    out += [f"- Fleet built in {facts['build']} s", "", *fleet_table(runs, counts, total), ""]
    out += [*verdict(runs, facts["background"]), "", *cost_split(runs, counts), ""]
    connects, runs_procs = procs
    out += [
        "SSH cost per procedure on one host (the session already open; connect shown apart),",
        "the four in turn on one service, as many rounds as runs:",
        "",
        *procedure_table(connects, runs_procs),
        "",
    ]
    if cal:
        out += [
            f"What one trivial exchange with a host costs ({cal[0].calls} in a row on one host,"
            " session open; per call):",
            "",
            "| exchange | wall ms | machine CPU ms | portbook CPU ms | round trips |",
            "| --- | ---: | ---: | ---: | ---: |",
        ]
        out += [
            f"| {c.label} | {c.wall * 1000:.0f} | {c.cpu * 1000:.0f} | {c.own * 1000:.0f} "
            f"| {'-' if math.isnan(c.round_trips) else f'{c.round_trips:g}'} |"
            for c in cal
        ]
    return "\n".join([*out, *failures(runs, runs_procs)])


def failures(runs: Sequence[FleetRun], procs: Sequence[dict[str, ProcRun]]) -> list[str]:
    """Every failed run, cleanup and procedure, as a list (empty when none failed)."""
    problems = [f"- {r.count} hosts run {r.index}: {r.error}" for r in runs if r.error]
    problems += [
        f"- {r.count} hosts run {r.index}: cleanup: {r.cleanup_error}"
        for r in runs
        if r.cleanup_error
    ]
    for p in procs:
        problems += [f"- {s.procedure} on one host: {s.error}" for s in p.values() if s.error]
    return ["", "Failures:", *problems] if problems else []


def verdict(runs: Sequence[FleetRun], background: str) -> list[str]:
    """The target, met or not; where the extra time goes; what the CPU says about why."""
    n = TARGET_HOSTS
    one = [r for r in runs if r.ok and r.count == 1]
    many = [r for r in runs if r.ok and r.count == n]
    if not one or not many:
        return [f"Target not judged: it needs successful runs on 1 and on {n} hosts."]
    wall1, wall_n = _med(one, lambda r: r.wall), _med(many, lambda r: r.wall)
    ratio, worst = wall_n / wall1, max(r.wall for r in many) / wall1
    parts = [
        ("connect", lambda r: r.connect),
        ("port pick", lambda r: r.prepare),
        ("rollout", lambda r: r.rollout),
    ]
    extra = ", ".join(f"{name} {_med(many, get) - _med(one, get):+.2f} s" for name, get in parts)
    busy, cores = _med(many, lambda r: r.busy), os.cpu_count() or 1
    floor = _med(many, lambda r: r.cpu) / cores
    text = (
        f"Target {n} hosts within {TARGET_RATIO}x of one host, end to end: "
        f"{'met' if ratio <= TARGET_RATIO else 'missed'} ({ratio:.2f}x on the medians, "
        f"{wall_n:.2f} s vs {wall1:.2f} s; slowest {n}-host run {worst:.2f}x; rollout alone "
        f"{_med(many, lambda r: r.rollout) / _med(one, lambda r: r.rollout):.2f}x). "
        f"{n} hosts against one, {wall_n - wall1:+.2f} s (medians): {extra}. On {n} hosts the "
        f"machine's cores were {busy:.0%} busy (median; {cores} cores; busy CPU on this "
        f"machine before and after the benchmark, while it waited: {background})"
    )
    if busy >= 0.8:
        text += (
            f": the {n}-host run is close to CPU-bound here, so the ratio measures this "
            "machine's cores as much as portbook's parallelism"
        )
    text += (
        f". Even spread perfectly over the {cores} cores, the machine CPU of a {n}-host run "
        f"(median {_med(many, lambda r: r.cpu):.1f} s, other work included) takes "
        f"{floor:.2f} s, {floor / wall1:.2f}x the one-host time: "
        + (
            "the target cannot be met on this machine unless the CPU per host goes down"
            if floor / wall1 > TARGET_RATIO
            else "within the target, so the CPU alone does not rule it out"
        )
    )
    return [text + "."]


def console(runs: Sequence[FleetRun]) -> list[str]:
    """One line per run for the console."""
    lines = []
    for r in runs:
        if r.ok:
            lines.append(
                f"{r.count} host(s) run {r.index}: end to end {r.wall:.2f}s (connect "
                f"{r.connect:.2f}, port pick {r.prepare:.2f}, rollout {r.rollout:.2f}), "
                f"{r.connect_cost.commands + r.job_cost.commands} commands / "
                f"{r.connect_cost.round_trips + r.job_cost.round_trips} round trips, "
                f"machine CPU {r.cpu:.2f}s ({r.busy:.0%}), portbook CPU {r.own:.2f}s"
            )
        else:
            lines.append(f"{r.count} host(s) run {r.index}: FAILED: {r.error}")
        if r.cleanup_error:
            lines.append(f"  cleanup failed: {r.cleanup_error}")
    return lines
