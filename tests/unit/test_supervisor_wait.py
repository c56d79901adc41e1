"""Supervisor.wait_running: failures name the error log, quote its last line, round durations."""

from __future__ import annotations

import time
from typing import Any

import pytest
from portbook.errors import StepFailed
from portbook.host.supervisor import Supervisor
from portbook.registry.system import System
from portbook.target.fake import FakeTarget

from .conftest import FakeSupervisor


class WithLogs(FakeSupervisor):
    """FakeSupervisor that also answers getProcessInfo and the log tails."""

    stderr = "Traceback (most recent call last):\nKeyError: 'DB_PASSWORD=\"hunter2\"'\n"

    def __call__(self, method: str, args: tuple[Any, ...]) -> Any:
        if method == "supervisor.getProcessInfo":
            return {"name": args[0], "stderr_logfile": "logs/x.err.log", "stdout_logfile": ""}
        if method == "supervisor.tailProcessStderrLog":
            return [self.stderr, len(self.stderr), False]
        if method == "supervisor.tailProcessStdoutLog":
            return ["", 0, False]
        return super().__call__(method, args)


def test_a_fatal_program_names_its_log_and_quotes_the_last_line_masked(
    target: FakeTarget, system: System
) -> None:
    WithLogs(target, {"x": ("FATAL", 0)})
    with pytest.raises(StepFailed) as caught:
        Supervisor(target, system).wait_running("x", 1.0)
    message = str(caught.value)
    assert message.startswith("x is FATAL in supervisor, not RUNNING; ")
    assert f"{system.settings.root}/logs/x.err.log ends: KeyError: " in message
    assert "hunter2" not in message and "***" in message
    assert "\n" not in message


def test_a_timeout_says_how_long_the_whole_wait_took_in_whole_seconds(
    target: FakeTarget, system: System
) -> None:
    WithLogs(target, {"x": ("STARTING", 0)})
    began = time.monotonic() - 29.9959
    with pytest.raises(StepFailed, match=r"^x not RUNNING after 30s \(STARTING\);"):
        Supervisor(target, system).wait_running("x", 0.01, since=began)
