"""Port policy: every registered port is a TCP port, unprivileged, not on the avoid list, and
inside its category's configured range (``ranges``, ``avoid`` in portbook.yaml)."""

from __future__ import annotations

from collections.abc import Iterator

from .checks_base import Check, Context
from .findings import Finding

__all__ = ["POLICY"]


def _ports(ctx: Context) -> Iterator[tuple[str, int, str, str | None]]:
    """``(name, port, place, category)``: each manifest port, and each DEFAULT_PORTS value
    that is not the manifest's (category None)."""
    system = ctx.system
    if system is None:
        return
    for name, entry in sorted(system.services.items()):
        place = ctx.place(ctx.manifest_path, ctx.manifest_line.get(name))
        yield name, entry.port, place, entry.category.removesuffix("_services")
    for name, port, line in ctx.fallback_entries[1]:
        known = system.services.get(name)
        if known is None or known.port != port:
            yield name, port, ctx.place(ctx.fallback_path, line), None


def check_policy(ctx: Context) -> Iterator[Finding]:
    """``policy.invalid``, ``policy.privileged``, ``policy.avoid`` and ``policy.range``."""
    settings = ctx.settings
    avoid = ", ".join(str(p) for p in sorted(settings.avoid))
    for name, port, place, category in _ports(ctx):
        low, high = settings.ranges.get(category or "", (0, 0))
        move = f"invoke service.modify --name {name} --port auto"
        if not 1 <= port <= 65535:
            yield Finding(
                "policy.invalid", "error", place, f"{name}: {port} is not a TCP port", move
            )
        elif port < 1024:
            yield Finding(
                "policy.privileged",
                "error",
                place,
                f"{name}: port {port} is privileged (below 1024: binding it needs root)",
                f"move it to an unprivileged port: {move}",
            )
        if port in settings.avoid:
            yield Finding(
                "policy.avoid",
                "error",
                place,
                f"{name}: port {port} is on the avoid list ({avoid})",
                f"move it off the avoid list: {move}",
            )
        elif category is not None and 1024 <= port <= 65535 and not low <= port <= high:
            yield Finding(
                "policy.range",
                "warning",
                place,
                f"{name}: port {port} is outside the {category} range {low}-{high}",
                f"move it into the range ({move}), or widen ranges.{category} in portbook.yaml",
            )


POLICY = Check(
    ("policy.invalid", "policy.privileged", "policy.avoid", "policy.range"), False, check_policy
)
