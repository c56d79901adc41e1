"""Suite-wide guards: root-only tests must not skip in CI; no test may leave anything running.

Outside root the root-only tests (network namespaces, sshd) skip with a message.
With ``PORTBOOK_REQUIRE_ROOT_TESTS=1`` (``.ci/run`` sets it), any such skip fails
the run, so CI cannot pass while the fleet and SSH proofs silently did not run.

Every run is tagged (``tests/leakcheck.py``): a supervisord, service, sshd or
namespace it started and left behind fails the run, named by pid and command
line, and is then killed and removed.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from portbook.sim import fleet as simfleet

from tests import leakcheck

ROOT_ONLY_MARKERS = ("SSH host tests need", "network namespace")
_skipped_root_tests: list[str] = []
_leak_report: list[str] = []


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    """Remember root-only tests that were skipped."""
    if report.skipped and any(m in str(report.longrepr) for m in ROOT_ONLY_MARKERS):
        _skipped_root_tests.append(report.nodeid)


def pytest_configure(config: pytest.Config) -> None:
    """Tag the run before anything starts: its folder, its marker in the environment."""
    if leakcheck.current() is None:
        leakcheck.begin()


@pytest.fixture(scope="session", autouse=True)
def _leak_marks(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Watch pytest's basetemp too; fleets name their namespaces and folders for this run."""
    leakcheck.watch(Path(tmp_path_factory.getbasetemp()))
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(simfleet, "create_host", leakcheck.create_host)
        yield


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Fail the run when root-only tests skipped although CI requires them, or on a leak."""
    if os.environ.get("PORTBOOK_REQUIRE_ROOT_TESTS") == "1" and _skipped_root_tests:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
    _leak_report[:] = leakcheck.finish()
    passing = (pytest.ExitCode.OK, pytest.ExitCode.NO_TESTS_COLLECTED)
    if _leak_report and session.exitstatus in passing:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Say which root-only tests skipped (CI counts that as a failure), and what leaked."""
    if os.environ.get("PORTBOOK_REQUIRE_ROOT_TESTS") == "1" and _skipped_root_tests:
        terminalreporter.write_line(
            f"FAILED: {len(_skipped_root_tests)} root-only test(s) skipped but "
            "PORTBOOK_REQUIRE_ROOT_TESTS=1 (run as root with sshd and iproute2)",
            red=True,
        )
    for line in _leak_report:
        terminalreporter.write_line(line, red=True)
