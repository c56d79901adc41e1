"""``service.list``: every service in the four places, with disagreements shown, not hidden.

The live half of each row (state, pid, ownership, who holds the port, what should
run) is :func:`portbook.host.status.read_status`'s, so ``service.list`` names every problem
``supervisor.status`` would, in the same words, and exits 1 on the same systems; the
list adds what only it looks at: the four places disagreeing, and names that are in
DEFAULT_PORTS alone.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass

from ..config import Settings
from ..host.status import ProgramStatus, StatusReport, read_status
from ..registry.system import System, read_system
from ..target import Target

__all__ = ["ServiceRow", "list_report", "list_services", "rows_table"]


@dataclass(frozen=True)
class ServiceRow:
    """One service as the four places and the live system see it."""

    name: str
    category: str
    manifest_port: int | None
    fallback_port: int | None
    in_conf: bool
    state: str
    pid: int
    owns_port: bool
    problems: tuple[str, ...]

    def as_dict(self) -> dict[str, object]:
        """JSON-ready form."""
        return {**asdict(self), "problems": list(self.problems)}


def list_services(
    target: Target, system: System, status: StatusReport | None = None
) -> list[ServiceRow]:
    """One row per name in the manifest, DEFAULT_PORTS, supervisor's config or supervisord.

    ``status`` is read when not given (``supervisor.status``'s rows, without pending runs).
    """
    status = status or read_status(target, system)
    live = {p.name: p for p in status.programs}
    programs = system.programs()
    rows = []
    for name in sorted({*system.services, *system.fallback_ports, *programs, *live}):
        entry = system.services.get(name)
        row = live.get(name)
        rows.append(
            ServiceRow(
                name=name,
                category=entry.category.removesuffix("_services") if entry else "-",
                manifest_port=entry.port if entry else None,
                fallback_port=system.fallback_ports.get(name),
                in_conf=name in programs,
                state=row.state if row else ("DOWN" if not status.up else "ABSENT"),
                pid=row.pid if row else 0,
                owns_port=row.owns_port if row else False,
                problems=(*_place_problems(name, system), *_live_problems(row)),
            )
        )
    return rows


def list_report(target: Target, settings: Settings) -> tuple[int, str, str]:
    """``service.list`` as (exit code, table, JSON): exit 1 when any row has a problem, when
    supervisord is down, or when an unfinished run is pending (what status fails on too)."""
    system = read_system(target, settings)
    status = read_status(target, system, pending=True)
    rows = list_services(target, system, status)
    notes = [n for n in (None if status.up else "supervisord is not running", status.pending) if n]
    ok = not notes and not any(r.problems for r in rows)
    doc = {
        "ok": ok,
        "services": [r.as_dict() for r in rows],
        "supervisord": {"up": status.up, "pid": status.supervisord_pid},
        "pending": status.pending,
        "exit_code": 0 if ok else 1,
    }
    text = rows_table(rows) + "".join(f"\n{n}" for n in notes)
    return (0 if ok else 1), text, json.dumps(doc)


def _place_problems(name: str, system: System) -> tuple[str, ...]:
    found = []
    fallback = system.fallback_ports.get(name)
    entry = system.services.get(name)
    if entry is None:
        found.append("not in manifest")
    elif fallback is None:
        found.append("not in DEFAULT_PORTS")
    elif fallback != entry.port:
        found.append(f"DEFAULT_PORTS says {fallback}, manifest says {entry.port}")
    if name not in system.programs():
        found.append("no [program] section")
    return tuple(found)


def _live_problems(row: ProgramStatus | None) -> tuple[str, ...]:
    """What ``supervisor.status`` says is wrong with the row (nothing when it is ok)."""
    return (row.problem(),) if row is not None and not row.ok else ()


def rows_table(rows: list[ServiceRow]) -> str:
    """A fixed-width table for humans."""
    head = (
        f"{'service':<26}{'category':<10}{'manifest':>9}{'fallback':>9}  "
        f"{'state':<9}{'pid':>7}  owns  problems"
    )
    lines = [head]
    for r in rows:
        lines.append(
            f"{r.name:<26}{r.category:<10}{_p(r.manifest_port):>9}{_p(r.fallback_port):>9}  "
            f"{r.state:<9}{r.pid or '-':>7}  {'yes' if r.owns_port else 'no':<4}  "
            f"{'; '.join(r.problems) or 'ok'}"
        )
    return "\n".join(lines)


def _p(port: int | None) -> str:
    return "-" if port is None else str(port)
