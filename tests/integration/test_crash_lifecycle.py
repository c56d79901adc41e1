"""A controller SIGKILLed after any step of add, modify, rename or remove is undone by rollback.

The kill points are the procedures' own step names (``portbook.procedures.PROCEDURES``):
a step added to a procedure gets its kill point here without any edit. The controller is
a forked process making the very library call the CLI makes, with the named step wrapped
so that the process SIGKILLs itself right after the step's work, before the journal marks
it applied (the moment undo knows least). ``service.rollback``'s library call then runs in
this process, which never saw the run (the smoke-stamp proofs run the CLI itself), and the
proof reads only sources independent of portbook: files from disk (bytes and mode),
supervisor's own XML-RPC, and the kernel's listeners (``oracle``: ss and /proc).

One demo per procedure serves all its kill points: each proof compares with the state read
right before its own kill, so the demo is handed on only once it is proven restored; a demo
whose proof fails is thrown away, so one failure does not cascade into the next.
"""

from __future__ import annotations

import contextlib
import json
import multiprocessing
import os
import shutil
import signal
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from portbook.commands.add import AddRequest, add_service
from portbook.commands.add import rollback as undo_run
from portbook.commands.change import (
    ModifyRequest,
    RemoveRequest,
    RenameRequest,
    modify_service,
    remove_service,
    rename_service,
)
from portbook.model import Outcome
from portbook.procedures import PROCEDURES
from portbook.steps import SmokeTest, Step
from portbook.steps.smoke import SMOKE_STAMP
from portbook.target import LocalTarget, Target

from . import oracle
from .conftest import DemoSystem, make_demo, teardown_demo, wait_dead
from .faults import KillAfter

pytestmark = pytest.mark.integration

LIFECYCLE = ("add", "modify", "rename", "remove")
KILL_POINTS = [
    pytest.param(procedure, step.name, id=f"{procedure}-after-{step.name}")
    for procedure in LIFECYCLE
    for step in PROCEDURES[procedure]
]
SMOKE_PROCEDURES = [p for p in LIFECYCLE if any(isinstance(s, SmokeTest) for s in PROCEDURES[p])]
TOUCHED = dict(add="risk_monitor", modify="db_poller", rename="db_poller", remove="db_poller")
"""The one program each procedure may restart: every other one must keep its pid."""
V2 = "backend/api/db_poller_v2.py"


class DiesAfterSpawn(LocalTarget):
    """This host, but the controller is SIGKILLed as soon as its process is spawned.

    The smoke step is the only one that spawns: it dies after journaling the smoke run's
    stamp and starting it, before it can journal the pid.
    """

    def spawn(self, *args: Any, **kwargs: Any) -> int:
        super().spawn(*args, **kwargs)
        os.kill(os.getpid(), signal.SIGKILL)
        raise AssertionError("unreachable: SIGKILL was sent")


def run_procedure(
    demo: DemoSystem, procedure: str, steps: Sequence[Step] | None, target: Target | None = None
) -> Outcome:
    """``procedure`` as the CLI calls it on ``demo``, every step doing something."""
    target, settings = target or demo.target, demo.settings
    steps = steps or PROCEDURES[procedure]
    if procedure == "add":
        return add_service(target, settings, AddRequest("risk_monitor"), steps=steps)
    if procedure == "modify":  # a new port and a new script: no step skips
        request = ModifyRequest("db_poller", port=demo.base + 120, script=V2)
        return modify_service(target, settings, request, steps=steps)
    if procedure == "rename":
        request_ = RenameRequest("db_poller", "db_watcher", fix_code=True)
        return rename_service(target, settings, request_, steps=steps)
    remove = RemoveRequest("db_poller", delete_code=True)
    return remove_service(target, settings, remove, steps=steps)


def kill_mid_run(
    demo: DemoSystem, procedure: str, steps: Sequence[Step] | None, target: Target | None = None
) -> dict[str, Any]:
    """Run ``procedure`` in a forked controller that must die of SIGKILL; the journal it left."""
    context = multiprocessing.get_context("fork")
    results = context.SimpleQueue()

    def controller() -> None:
        outcome = run_procedure(demo, procedure, steps, target)
        results.put(f"exit {outcome.code}: {outcome.error}")  # only if it was not killed

    child = context.Process(target=controller)
    child.start()
    child.join(90)
    if child.is_alive():
        child.kill()
        child.join()
    ended = "still running after 90 s" if results.empty() else results.get()
    assert child.exitcode == -signal.SIGKILL, f"the controller was not killed: {ended}"
    journal: dict[str, Any] = json.loads(Path(demo.root, ".portbook/journal.json").read_text())
    assert journal["pid"] == child.pid and journal["procedure"] == procedure
    return journal


@dataclass(frozen=True)
class Snapshot:
    """What must come back: managed files, supervisor's programs, the kernel's listeners."""

    files: dict[str, tuple[bytes, int]]
    states: dict[str, tuple[str, int]]
    listening: oracle.Listening


def snapshot(demo: DemoSystem) -> Snapshot:
    """The demo's state now, read without portbook (ports: the demo's own block)."""
    return Snapshot(demo.files(), demo.states(), oracle.listening(ports=block(demo)))


def block(demo: DemoSystem) -> range:
    """The ports this demo copy owns (its services and ranges), none other run's."""
    return range(demo.base, demo.base + 300)


def rollback(demo: DemoSystem, cli: bool = True) -> None:
    """``service.rollback`` as the operator runs it (or its library call: the same undo
    without a Python start, 0.8 s a kill point); it must succeed."""
    if cli:
        result = demo.cli("service.rollback", "--json")
        assert result.returncode == 0, result.stdout + result.stderr
    else:
        outcome = undo_run(demo.target, demo.settings)
        assert outcome.code == 0 and outcome.steps, outcome.error


def assert_restored(demo: DemoSystem, before: Snapshot, touched: str, spec: dict[str, Any]) -> None:
    """Files, programs and ports as in ``before``; only ``touched`` may have a new pid."""
    assert demo.files() == before.files
    assert not Path(demo.root, ".portbook").exists()
    states = demo.states()
    assert all(state == "RUNNING" for state, _ in states.values()), states
    assert sorted(states) == sorted(before.states)
    kept = {n: s for n, s in before.states.items() if n != touched}
    assert {n: states[n] for n in kept} == kept
    for name, (_, pid) in states.items():
        assert wait_owned(pid, demo.port(name)), f"{name} (pid {pid}) does not own its port"
    now = oracle.listening(ports=block(demo))
    ports = {demo.port(n) for n in kept}
    assert {p: now.get(p) for p in ports} == {p: before.listening.get(p) for p in ports}
    moved = {p for p in (spec["port"], spec["previous_port"]) if p}
    for port in moved - {demo.port(n) for n in states}:
        assert port not in before.listening and port not in now, f"port {port} not freed"
    assert strays(demo) == set()


def wait_owned(pid: int, port: int, timeout: float = 15.0) -> bool:
    """Poll the oracle until ``pid`` (or a child) listens on ``port``."""
    deadline = time.monotonic() + timeout
    while not oracle.owns(pid, port):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)
    return True


def strays(demo: DemoSystem) -> set[int]:
    """Processes running inside the root that are not supervisord's own tree."""
    supervisord = demo.supervisor().pid()
    tree = {supervisord} | oracle.descendants(supervisord)
    inside = set()
    for entry in filter(str.isdigit, os.listdir("/proc")):
        with contextlib.suppress(OSError):
            cwd = os.readlink(f"/proc/{entry}/cwd")
            if cwd == demo.root or cwd.startswith(demo.root + "/"):
                inside.add(int(entry))
    return inside - tree - {os.getpid()}


def _fresh(procedure: str) -> DemoSystem:
    system = make_demo()
    try:
        if procedure == "modify":
            api = Path(system.root, "backend/api")
            shutil.copy2(api / "db_poller.py", api / "db_poller_v2.py")
    except BaseException:
        teardown_demo(system, graceful=False)
        raise
    return system


@pytest.fixture(scope="module")
def pool() -> Iterator[dict[str, DemoSystem]]:
    """One running demo per procedure, shared by its kill points, torn down at the end."""
    demos: dict[str, DemoSystem] = {}
    try:
        yield demos
    finally:
        for system in demos.values():
            teardown_demo(system)


@contextlib.contextmanager
def reused(pool: dict[str, DemoSystem], procedure: str) -> Iterator[DemoSystem]:
    """``procedure``'s demo; handed back to the pool only if the block's proof passed."""
    system = pool.pop(procedure, None) or _fresh(procedure)
    try:
        yield system
    except BaseException:
        teardown_demo(system, graceful=False)
        raise
    pool[procedure] = system


def test_every_step_name_is_unique_within_its_procedure() -> None:
    # the kill points, and undo's lookup of a journal entry's step, go by name
    for procedure in LIFECYCLE:
        names = [s.name for s in PROCEDURES[procedure]]
        assert len(set(names)) == len(names), procedure


@pytest.mark.parametrize(("procedure", "step"), KILL_POINTS)
def test_a_controller_killed_after_any_step_is_undone_by_rollback(
    pool: dict[str, DemoSystem], procedure: str, step: str
) -> None:
    with reused(pool, procedure) as demo:
        before = snapshot(demo)
        steps = [KillAfter(s) if s.name == step else s for s in PROCEDURES[procedure]]
        journal = kill_mid_run(demo, procedure, steps)
        assert journal["entries"][-1]["step"] == step  # killed right after that step's work
        refused = add_service(demo.target, demo.settings, AddRequest("other_service"))
        assert refused.code == 2 and "service.rollback" in (refused.error or "")
        rollback(demo, cli=False)
        assert_restored(demo, before, TOUCHED[procedure], journal["spec"])


@pytest.mark.parametrize("procedure", SMOKE_PROCEDURES)
def test_a_smoke_run_orphaned_before_its_pid_was_journaled_is_stopped_by_rollback(
    pool: dict[str, DemoSystem], procedure: str
) -> None:
    with reused(pool, procedure) as demo:
        before = snapshot(demo)
        journal = kill_mid_run(demo, procedure, None, target=DiesAfterSpawn())
        entry, port = journal["entries"][-1], journal["spec"]["port"]
        assert entry["step"] == "smoke-test" and "smoke_pid" not in entry["data"]
        assert wait_listened(port), f"the orphaned smoke run never listened on {port}"
        (orphan,) = oracle.holders(port)
        assert _environ(orphan).get(SMOKE_STAMP) == entry["data"]["smoke_stamp"]
        rollback(demo)
        assert wait_dead(orphan)
        assert oracle.is_free(port)
        assert_restored(demo, before, TOUCHED[procedure], journal["spec"])


def wait_listened(port: int, timeout: float = 20.0) -> bool:
    """Poll the oracle until something listens on ``port``."""
    deadline = time.monotonic() + timeout
    while oracle.is_free(port):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)
    return True


def _environ(pid: int) -> dict[str, str]:
    raw = Path(f"/proc/{pid}/environ").read_bytes().decode("utf-8", "replace")
    return dict(item.partition("=")[::2] for item in raw.split("\0") if item)
