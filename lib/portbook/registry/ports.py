"""Port policy: who already claims a port, and the lowest free one in a category's range."""

from __future__ import annotations

import re

from ..errors import InvalidInput, PortConflict
from ..target import Listener, Target
from .system import System, section

__all__ = ["allocate_port", "check_port", "claimed_ports", "free_ports"]

_COMMAND_PORT = re.compile(
    r"(?:--port[= ]|-p |--bind[= ]\S*:|\b(?:\d{1,3}\.){3}\d{1,3}:|localhost:)(\d{2,5})\b"
)


def claimed_ports(system: System) -> dict[int, str]:
    """Every port the registry claims, with who claims it, in operator words."""
    claims: dict[int, str] = {}
    for port, why in _conf_ports(system):
        claims.setdefault(port, why)
    rel = system.settings.rel
    for name, port in system.fallback_ports.items():
        claims[port] = (
            f"{name}'s in DEFAULT_PORTS ({rel(system.settings.path(system.settings.fallback))})"
        )
    for name, entry in system.services.items():
        claims[entry.port] = f"{name}'s in the manifest"
    return claims


def check_port(port: int, system: System, target: Target, listeners: list[Listener]) -> None:
    """Refuse a port outside 1024-65535, on the avoid list, claimed, or listened on now."""
    if not 1024 <= port <= 65535:
        raise InvalidInput(f"port {port} is outside 1024-65535")
    if port in system.settings.avoid:
        raise PortConflict(f"{port} is on the avoid list ({_avoid(system)})")
    why = claimed_ports(system).get(port)
    if why:
        raise PortConflict(f"{port} is {why}")
    holder = _holder(port, target, listeners)
    if holder:
        raise PortConflict(f"{port} is held by {holder}")


def allocate_port(category: str, system: System, listeners: list[Listener]) -> int:
    """The lowest port in the category's range that nothing claims or listens on."""
    free = free_ports(category, system, listeners)
    if not free:
        low, high = system.settings.ranges[category]
        raise PortConflict(f"no free port in the {category} range {low}-{high}")
    return free[0]


def free_ports(category: str, system: System, listeners: list[Listener]) -> list[int]:
    """Every port of the category's range that nothing claims or listens on, ascending."""
    low, high = system.settings.ranges[category]
    taken = set(claimed_ports(system)) | {lst.port for lst in listeners} | system.settings.avoid
    return [port for port in range(low, high + 1) if port not in taken]


def _holder(port: int, target: Target, listeners: list[Listener]) -> str | None:
    for lst in listeners:
        if lst.port == port:
            proc = target.process(lst.pid) if lst.pid else None
            return proc.describe() if proc else f"pid {lst.pid or '?'} (unknown process)"
    return None


def _conf_ports(system: System) -> list[tuple[int, str]]:
    found: list[tuple[int, str]] = []
    for name, (conf, options) in system.programs().items():
        for match in _COMMAND_PORT.finditer(options.get("command", "")):
            found.append((int(match.group(1)), f"used by [program:{name}] in {conf.path}"))
    for conf in system.confs:
        inet = section(conf, "inet_http_server").get("port", "")
        if inet.rpartition(":")[2].isdigit():
            found.append(
                (int(inet.rpartition(":")[2]), f"supervisord's [inet_http_server] in {conf.path}")
            )
    return found


def _avoid(system: System) -> str:
    return ", ".join(str(p) for p in sorted(system.settings.avoid))
