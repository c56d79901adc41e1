"""What a doctor check reports: one finding per problem, with where it is and how to fix it."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Literal

__all__ = ["Finding", "Severity"]

Severity = Literal["error", "warning"]


@dataclass(frozen=True)
class Finding:
    """One problem: check id, severity, place (file:line, service name or pid), message, fix."""

    check: str
    severity: Severity
    place: str
    message: str
    fix: str
    fixable: bool = False

    def as_dict(self) -> dict[str, object]:
        """JSON-ready form."""
        return asdict(self)
