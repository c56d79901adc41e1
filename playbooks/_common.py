"""What every playbook does around the engine: settings, the target, printing, exit codes."""

from __future__ import annotations

import shutil
import sys
from dataclasses import replace
from typing import Any

from invoke import Context, Exit
from portbook.config import Settings
from portbook.errors import PortbookError
from portbook.model import Outcome, StepResult
from portbook.registry.system import root_settings
from portbook.report.steps import outcome_json, step_line, summary_line
from portbook.target import LocalTarget, Target


def open_local(c: Context, root: str | None, *, system: bool = True) -> tuple[Target, Settings]:
    """The local target and the settings for ``root`` (flag, config, or cwd).

    Refuses (exit 2) when that folder is not a system's root, unless ``system`` is False
    (``demo.up`` opens the folder it is about to fill).
    """
    target = LocalTarget()
    settings = root_settings(target, dict(c.config.get("portbook", {})), root, system=system)
    if settings.supervisord == "supervisord" and shutil.which("supervisord") is None:
        # supervisor installed for this interpreter but its script is not on PATH
        settings = replace(settings, supervisord=f"{sys.executable} -m supervisor.supervisord")
    return target, settings


def printer(as_json: bool) -> Any:
    """A step callback: one line per step for humans, silence for --json."""

    def show(result: StepResult) -> None:
        if not as_json:
            print(step_line(result), flush=True)

    return show


def finish(outcome: Outcome, as_json: bool) -> None:
    """Print the summary (or the one JSON object) and exit with the outcome's code."""
    if as_json:
        print(outcome_json(outcome))
    else:
        stream = sys.stdout if outcome.ok else sys.stderr
        print(summary_line(outcome), file=stream)
    if outcome.code:
        raise Exit(code=outcome.code)


def refuse(exc: PortbookError, as_json: bool, procedure: str, host: str = "local") -> None:
    """Report an error raised outside the runner, with its exit code."""
    outcome = Outcome(procedure, host, error=str(exc), code=exc.code)
    finish(outcome, as_json)
