"""supervisor.status as a report: each program's state, and an unfinished run as a problem."""

from __future__ import annotations

from ..config import Settings
from ..host.status import read_status, status_json, status_table
from ..registry.system import read_system
from ..target import Target

__all__ = ["status_report"]


def status_report(target: Target, settings: Settings) -> tuple[int, str, str]:
    """supervisor.status as (code, table, json); an unfinished run's journal is a problem."""
    report = read_status(target, read_system(target, settings), pending=True)
    return report.code, status_table(report), status_json(report)
