"""``--port auto`` on several hosts: the lowest port free on every one of them.

The manifest is the same file on every host, but what listens differs: a port
free on one host may be held by a stray process on another. Each host is
probed once (its registry and its listeners) before anything changes.
"""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

from ..errors import InvalidInput, PortbookError, PortConflict
from ..registry.manifest import ManifestEntry
from ..registry.ports import free_ports
from ..registry.system import read_system
from .sessions import HostSession

__all__ = ["common_free_port"]


def common_free_port(
    sessions: Sequence[HostSession], category: str | None, service: str | None = None
) -> int:
    """The lowest port of the range free on every open session.

    ``category`` is the range to use; when None, ``service``'s category in each
    host's manifest (``modify --port auto`` keeps the category). Raises a
    refusal naming the host when one cannot be read, or when no port is free
    everywhere.
    """
    open_ones = [s for s in sessions if s.target is not None and s.settings is not None]
    if not open_ones:
        raise PortConflict("--port auto: no selected host could be reached")
    with ThreadPoolExecutor(max_workers=min(len(open_ones), 16)) as pool:
        found = list(pool.map(lambda s: _free_on(s, category, service), open_ones))
    common = set.intersection(*(free for free, _ in found))
    ranges = {span for _, span in found}
    if not common:
        spans = ", ".join(f"{low}-{high}" for low, high in sorted(ranges)) or "the range"
        raise PortConflict(f"--port auto: no port in {spans} is free on every selected host")
    return min(common)


def _free_on(
    session: HostSession, category: str | None, service: str | None
) -> tuple[set[int], tuple[int, int]]:
    """The free ports of the range on one host, and the range."""
    assert session.target is not None and session.settings is not None
    try:
        system = read_system(session.target, session.settings)
        chosen = category or _category_of(system.services, service, session.name)
        free = set(free_ports(chosen, system, session.target.listeners()))
    except PortbookError as exc:
        raise type(exc)(f"{session.name}: --port auto: {exc}") from exc
    return free, session.settings.ranges[chosen]


def _category_of(services: dict[str, ManifestEntry], service: str | None, host: str) -> str:
    entry = services.get(service or "")
    if entry is None:
        raise InvalidInput(f"{service!r} is not in the manifest on {host}")
    return entry.category.removesuffix("_services")
