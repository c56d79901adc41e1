"""``service.list``: every service in the four places, with disagreements shown, not hidden."""

from __future__ import annotations

from dataclasses import asdict, dataclass

from .probes import owns_port
from .supervisor import ProgramState, Supervisor
from .system import System
from .target import Target

__all__ = ["ServiceRow", "list_services", "rows_table"]


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


def list_services(target: Target, system: System) -> list[ServiceRow]:
    """One row per name found in the manifest, DEFAULT_PORTS or supervisor's programs."""
    supervisor = Supervisor(target, system)
    states = supervisor.states() if supervisor.is_up() else {}
    listeners = target.listeners()
    programs = system.programs()
    names = sorted({*system.services, *system.fallback_ports, *programs})
    rows = []
    for name in names:
        entry = system.services.get(name)
        state = states.get(name)
        port = entry.port if entry else system.fallback_ports.get(name)
        owns = bool(state and state.pid and port and owns_port(target, state.pid, port, listeners))
        rows.append(
            ServiceRow(
                name=name,
                category=entry.category.removesuffix("_services") if entry else "-",
                manifest_port=entry.port if entry else None,
                fallback_port=system.fallback_ports.get(name),
                in_conf=name in programs,
                state=state.state if state else ("DOWN" if not states else "ABSENT"),
                pid=state.pid if state else 0,
                owns_port=owns,
                problems=_problems(name, entry is not None, system, name in programs, state, owns),
            )
        )
    return rows


def _problems(
    name: str,
    in_manifest: bool,
    system: System,
    in_conf: bool,
    state: ProgramState | None,
    owns: bool,
) -> tuple[str, ...]:
    found = []
    fallback = system.fallback_ports.get(name)
    if not in_manifest:
        found.append("not in manifest")
    elif fallback is None:
        found.append("not in DEFAULT_PORTS")
    elif fallback != system.services[name].port:
        found.append(f"DEFAULT_PORTS says {fallback}, manifest says {system.services[name].port}")
    if not in_conf:
        found.append("no [program] section")
    port = system.services[name].port if in_manifest else fallback
    if port is not None and state is not None and state.running and not owns:
        found.append("pid does not listen on its port")
    return tuple(found)


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
