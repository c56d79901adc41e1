"""The end of a fleet run: a recap table per host, or the same as one JSON object."""

from __future__ import annotations

import json
from typing import Any

from ..model import StepResult
from ..secrets import mask_secrets
from .rollout import FleetResult, HostResult, HostRun

__all__ = ["fleet_doc", "fleet_json", "prefixed", "recap_text"]

_COLUMNS = ("host", "result", "ok", "changed", "failed", "unreachable", "rolled back", "exit")


def prefixed(host: str, width: int, line: str) -> str:
    """A line of one host's output, prefixed with the host name (secrets masked)."""
    return f"{host:<{width}} | {mask_secrets(line)}".rstrip()


def recap_text(result: FleetResult) -> str:
    """The recap: one row per host with step counts, exit code and time; then the errors."""
    rows: list[tuple[str, ...]] = [(*_COLUMNS, "time")]
    rows += [_row(host) for host in result.hosts]
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    opts, count = result.options, len(result.hosts)
    rolling = f", serial {min(opts.serial, count)}"
    rolling += f", max-fail {opts.max_fail}" if opts.max_fail < count else ""
    rolling += ", fleet-rollback" if opts.fleet_rollback else ""
    lines = [
        f"RECAP {result.procedure}: {count} host(s){rolling}; "
        f"{result.seconds:.2f}s, exit {result.code}"
    ]
    for row in rows:
        cells = [row[0].ljust(widths[0]), row[1].ljust(widths[1])]
        cells += [cell.rjust(width) for cell, width in zip(row[2:], widths[2:], strict=True)]
        lines.append("  ".join(cells).rstrip())
    for host in result.hosts:
        if host.error and host.status != "skipped":
            lines.append(f"{host.name}: {mask_secrets(host.error)}")
    stuck = [h.name for h in result.hosts if h.code == 3]
    if stuck:
        lines.append(
            f"journal kept on {', '.join(stuck)}: once reachable, run "
            f"`invoke service.rollback --hosts {','.join(stuck)}`"
        )
    if result.stopped:
        lines.append(f"stopped: {result.stopped}")
    return "\n".join(lines)


def fleet_doc(result: FleetResult) -> dict[str, Any]:
    """The run as a JSON-ready mapping: options, totals, and one entry per host."""
    return {
        "ok": result.code == 0,
        "procedure": result.procedure,
        "serial": result.options.serial,
        "max_fail": result.options.max_fail,
        "fleet_rollback": result.options.fleet_rollback,
        "seconds": round(result.seconds, 3),
        "stopped": result.stopped,
        "exit_code": result.code,
        "hosts": [_host_doc(host) for host in result.hosts],
    }


def fleet_json(result: FleetResult) -> str:
    """Exactly one JSON object for the whole run."""
    return json.dumps(fleet_doc(result))


def _counts(host: HostResult) -> dict[str, int]:
    steps = list(host.run.steps if host.run else [])
    steps += host.rollback.steps if host.rollback else []
    return {
        "ok": sum(s.status in ("ok", "skipped") for s in steps),
        "changed": sum(s.status == "changed" for s in steps),
        "failed": sum(s.status == "failed" for s in steps)
        + (host.status == "failed" and not steps),
        "unreachable": int(host.status == "unreachable"),
        "rolled back": sum(s.status == "undone" for s in steps),
    }


def _failed_before_steps(host: HostResult, steps: list[StepResult]) -> int:
    """1 when the host failed without running a step (refused, or its settings are wrong)."""
    return int(host.status == "failed" and not steps)


def _row(host: HostResult) -> tuple[str, ...]:
    counts = _counts(host)
    exit_code = "-" if host.code is None else str(host.code)
    seconds = "-" if host.status == "skipped" else f"{host.seconds:.2f}s"
    return (host.name, host.status, *(str(v) for v in counts.values()), exit_code, seconds)


def _run_doc(run: HostRun | None) -> dict[str, Any] | None:
    if run is None:
        return None
    return {
        "exit_code": run.code,
        "error": mask_secrets(run.error) if run.error else None,
        "changed": run.changed,
        **{k: v for k, v in run.doc.items() if k not in ("exit_code", "error")},
    }


def _host_doc(host: HostResult) -> dict[str, Any]:
    return {
        "host": host.name,
        "address": host.address,
        "result": host.status,
        "exit_code": host.code,
        "error": mask_secrets(host.error) if host.error else None,
        "seconds": round(host.seconds, 3),
        "counts": _counts(host),
        "run": _run_doc(host.run),
        "rollback": _run_doc(host.rollback),
    }
