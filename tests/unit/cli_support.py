"""Running portbook's and invoke's programs for CLI tests: in process, or into a closed pipe."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from invoke import Program

REPO = Path(__file__).resolve().parents[2]
PYTHON = sys.executable


def run_program(
    program: Program, argv: list[str], capsys: pytest.CaptureFixture[str]
) -> tuple[int, str, str]:
    """Run ``argv`` as the program's command line; its exit code, stdout and stderr."""
    capsys.readouterr()
    try:
        program.run(argv)
        code = 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else int(exc.code is not None)
    out = capsys.readouterr()
    return code, out.out, out.err


def cli_env() -> dict[str, str]:
    """The environment of a CLI subprocess: portbook and playbooks from this checkout."""
    return dict(os.environ, PYTHONPATH=os.pathsep.join([str(REPO / "lib"), str(REPO)]))


def into_closed_pipe(argv: list[str], cwd: Path | str = REPO) -> subprocess.CompletedProcess[str]:
    """Run ``argv`` with stdout a pipe whose reader closed before it started.

    Every write to stdout fails with EPIPE, so the test does not depend on how
    fast a reader like ``head -1`` goes away.
    """
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        return subprocess.run(
            argv,
            stdout=write_end,
            stderr=subprocess.PIPE,
            text=True,
            env=cli_env(),
            cwd=cwd,
            timeout=120,
        )
    finally:
        os.close(write_end)


def assert_quiet(done: subprocess.CompletedProcess[str]) -> None:
    """No traceback, no 'Exception ignored', no BrokenPipeError on stderr."""
    for mark in ("Traceback", "BrokenPipeError", "Exception ignored", "Broken pipe"):
        assert mark not in done.stderr, done.stderr
