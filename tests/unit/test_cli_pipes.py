"""Output into a closed pipe (``| head -1``): quiet, and the exit code is the run's own."""

from __future__ import annotations

import io
import sys

import pytest
from portbook.cli import quiet_closed_pipes

from tests.unit.cli_support import PYTHON, assert_quiet, into_closed_pipe


@pytest.mark.parametrize(
    "argv",
    [
        [PYTHON, "-m", "playbooks", "--help"],
        [PYTHON, "-m", "playbooks", "--list"],
        [PYTHON, "-m", "playbooks", "service.add", "--help"],
        [PYTHON, "-m", "invoke", "--list"],
        [PYTHON, "-m", "invoke", "doctor", "-h"],
    ],
)
def test_help_and_lists_into_a_closed_pipe_exit_0_without_a_traceback(argv: list[str]) -> None:
    done = into_closed_pipe(argv)
    assert_quiet(done)
    assert done.returncode == 0, done.stderr


def test_a_refusal_into_a_closed_pipe_keeps_its_exit_code() -> None:
    done = into_closed_pipe([PYTHON, "-m", "playbooks", "service.add", "--json"])
    assert_quiet(done)
    assert done.returncode == 2


class _ClosedPipe(io.StringIO):
    """A stream whose reader has gone: every write and flush fails."""

    def write(self, text: str) -> int:
        raise BrokenPipeError(32, "Broken pipe")

    def flush(self) -> None:
        raise BrokenPipeError(32, "Broken pipe")


def test_work_inside_the_guard_goes_on_after_the_reader_closed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(sys, "stdout", _ClosedPipe())
    done = []
    with quiet_closed_pipes():
        print("step 1", flush=True)
        done.append(1)
        print("step 2")
        done.append(2)
    assert done == [1, 2]
    assert isinstance(sys.stdout, _ClosedPipe)
