"""Frozen value types shared by steps, the runner and reports."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

__all__ = ["FileChange", "Outcome", "Plan", "ServiceSpec", "StepResult", "StepStatus"]

StepStatus = Literal["ok", "changed", "skipped", "failed", "undone"]


@dataclass(frozen=True)
class ServiceSpec:
    """What the operator asked for: one service and where its port and code live.

    For modify, rename and remove, ``previous_*`` hold what the service had
    before; ``script``/``command`` are None when the command does not change.
    """

    name: str
    port: int
    category: str
    description: str
    script: str | None
    command: str | None
    fix_code: bool = False
    previous_name: str | None = None
    previous_port: int | None = None
    delete_code: bool = False

    @property
    def port_move(self) -> str:
        """``8003 -> 8010`` (old -> new) when the port changes, else just the port."""
        if self.previous_port is None or self.previous_port == self.port:
            return str(self.port)
        return f"{self.previous_port} -> {self.port}"

    @property
    def manifest_category(self) -> str:
        """The manifest's key for this category (``core_services``, ``watchdog_services``)."""
        return f"{self.category}_services"


@dataclass(frozen=True)
class FileChange:
    """One file's bytes before and after a step; None means the file does not exist."""

    path: str
    before: bytes | None
    after: bytes | None
    mode: int | None = None


@dataclass(frozen=True)
class Plan:
    """What a step would change: a summary line, file edits and supervisor programs touched."""

    summary: str
    files: tuple[FileChange, ...] = ()
    programs: tuple[str, ...] = ()
    skip_reason: str | None = None

    @property
    def changes_anything(self) -> bool:
        """False when the step has nothing to do."""
        return self.skip_reason is None


@dataclass(frozen=True)
class StepResult:
    """How one step ended, as reported to the operator."""

    name: str
    status: StepStatus
    seconds: float
    detail: str


@dataclass
class Outcome:
    """The result of a procedure run: what the reports print and the exit code."""

    procedure: str
    host: str
    steps: list[StepResult] = field(default_factory=list)
    changed_files: list[str] = field(default_factory=list)
    error: str | None = None
    code: int = 0
    detail: str = ""
    """What changed, in a few words, for the summary line (``port 8003 -> 8010``)."""

    @property
    def ok(self) -> bool:
        """True when the procedure completed without error."""
        return self.code == 0
