"""The same service.add / modify / rename / remove library calls, unchanged, on an SshTarget.

One namespace host (see sshhosts.py) runs sshd, and through the SSH session a
copy of the demo system with its own supervisord on the demo's default ports.
Files are checked straight from disk (the host shares this filesystem), as an
oracle independent of the code under test; supervisor's state over XML-RPC; who
listens on a port with ss and /proc in the host's namespace (oracle.py). Each
procedure's round trips are held within 10% of what they were measured to cost.
"""

from __future__ import annotations

import contextlib
import glob as globmod
import math
import os
import signal
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from portbook.commands.add import AddRequest, add_service
from portbook.commands.change import (
    ModifyRequest,
    RemoveRequest,
    RenameRequest,
    modify_service,
    remove_service,
    rename_service,
)
from portbook.config import Settings
from portbook.errors import Locked, TargetError
from portbook.host.probes import owns_port
from portbook.host.supervisor import Supervisor
from portbook.model import Outcome
from portbook.procedures import ADD
from portbook.registry import fallback, manifest
from portbook.registry.supervisor_conf import SupervisorConf
from portbook.registry.system import read_system
from portbook.sim.demo import demo_up
from portbook.target import LocalTarget, RunResult, SshTarget, connect

from . import oracle
from .faults import FaultAfter
from .roundtrips import Cost, measure
from .sshhosts import (
    HostUnavailable,
    SshHost,
    create_host,
    destroy_host,
    install_system,
    managed_files,
    skip_reason,
    supervisor_states,
)

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(skip_reason() is not None, reason=skip_reason() or ""),
]

NEW = "risk_monitor"
RENAMED = "risk_watch"
MAX_COMMANDS_PER_RUN = 0
"""Remote commands one procedure may start (a shell and a Python start each, ~0.2 s here).

None: the lock, every file operation, probe, signal, spawn and XML-RPC call goes to the
one serving Python the connection started already (a line each way on its channel).
"""
ROUND_TRIPS = {"add": 134, "modify": 119, "rename": 118, "remove": 117}
"""Round trips of work (``roundtrips.Cost.work``: commands and requests, each well under a
millisecond on a LAN, but the repeats of polls that timing decides) one run of each procedure
costs here, most of them journal writes, doctor's checks and supervisor XML-RPC calls.
Measured 2026-12-06 at 363a2ea, this module's sequence (the demo; add NEW, modify
--port auto, rename --fix-code, remove --delete-code), 8 runs, 4 with 2 cores idle and 4
with 4 CPU burners: the same every time, while all round trips went add 155-182, modify
131-147, rename 128-136, remove 117. Each run must stay within 10% of its figure, either
way: more is a regression; less is progress to record here (measure again: ``-s`` prints it).
"""


@dataclass
class HostSystem:
    """The demo system on the namespace host, driven through ``target``."""

    host: SshHost
    target: SshTarget
    settings: Settings

    @property
    def root(self) -> Path:
        """The system's root (a path on the host, and here: the filesystem is shared)."""
        return Path(self.settings.root)

    def files(self) -> dict[str, tuple[bytes, int]]:
        """Every managed file's bytes and mode (logs, runtime and journal folders excluded)."""
        return managed_files(self.root)

    def states(self) -> dict[str, tuple[str, int]]:
        """Supervisor's process list: name -> (state, pid)."""
        return supervisor_states(self.target, self.root)

    def places(self, name: str) -> tuple[int | None, int | None, bool]:
        """What the manifest, DEFAULT_PORTS and supervisord.conf say about ``name``."""
        mtext = (self.root / self.settings.manifest).read_text()
        ftext = (self.root / self.settings.fallback).read_text()
        ctext = (self.root / self.settings.supervisor_conf).read_text()
        entry = manifest.read_services(mtext, "m").get(name)
        return (
            entry.port if entry else None,
            fallback.read_ports(ftext, "f").get(name),
            name in SupervisorConf.parse(ctext, "c").programs(),
        )

    def listening(self, port: int) -> bool:
        """True when something listens on ``port`` in the host's network namespace."""
        return any(lst.port == port for lst in self.target.listeners())


@pytest.fixture(scope="module")
def host() -> Iterator[SshHost]:
    """One namespace host with sshd, torn down after the module."""
    try:
        built = create_host()
    except HostUnavailable as exc:
        pytest.skip(str(exc))
    try:
        yield built
    finally:
        destroy_host(built)


@pytest.fixture(scope="module")
def system(host: SshHost) -> Iterator[HostSystem]:
    """The demo installed on the host and brought up over SSH (demo_up on the SshTarget)."""
    settings = install_system(host)
    target = host.connect()
    try:
        demo_up(target, settings)
        yield HostSystem(host, target, settings)
    finally:  # also when demo_up failed: its supervisord may be up
        with contextlib.suppress(Exception):
            Supervisor(target, read_system(target, settings)).shutdown(timeout=20)


@pytest.fixture(scope="module")
def costs() -> dict[str, Cost]:
    """Each procedure's cost over SSH, filled in by the fixture that runs it."""
    return {}


def costed(
    system: HostSystem, costs: dict[str, Cost], procedure: str, call: Callable[[], Outcome]
) -> Outcome:
    """``call()``'s outcome, its cost recorded as ``procedure``'s."""
    outcome, costs[procedure] = measure(system.target, call)
    return outcome


@dataclass
class Added:
    """What one add over SSH did and cost."""

    outcome_code: int
    error: str | None
    steps: list[str]
    host: str
    before: dict[str, tuple[str, int]]
    commands: int
    round_trips: int
    seconds: float


@pytest.fixture(scope="module")
def added(system: HostSystem, costs: dict[str, Cost]) -> Added:
    """service.add of NEW on the host, through the very call the CLI makes."""
    before, started = system.states(), time.monotonic()
    request = AddRequest(NEW)
    outcome = costed(
        system, costs, "add", lambda: add_service(system.target, system.settings, request)
    )
    return Added(
        outcome.code,
        outcome.error,
        [s.name for s in outcome.steps],
        outcome.host,
        before,
        costs["add"].commands,
        costs["add"].round_trips,
        time.monotonic() - started,
    )


# --- procedures, unchanged, over SSH ---------------------------------------------------------


def test_fault_after_the_last_add_step_leaves_the_hosts_files_byte_identical(
    system: HostSystem,
) -> None:
    files, states = system.files(), system.states()
    ports = {lst.port for lst in system.target.listeners()}
    steps = list(ADD)
    steps[-1] = FaultAfter(steps[-1])
    outcome = add_service(system.target, system.settings, AddRequest(NEW), steps=steps)
    assert outcome.code == 1, outcome.error
    assert f"injected fault after {ADD[-1].name}" in (outcome.error or "")
    assert [s.status for s in outcome.steps][-1] == "failed"
    assert system.files() == files
    assert system.states() == states
    assert not (system.root / ".portbook").exists()
    assert system.places(NEW) == (None, None, False)
    assert {lst.port for lst in system.target.listeners()} == ports
    assert set(oracle.listening(system.host.netns)) == ports


def test_add_over_ssh_makes_four_places_agree_and_the_new_pid_owns_its_port(
    system: HostSystem, added: Added
) -> None:
    assert added.outcome_code == 0, added.error
    assert added.steps == [s.name for s in ADD]
    assert added.host == system.target.host
    port = system.places(NEW)[0]
    assert port is not None and system.places(NEW) == (port, port, True)
    assert f'get_port("{NEW}")' in (system.root / "backend/api" / f"{NEW}.py").read_text()
    after = system.states()
    assert after[NEW][0] == "RUNNING"
    assert owns_port(system.target, after[NEW][1], port)
    assert oracle.owns(after[NEW][1], port, system.host.netns)
    assert {n: after[n] for n in added.before} == added.before
    assert not (system.root / ".portbook").exists()


@pytest.fixture(scope="module")
def modified(system: HostSystem, added: Added, costs: dict[str, Cost]) -> tuple[int, int]:
    """service.modify of NEW to a new port; (old port, new port)."""
    assert added.outcome_code == 0, added.error
    old = system.places(NEW)[0]
    assert old is not None
    request = ModifyRequest(NEW, port="auto")
    outcome = costed(
        system, costs, "modify", lambda: modify_service(system.target, system.settings, request)
    )
    assert outcome.code == 0, outcome.error
    new = system.places(NEW)[0]
    assert new is not None
    return old, new


def test_modify_over_ssh_moves_the_port_and_restarts_only_that_service(
    system: HostSystem, added: Added, modified: tuple[int, int]
) -> None:
    old, new = modified
    assert old != new and system.places(NEW) == (new, new, True)
    state, pid = system.states()[NEW]
    assert state == "RUNNING" and owns_port(system.target, pid, new)
    assert oracle.owns(pid, new, system.host.netns)
    assert not system.listening(old)
    assert oracle.is_free(old, system.host.netns)
    assert {n: system.states()[n] for n in added.before} == added.before


@pytest.fixture(scope="module")
def renamed(system: HostSystem, modified: tuple[int, int], costs: dict[str, Cost]) -> int:
    """service.rename of NEW to RENAMED, its get_port call rewritten; the port it keeps."""
    request = RenameRequest(NEW, RENAMED, fix_code=True)
    outcome = costed(
        system, costs, "rename", lambda: rename_service(system.target, system.settings, request)
    )
    assert outcome.code == 0, outcome.error
    return modified[1]


def test_rename_over_ssh_moves_all_four_places_and_keeps_the_port(
    system: HostSystem, added: Added, renamed: int
) -> None:
    port = renamed
    assert system.places(NEW) == (None, None, False)
    assert system.places(RENAMED) == (port, port, True)
    assert f'get_port("{RENAMED}")' in (system.root / "backend/api" / f"{NEW}.py").read_text()
    states = system.states()
    state, pid = states.pop(RENAMED)
    assert state == "RUNNING" and owns_port(system.target, pid, port)
    assert oracle.owns(pid, port, system.host.netns)
    assert states == added.before


@pytest.fixture(scope="module")
def removed(system: HostSystem, renamed: int, costs: dict[str, Cost]) -> tuple[int, int]:
    """service.remove of RENAMED and its code; (the pid it had, its port)."""
    pid = system.states()[RENAMED][1]
    request = RemoveRequest(RENAMED, delete_code=True)
    outcome = costed(
        system, costs, "remove", lambda: remove_service(system.target, system.settings, request)
    )
    assert outcome.code == 0, outcome.error
    return pid, renamed


def test_remove_over_ssh_leaves_no_trace_no_process_and_a_free_port(
    system: HostSystem, added: Added, removed: tuple[int, int]
) -> None:
    pid, port = removed
    assert system.places(RENAMED) == (None, None, False)
    assert not (system.root / "backend/api" / f"{NEW}.py").exists()
    assert RENAMED not in system.states()
    assert system.target.process(pid) is None
    assert not system.listening(port)
    assert oracle.is_free(port, system.host.netns)
    assert system.states() == added.before


@pytest.mark.parametrize("procedure", list(ROUND_TRIPS))
def test_each_procedure_over_ssh_costs_within_10_percent_of_its_measured_round_trips(
    procedure: str, removed: tuple[int, int], costs: dict[str, Cost]
) -> None:
    cost, baseline = costs[procedure], ROUND_TRIPS[procedure]
    print(
        f"{procedure} over SSH: {cost.commands} commands, {cost.work} round trips of work "
        f"({cost.round_trips} in all, {cost.repeated_polls} repeating polls)"
    )
    assert cost.commands <= MAX_COMMANDS_PER_RUN
    assert cost.work <= math.ceil(baseline * 1.10), (
        f"{procedure} over SSH took {cost.work} round trips of work, more than 10% over the "
        f"{baseline} measured (ROUND_TRIPS): a regression"
    )
    assert cost.work >= math.floor(baseline * 0.90), (
        f"{procedure} over SSH took {cost.work} round trips of work, more than 10% under the "
        f"{baseline} measured: measure again and update ROUND_TRIPS[{procedure!r}]"
    )


# --- the target itself -----------------------------------------------------------------------

HOSTILE = [
    "$(touch PWNED)",
    "`touch PWNED`",
    "a b; touch PWNED",
    'it\'s "quoted" & | > <',
    "-rf",
    "new\nline",
    "star*?[x]",
    "ünï €",
]


def test_hostile_paths_and_arguments_are_passed_literally(system: HostSystem) -> None:
    target, base = system.target, system.host.folder / "hostile"
    paths = [str(base / name / name) for name in HOSTILE]
    for name, path in zip(HOSTILE, paths, strict=True):
        target.makedirs(str(base / name))
        target.write_atomic(path, name.encode(), mode=0o640)
        target.append_bytes(path, b"|more")
        assert Path(path).read_bytes() == name.encode() + b"|more"
        assert target.read_optional(path) == Path(path).read_bytes()
        assert target.file_mode(path) == 0o640
    assert target.glob(str(base) + "/*/*") == sorted(paths)
    assert target.glob(str(base / "star[*]?[[]x]" / "*")) == [paths[HOSTILE.index("star*?[x]")]]
    done = target.run(["printf", "%s|", *HOSTILE], cwd=str(base / HOSTILE[0]), env={"X": "$(x)"})
    assert done.code == 0 and done.stdout == "".join(f"{name}|" for name in HOSTILE)
    log = str(base / HOSTILE[2] / "spawn.log")
    script = 'printf "%s|" "$X" "$@"'
    pid = target.spawn(
        ["sh", "-c", script, "sh", *HOSTILE], str(base / HOSTILE[1]), {"X": "`x`"}, log
    )
    deadline = time.monotonic() + 10
    while target.exit_code(pid) is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert target.exit_code(pid) == 0
    assert Path(log).read_text() == "`x`|" + "".join(f"{name}|" for name in HOSTILE)
    for path in paths:
        target.remove(path)
        target.remove(path)  # already gone: fine
    target.remove(log)
    for name in HOSTILE:
        target.remove_empty_dir(str(base / name))
    assert list(base.iterdir()) == []
    assert not list(system.host.folder.rglob("PWNED")) and not Path("/PWNED").exists()


def test_glob_matches_pythons_glob_on_the_host(system: HostSystem) -> None:
    base = system.host.folder / "globbed"
    for name in ("a.conf", "b.conf", ".hidden.conf", "c.txt", "d[1].conf", "sub/x.conf"):
        (base / name).parent.mkdir(parents=True, exist_ok=True)
        (base / name).write_text(name)
    (base / "link").symlink_to(base / "sub")
    (base / "broken.conf").symlink_to(base / "nowhere")
    escaped = globmod.escape(str(base))
    patterns = [
        f"{base}/*.conf",
        f"{base}/*",
        f"{base}/*/",
        f"{base}/.*",
        f"{escaped}/*",
        f"{escaped}/*/",
        f"{globmod.escape(str(base / 'd[1].conf'))}",
        f"{base}/s*/*.conf",
        f"{base}/missing/*",
        f"{base}/a.conf/*",
        f"{base}/*/../*.conf",
    ]
    trips = system.target.commands
    for pattern in patterns:
        assert system.target.glob(pattern) == sorted(globmod.glob(pattern)), pattern
    assert system.target.commands - trips <= 3  # only wildcards in folders need the host's Python


def test_run_reports_exit_codes_and_times_out_naming_the_command(system: HostSystem) -> None:
    target = system.target
    done = target.run(["sh", "-c", "echo out; echo err >&2; exit 3"])
    assert done == RunResult(3, "out\n", "err\n")
    with pytest.raises(TargetError, match=r"sleep did not finish within 0\.5s"):
        target.run(["sleep", "5"], timeout=0.5)
    with pytest.raises(TargetError, match="cannot run /no/such/program: No such file"):
        target.run(["/no/such/program"])


def test_spawned_process_exit_code_and_signal_are_seen_over_ssh(system: HostSystem) -> None:
    target = system.target
    log = str(system.host.folder / "spawn.log")
    pid = target.spawn(["sleep", "30"], "/", target.environ(), log)
    info = target.process(pid)
    assert info is not None and info.cmdline == ("sleep", "30") and info.ppid != 1
    assert target.exit_code(pid) is None
    target.send_signal(pid, signal.SIGTERM)
    deadline = time.monotonic() + 10
    while target.exit_code(pid) is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert target.exit_code(pid) == -signal.SIGTERM
    assert target.process(pid) is None
    with pytest.raises(TargetError, match="cannot start /no/such/program: No such file"):
        target.spawn(["/no/such/program"], "/", {}, log)
    pid = target.spawn(["sleep", "0.2"], "/", {"PATH": "/usr/bin:/bin"}, log, user="nobody")
    info = target.process(pid)
    assert info is None or info.user == "nobody"
    while target.exit_code(pid) is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert target.exit_code(pid) == 0


def test_proc_fallback_sees_what_psutil_sees(system: HostSystem) -> None:
    with_ps = system.target
    without = SshTarget(
        with_ps.connection, known_hosts=str(system.host.known_hosts), use_psutil=False
    )
    pid = system.states()["main_app"][1]
    assert set(without.listeners()) == set(with_ps.listeners())
    assert {lst.port for lst in with_ps.listeners()} == set(oracle.listening(system.host.netns))
    assert without.listeners_of([pid]) == with_ps.listeners_of([pid])
    assert without.descendants(pid) == with_ps.descendants(pid)
    a, b = without.process(pid), with_ps.process(pid)
    assert a is not None and b is not None
    assert (a.pid, a.ppid, a.cmdline, a.cwd, a.user) == (b.pid, b.ppid, b.cmdline, b.cwd, b.user)
    assert abs(a.started - b.started) < 0.05
    assert without.environ_of(pid) == with_ps.environ_of(pid)


def test_supervisor_faults_keep_their_code_over_ssh(system: HostSystem) -> None:
    from portbook.target import SupervisorFault

    sock = str(system.root / ".run/supervisor.sock")
    with pytest.raises(SupervisorFault) as caught:
        system.target.rpc(sock, "supervisor.getProcessInfo", "no_such_program")
    assert caught.value.fault_code == 10
    with pytest.raises(TargetError, match="did not answer"):
        system.target.rpc(sock + ".missing", "supervisor.getState")


def test_a_lock_held_over_ssh_refuses_a_local_run_naming_the_remote_holder(
    system: HostSystem,
) -> None:
    root, info = str(system.root), str(system.root / ".portbook/lock")
    with system.target.hold_lock(root, info, wait=False):
        holder = int(Path(info).read_text().split()[0])
        assert holder in system.target.own_pids()
        with (
            pytest.raises(Locked, match=rf"locked by pid {holder} since "),
            LocalTarget().hold_lock(root, info, wait=False),
        ):
            pass
    assert not (system.root / ".portbook").exists()
    with (
        LocalTarget().hold_lock(root, info, wait=False),
        pytest.raises(Locked, match=rf"locked by pid {os.getpid()} since "),
        system.target.hold_lock(root, info, wait=False),
    ):
        pass


def test_waiting_for_the_lock_over_ssh_takes_it_once_a_local_run_lets_go(
    system: HostSystem,
) -> None:
    root, info = str(system.root), str(system.root / ".portbook/lock")
    taken, release = threading.Event(), threading.Event()

    def local_run() -> None:
        with LocalTarget().hold_lock(root, info, wait=False):
            taken.set()
            release.wait(10)

    thread = threading.Thread(target=local_run)
    thread.start()
    assert taken.wait(10)
    threading.Timer(1.0, release.set).start()
    started = time.monotonic()
    with system.target.hold_lock(root, info, wait=True):
        assert time.monotonic() - started >= 0.9
        assert int(Path(info).read_text().split()[0]) != os.getpid()
    thread.join(10)


def test_a_lost_connection_releases_the_lock(system: HostSystem) -> None:
    root, info = str(system.root), str(system.root / ".portbook/lock")
    other = system.host.connect()
    with other.hold_lock(root, info, wait=False):
        other.connection.transport.close()  # the controller vanishes without letting go
        with pytest.raises(TargetError, match="the connection was lost, and with it the lock"):
            other.read_optional(info)
        deadline = time.monotonic() + 10
        while True:
            try:
                with LocalTarget().hold_lock(root, info, wait=False):
                    break
            except Locked:
                assert time.monotonic() < deadline, "the lock outlived its connection"
                time.sleep(0.1)


def test_unknown_host_keys_are_refused_by_default(host: SshHost) -> None:
    with pytest.raises(TargetError, match=r"cannot connect: .*known_hosts"):
        connect(host.address, user="root", key_filename=str(host.key))
    empty = host.folder / "empty_known_hosts"
    empty.write_text("")
    with pytest.raises(TargetError, match=r"cannot connect: .*known_hosts"):
        connect(host.address, user="root", key_filename=str(host.key), known_hosts=str(empty))
    wrong = host.folder / "wrong_known_hosts"
    other_key = (host.folder / "ssh/client_ed25519.pub").read_text().split()[:2]
    wrong.write_text(f"{host.address} {' '.join(other_key)}\n")
    with pytest.raises(TargetError, match="cannot connect: "):
        connect(host.address, user="root", key_filename=str(host.key), known_hosts=str(wrong))


def test_a_missing_python_on_the_host_is_a_target_error(host: SshHost) -> None:
    with pytest.raises(TargetError, match="/no/python3 not found on the host"):
        connect(
            host.address,
            user="root",
            key_filename=str(host.key),
            known_hosts=str(host.known_hosts),
            python="/no/python3",
        )
