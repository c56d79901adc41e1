"""Scripts ``service.remove`` kept on purpose and nothing runs any more.

remove keeps a service's script unless ``--delete-code`` is given, and records it
(:mod:`portbook.registry.kept`). Such a script still calls ``get_port("NAME")`` for a name
in none of the four places. That call is not a bug in code that runs: it is a file
left for the operator to delete or to bring back, so doctor reports it as the
warning ``code.orphaned-service``, and leaves its imports (a ``sys.path`` guard
that the removed program's ``PYTHONPATH`` covered) alone.

A recorded script stops being an orphan as soon as a program runs it again or
its service is back in any of the four places; then the usual checks apply.
"""

from __future__ import annotations

from portbook.registry.kept import read_kept

from .checks_base import Context
from .findings import Finding

__all__ = ["orphan_finding", "orphaned_scripts"]


def orphaned_scripts(ctx: Context, run_scripts: set[str]) -> dict[str, str]:
    """Kept scripts no program runs (``run_scripts``), whose service is in none of the
    four places: absolute path -> the service it served."""

    def compute() -> dict[str, str]:
        system = ctx.system
        if system is None:
            return {}
        known = {*system.services, *system.fallback_ports, *ctx.programs}
        kept = read_kept(ctx.target, ctx.settings)
        return {
            path: name
            for path, name in kept.items()
            if name not in known and path not in run_scripts
        }

    found: dict[str, str] = ctx.memo("orphaned-scripts", compute)
    return found


def orphan_finding(ctx: Context, path: str, line: int, name: str) -> Finding:
    """``code.orphaned-service`` for ``get_port(name)`` at ``path:line``, a kept script."""
    rel = ctx.place(path)
    return Finding(
        "code.orphaned-service",
        "warning",
        ctx.place(path, line),
        f'get_port("{name}"): service.remove kept this script of {name}; nothing runs it',
        f"delete {rel} if it is no longer needed (next time, service.remove --name {name} "
        f"--delete-code deletes it too), or bring it back: "
        f"invoke service.add --name {name} --script {rel}",
    )
