"""A run killed while its smoke process listens is undone by service.rollback; concurrent runs
never interleave. (Kills after every step of every procedure: test_crash_lifecycle.py.)"""

from __future__ import annotations

import json
import multiprocessing
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from portbook.commands.add import AddRequest, add_service
from portbook.procedures import ADD
from portbook.registry import fallback, manifest
from portbook.steps import Run, SmokeTest

from . import oracle
from .conftest import DemoSystem, cli_env, wait_dead

pytestmark = pytest.mark.integration


class DieWhileSmokeRuns(SmokeTest):
    """The smoke step, but the portbook process dies while the smoke service is listening."""

    def _stop(self, run: Run, pid: int, log: str) -> float:
        os.kill(os.getpid(), signal.SIGKILL)
        return 0.0


def _add_then_die_during_smoke(demo: DemoSystem) -> None:
    steps = [DieWhileSmokeRuns() if s.name == "smoke-test" else s for s in ADD]
    add_service(demo.target, demo.settings, AddRequest("risk_monitor"), steps=steps)


def test_rollback_kills_the_orphaned_smoke_process_and_frees_the_port(demo: DemoSystem) -> None:
    files, states = demo.files(), demo.states()
    child = multiprocessing.get_context("fork").Process(
        target=_add_then_die_during_smoke, args=(demo,)
    )
    child.start()
    child.join(60)
    assert child.exitcode == -signal.SIGKILL
    port = demo.base + 100
    assert any(lst.port == port for lst in demo.target.listeners())
    (orphan,) = oracle.holders(port)
    result = demo.cli("service.rollback", "--json")
    assert result.returncode == 0, result.stdout + result.stderr
    assert demo.files() == files and demo.states() == states
    assert not any(lst.port == port for lst in demo.target.listeners())
    assert wait_dead(orphan) and oracle.is_free(port)


def _two_adds_at_once(demo: DemoSystem, *extra: str) -> list[subprocess.Popen[str]]:
    """Start ``service.add`` for risk_a and risk_b at the same moment, as two operators would."""
    return [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "playbooks",
                "service.add",
                "--name",
                name,
                "--root",
                demo.root,
                "--json",
                *extra,
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=cli_env(),
        )
        for name in ("risk_a", "risk_b")
    ]


def _finish(procs: list[subprocess.Popen[str]], timeout: float) -> list[tuple[str, str]]:
    """Both controllers' output; on a timeout (or any error) both are killed first."""
    try:
        return [p.communicate(timeout=timeout) for p in procs]
    except BaseException:
        for proc in procs:
            proc.kill()
            proc.wait(timeout=10)
        raise


def test_two_adds_at_once_never_corrupt_the_registry(demo: DemoSystem) -> None:
    procs = _two_adds_at_once(demo)
    outputs = _finish(procs, timeout=120)
    codes = sorted(p.returncode for p in procs)
    assert codes in ([0, 0], [0, 2]), outputs
    for (out, _), proc in zip(outputs, procs, strict=True):
        if proc.returncode == 2:
            assert "locked by pid" in json.loads(out)["error"]
    root = Path(demo.root)
    ports = manifest.read_services(
        (root / "backend/core/config/MASTER_PORT_MANIFEST.json").read_text(), "m"
    )
    fb = fallback.read_ports((root / "backend/core/port_config.py").read_text(), "f")
    assert {n: e.port for n, e in ports.items()} == fb
    states = demo.states()
    added = [n for n in ("risk_a", "risk_b") if n in ports]
    assert len(added) == codes.count(0)
    assert all(states[n][0] == "RUNNING" for n in added)
    assert len({ports[n].port for n in added}) == len(added)


def test_wait_lets_the_second_add_run_after_the_first(demo: DemoSystem) -> None:
    procs = _two_adds_at_once(demo, "--wait")
    outputs = _finish(procs, timeout=180)
    assert [p.returncode for p in procs] == [0, 0], outputs
    states = demo.states()
    assert states["risk_a"][0] == states["risk_b"][0] == "RUNNING"
