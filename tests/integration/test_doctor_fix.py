"""doctor --fix on a copy of the demo system: each fixable problem seeded, repaired, undone."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from portbook.commands.doctor_fix import DOCTOR_FIX, fix_plan, fix_system
from portbook.host.probes import owns_port
from portbook.registry import code, fallback, manifest
from portbook.registry.supervisor_conf import SupervisorConf
from portbook.sim.demo import demo_up

from . import oracle
from .conftest import DEMO_SERVICES, DemoSystem, make_demo, teardown_demo
from .faults import FaultAfter

pytestmark = pytest.mark.integration

FALLBACK = "backend/core/port_config.py"
MANIFEST = "backend/core/config/MASTER_PORT_MANIFEST.json"
CONF = "backend/supervisord.conf"
SERVICE = "backend/api/trade_manager.py"
SCRIPT = "scripts/check_ports.sh"

HARDCODED = '''"""REC.IO demo service: trade_manager."""

import uvicorn

from backend.core.health import health_app

app = health_app("trade_manager")

if __name__ == "__main__":
    uvicorn.run(app, host="127.0.0.1", port={port}, log_level="warning")
'''

FIXED = '''"""REC.IO demo service: trade_manager."""

import uvicorn

from backend.core.health import health_app
from backend.core.port_config import get_port

app = health_app("trade_manager")

if __name__ == "__main__":
    uvicorn.run(app, host="127.0.0.1", port=get_port("trade_manager"), log_level="warning")
'''

SHELL = """#!/bin/bash
# the ports the operator checks by hand
PORTS=({ports})
SUPPORTED=(1 2 3)
for p in "${{PORTS[@]}}"; do lsof -i ":$p"; done
"""

DECOYS = (  # the same hardcoded service where doctor must not look
    "venv/lib/python3.11/site-packages/decoy.py",
    ".venv/decoy.py",
    "node_modules/pkg/decoy.py",
    ".git/hooks/decoy.py",
    ".github/scripts/decoy.py",
    "logs/decoy.py",
    "backend/api/__pycache__/decoy.py",
)


def _block(ports: list[tuple[str, int, str]]) -> str:
    lines = "".join(f'    "{name}": {port},{tail}\n' for name, port, tail in ports)
    return "DEFAULT_PORTS = {\n" + lines + "}\n"


class Seeded:
    """A demo copy with one of each fixable problem, and the bytes a fix must produce."""

    def __init__(self, demo: DemoSystem) -> None:
        self.demo = demo
        root, p = Path(demo.root), demo.port
        self.original = {rel: (root / rel).read_bytes() for rel in (FALLBACK, CONF, SERVICE)}
        heart = "  # price feed heartbeat"
        agreed = _block(
            [
                ("main_app", p("main_app"), ""),
                ("trade_manager", p("trade_manager"), ""),
                ("trade_executor", p("trade_executor"), ""),
                ("btc_price_watchdog", p("btc_price_watchdog"), heart),
                ("db_poller", p("db_poller"), ""),
            ]
        )
        text = self.original[FALLBACK].decode()
        assert agreed in text
        seeded = _block(  # trade_executor missing, db_poller differs, old_poller extra
            [
                ("main_app", p("main_app"), ""),
                ("trade_manager", p("trade_manager"), ""),
                ("btc_price_watchdog", p("btc_price_watchdog"), heart),
                ("db_poller", demo.base + 50, ""),
                ("old_poller", demo.base + 60, ""),
            ]
        )
        fixed = _block(
            [
                ("main_app", p("main_app"), ""),
                ("trade_manager", p("trade_manager"), ""),
                ("btc_price_watchdog", p("btc_price_watchdog"), heart),
                ("db_poller", p("db_poller"), ""),
                ("trade_executor", p("trade_executor"), ""),
            ]
        )
        conf = self.original[CONF].decode()
        tmp_conf = conf.replace(
            "stdout_logfile=logs/db_poller.out.log", "stdout_logfile=/tmp/db_poller.out.log"
        ).replace(
            "stderr_logfile=logs/trade_executor.err.log",
            "stderr_logfile=/tmp/recio/trade_executor.err.log",
        )
        assert tmp_conf.count("/tmp/") == 2
        hardcoded = HARDCODED.format(port=p("trade_manager"))
        all_ports = " ".join(str(p(name)) for name in DEMO_SERVICES)
        self.seeded = {
            FALLBACK: text.replace(agreed, seeded).encode(),
            SERVICE: hardcoded.encode(),
            SCRIPT: SHELL.format(ports="3000 4000 9999").encode(),
            CONF: tmp_conf.encode(),
        }
        self.expected = {
            FALLBACK: text.replace(agreed, fixed).encode(),
            SERVICE: FIXED.encode(),
            SCRIPT: SHELL.format(ports=all_ports).encode(),
            CONF: self.original[CONF],
        }
        for rel, data in self.seeded.items():
            (root / rel).write_bytes(data)
        (root / "backend/core/limits.py").write_text(f"TIMEOUT_MS = {p('trade_manager')}\n")
        for rel in DECOYS:
            (root / rel).parent.mkdir(parents=True, exist_ok=True)
            (root / rel).write_text(hardcoded)

    def decoys(self) -> dict[str, bytes]:
        """The bytes of every file doctor must leave alone even where ``files()`` looks not."""
        return {rel: Path(self.demo.root, rel).read_bytes() for rel in DECOYS}


@pytest.fixture
def seeded() -> Iterator[Seeded]:
    """A stopped demo copy with every fixable problem seeded."""
    demo = make_demo(start=False)
    try:
        yield Seeded(demo)
    finally:
        teardown_demo(demo)


def test_fix_repairs_each_seeded_problem_byte_for_byte(seeded: Seeded) -> None:
    demo = seeded.demo
    before, decoys = demo.files(), seeded.decoys()
    outcome = fix_system(demo.target, demo.settings)
    assert outcome.ok, outcome.error
    assert [s.status for s in outcome.steps] == ["changed"] * 4
    assert sorted(demo.settings.rel(p) for p in outcome.changed_files) == sorted(seeded.expected)
    after = demo.files()
    for rel, data in seeded.expected.items():
        assert after[rel][0] == data, rel
        assert after[rel][1] == before[rel][1], f"{rel}: mode changed"
    untouched = {rel: v for rel, v in before.items() if rel not in seeded.expected}
    assert {rel: after[rel] for rel in untouched} == untouched
    assert seeded.decoys() == decoys
    assert not Path(demo.root, ".portbook", "journal.json").exists()


def test_after_a_fix_the_four_places_agree(seeded: Seeded) -> None:
    demo = seeded.demo
    assert fix_system(demo.target, demo.settings).ok
    root = Path(demo.root)
    services = manifest.read_services((root / MANIFEST).read_text(), MANIFEST)
    ports = {name: entry.port for name, entry in services.items()}
    assert fallback.read_ports((root / FALLBACK).read_text(), FALLBACK) == ports
    programs = SupervisorConf.parse((root / CONF).read_text(), CONF).programs()
    assert set(programs) == set(ports)
    for name, options in programs.items():
        assert code.calls_get_port((root / f"backend/api/{name}.py").read_text(), name)
        assert not options["stdout_logfile"].startswith("/tmp")
        assert not options["stderr_logfile"].startswith("/tmp")


def test_a_second_fix_run_skips_every_step_and_changes_nothing(seeded: Seeded) -> None:
    demo = seeded.demo
    assert fix_system(demo.target, demo.settings).ok
    files = demo.files()
    again = fix_system(demo.target, demo.settings)
    assert again.ok, again.error
    assert [(s.name, s.status) for s in again.steps] == [(s.name, "skipped") for s in DOCTOR_FIX]
    assert again.changed_files == [] and demo.files() == files


def test_fix_plan_shows_every_repair_and_writes_nothing(seeded: Seeded) -> None:
    demo = seeded.demo
    files, decoys = demo.files(), seeded.decoys()
    names, plans = fix_plan(demo.target, demo.settings)
    assert names == [s.name for s in DOCTOR_FIX]
    planned = {demo.settings.rel(c.path): c for plan in plans for c in plan.files}
    assert {rel: c.after for rel, c in planned.items()} == seeded.expected
    assert {rel: c.before for rel, c in planned.items()} == seeded.seeded
    assert demo.files() == files and seeded.decoys() == decoys
    assert not Path(demo.root, ".portbook").exists()


@pytest.mark.parametrize("k", range(len(DOCTOR_FIX)), ids=[s.name for s in DOCTOR_FIX])
def test_a_fault_at_each_fix_step_leaves_every_file_byte_identical(seeded: Seeded, k: int) -> None:
    demo = seeded.demo
    files, decoys = demo.files(), seeded.decoys()
    steps = list(DOCTOR_FIX)
    steps[k] = FaultAfter(steps[k])
    outcome = fix_system(demo.target, demo.settings, steps=steps)
    assert outcome.code == 1 and "injected fault" in str(outcome.error)
    assert [s.status for s in outcome.steps] == ["undone"] * k + ["failed"]
    assert demo.files() == files and seeded.decoys() == decoys
    assert not Path(demo.root, ".portbook", "journal.json").exists()


def test_the_fixed_demo_starts_and_every_service_owns_its_manifest_port(seeded: Seeded) -> None:
    demo = seeded.demo
    assert fix_system(demo.target, demo.settings).ok
    demo_up(demo.target, demo.settings)
    states = demo.states()
    for name in DEMO_SERVICES:
        state, pid = states[name]
        assert state == "RUNNING" and owns_port(demo.target, pid, demo.port(name)), name
        assert oracle.owns(pid, demo.port(name)), name
    assert Path(demo.root, "logs", "db_poller.out.log").exists()
    assert not Path("/tmp/recio/trade_executor.err.log").exists()


def test_doctor_fix_from_the_cli_leaves_no_fixable_finding(seeded: Seeded) -> None:
    import json

    demo = seeded.demo
    before = json.loads(demo.cli("doctor", "--json").stdout)
    assert any(f["fixable"] for f in before["findings"])
    fixed = demo.cli("doctor", "--fix", "--json")
    assert fixed.returncode in (0, 1), fixed.stdout + fixed.stderr
    after = json.loads(demo.cli("doctor", "--json").stdout)
    assert [f for f in after["findings"] if f["fixable"]] == []
