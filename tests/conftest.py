"""Suite-wide guard: in CI the root-only tests (network namespaces, sshd) must not skip.

Outside root they skip with a message. With ``PORTBOOK_REQUIRE_ROOT_TESTS=1``
(``.ci/run`` sets it), any such skip fails the run, so CI cannot pass while
the fleet and SSH proofs silently did not run.
"""

from __future__ import annotations

import os

import pytest

ROOT_ONLY_MARKERS = ("SSH host tests need", "network namespace")
_skipped_root_tests: list[str] = []


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    """Remember root-only tests that were skipped."""
    if report.skipped and any(m in str(report.longrepr) for m in ROOT_ONLY_MARKERS):
        _skipped_root_tests.append(report.nodeid)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Fail the run when root-only tests skipped although CI requires them."""
    if os.environ.get("PORTBOOK_REQUIRE_ROOT_TESTS") == "1" and _skipped_root_tests:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Say which root-only tests skipped, and that CI counts that as a failure."""
    if os.environ.get("PORTBOOK_REQUIRE_ROOT_TESTS") == "1" and _skipped_root_tests:
        terminalreporter.write_line(
            f"FAILED: {len(_skipped_root_tests)} root-only test(s) skipped but "
            "PORTBOOK_REQUIRE_ROOT_TESTS=1 (run as root with sshd and iproute2)",
            red=True,
        )
