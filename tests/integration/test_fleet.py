"""Procedures across a fleet: 3 namespace hosts, each with sshd on port 22, its own supervisord
and its own copy of the demo on the same service ports, driven through the real CLI.

Files are checked straight from disk (the hosts share this filesystem) and supervisor's
state over XML-RPC through an independent SSH login: oracles apart from the code under test.
Tests run in file order and share the fleet: each leaves it as the next expects.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psutil
import pytest
import yaml
from portbook.registry import fallback, manifest
from portbook.registry.supervisor_conf import SupervisorConf
from portbook.sim.fleet import SimFleet, create_fleet, destroy_fleet
from portbook.sim.hosts import SSHD, SshHost, netns_pids, skip_reason
from portbook.target.ssh import SshTarget

from . import oracle
from .conftest import REPO, cli_env
from .sshhosts import managed_files, supervisor_states

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(skip_reason() is not None, reason=skip_reason() or ""),
]

MANIFEST = "backend/core/config/MASTER_PORT_MANIFEST.json"
FALLBACK = "backend/core/port_config.py"
CONF = "backend/supervisord.conf"


@dataclass
class Node:
    """One host of the fleet as the tests see it: its folder, system root and a login."""

    host: SshHost
    name: str
    target: SshTarget

    @property
    def root(self) -> Path:
        return self.host.folder / "system"

    def files(self) -> dict[str, tuple[bytes, int]]:
        """Every managed file's bytes and mode."""
        return managed_files(self.root)

    def states(self) -> dict[str, tuple[str, int]]:
        """Supervisor's process list: name -> (state, pid)."""
        return supervisor_states(self.target, self.root)

    def places(self, name: str) -> tuple[int | None, int | None, bool]:
        """What the manifest, DEFAULT_PORTS and supervisord.conf say about ``name``."""
        entry = manifest.read_services((self.root / MANIFEST).read_text(), "m").get(name)
        ports = fallback.read_ports((self.root / FALLBACK).read_text(), "f")
        programs = SupervisorConf.parse((self.root / CONF).read_text(), "c").programs()
        return (entry.port if entry else None, ports.get(name), name in programs)

    def owner(self, port: int) -> int | None:
        """The pid listening on ``port`` in this host's namespace (ss and /proc must agree)."""
        pid = next((lst.pid for lst in self.target.listeners() if lst.port == port), None)
        holders = oracle.holders(port, self.host.netns)
        assert pid in holders if pid else not holders, f"{port}: {pid}, ss and /proc: {holders}"
        return pid

    def journal(self) -> Path:
        return self.root / ".portbook/journal.json"


@dataclass
class Fleet:
    """The built fleet, its inventory and one Node per host."""

    sim: SimFleet
    nodes: list[Node]

    @property
    def inventory(self) -> Path:
        return self.sim.inventory

    def cli(
        self, *args: str, hosts: str = "demo", timeout: float = 240
    ) -> subprocess.CompletedProcess[str]:
        """``python -m playbooks TASK ... --inventory INV --hosts HOSTS`` as an operator runs it."""
        argv = [sys.executable, "-m", "playbooks", *args, "--inventory", str(self.inventory)]
        argv += ["--hosts", hosts]
        return subprocess.run(
            argv, capture_output=True, text=True, env=cli_env(), timeout=timeout, cwd=REPO
        )

    def snapshot(self) -> list[tuple[dict[str, tuple[bytes, int]], dict[str, tuple[str, int]]]]:
        return [(node.files(), node.states()) for node in self.nodes]


@pytest.fixture(scope="module")
def fleet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Fleet]:
    """Three namespace hosts with the demo up on each, torn down after the module."""
    sim = create_fleet(3, tmp_path_factory.mktemp("fleet") / "hosts", up=True)
    try:
        nodes = [Node(h, name, h.connect()) for h, name in zip(sim.hosts, sim.names, strict=True)]
        yield Fleet(sim, nodes)
    finally:
        destroy_fleet(sim)


def listen_in(host: SshHost, port: int) -> subprocess.Popen[bytes]:
    """A foreign process holding ``port`` inside the host's namespace (not managed by anyone)."""
    code = (
        f"import socket,time;s=socket.socket();s.bind(('127.0.0.1',{port}));s.listen();"
        "print('ready',flush=True);time.sleep(600)"
    )
    proc = subprocess.Popen(
        ["ip", "netns", "exec", host.netns, sys.executable, "-c", code], stdout=subprocess.PIPE
    )
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == b"ready"
    except BaseException:
        proc.kill()
        proc.wait()
        raise
    return proc


def broken_script(node: Node, name: str) -> Path:
    """A script for ``name`` that calls get_port properly but dies at start (a real-world bug)."""
    source = (node.root / "backend/api/db_poller.py").read_text().replace("db_poller", name)
    source = source.replace(
        "SERVICE_PORT = ", f'raise SystemExit("{name}: broken")\nSERVICE_PORT = ', 1
    )
    path = node.root / f"backend/api/{name}.py"
    path.write_text(source)
    return path


def recap(stdout_and_err: str) -> dict[str, list[str]]:
    """The recap table's rows: host -> its cells."""
    lines = stdout_and_err.splitlines()
    head = next(i for i, line in enumerate(lines) if line.startswith("host ") and "result" in line)
    rows = {}
    for line in lines[head + 1 :]:
        cells = line.replace("rolled back", "rolled-back").split()
        if len(cells) == 9:
            rows[cells[0]] = cells[1:]
    return rows


# --- the four procedures across the group -------------------------------------------------


def test_add_on_three_hosts_at_once_picks_one_port_free_on_every_host(fleet: Fleet) -> None:
    lowest = 8004  # the demo's lowest free watchdog port, on every host
    holder = listen_in(fleet.nodes[1].host, lowest)  # ...except host 2, where a stray holds it
    try:
        before = [node.states() for node in fleet.nodes]
        done = fleet.cli("service.add", "--name", "risk_monitor", "--serial", "3", "--json")
    finally:
        holder.kill()
        holder.wait()
    assert done.returncode == 0, done.stdout + done.stderr
    doc = json.loads(done.stdout)
    assert [h["result"] for h in doc["hosts"]] == ["changed"] * 3
    for node, old in zip(fleet.nodes, before, strict=True):
        assert node.places("risk_monitor") == (lowest + 1, lowest + 1, True)
        state, pid = node.states()["risk_monitor"]
        assert state == "RUNNING" and node.owner(lowest + 1) == pid
        assert {k: v for k, v in node.states().items() if k != "risk_monitor"} == old
        assert not node.journal().exists()


def test_modify_port_auto_on_the_group_moves_the_service_on_every_host(fleet: Fleet) -> None:
    done = fleet.cli("service.modify", "--name", "risk_monitor", "--port", "auto", "--serial", "2")
    assert done.returncode == 0, done.stdout + done.stderr
    rows = recap(done.stdout)
    assert [rows[n.name][0] for n in fleet.nodes] == ["changed"] * 3
    for node in fleet.nodes:
        port = node.places("risk_monitor")[0]
        assert port is not None and port != 8005
        assert node.places("risk_monitor") == (port, port, True)
        assert node.owner(port) == node.states()["risk_monitor"][1]


def test_rename_on_the_group_renames_in_all_four_places_on_every_host(fleet: Fleet) -> None:
    done = fleet.cli("service.rename", "--name", "risk_monitor", "--to", "risk_guard", "--fix-code")
    assert done.returncode == 0, done.stdout + done.stderr
    for node in fleet.nodes:
        assert node.places("risk_monitor") == (None, None, False)
        port = node.places("risk_guard")[0]
        assert node.places("risk_guard") == (port, port, True)
        script = (node.root / "backend/api/risk_monitor.py").read_text()  # the file keeps its name
        assert 'get_port("risk_guard")' in script
        assert node.states()["risk_guard"][0] == "RUNNING"


def test_remove_on_the_group_leaves_every_host_as_the_demo_was(fleet: Fleet) -> None:
    done = fleet.cli("service.remove", "--name", "risk_guard", "--delete-code", "--serial", "3")
    assert done.returncode == 0, done.stdout + done.stderr
    for node in fleet.nodes:
        assert node.places("risk_guard") == (None, None, False)
        assert "risk_guard" not in node.states()
        assert not (node.root / "backend/api/risk_monitor.py").exists()


def test_restart_recovery_plan_and_doctor_run_on_every_host_too(fleet: Fleet) -> None:
    before = [node.states() for node in fleet.nodes]
    restarted = fleet.cli("supervisor.restart", "--serial", "3", "--json")
    assert restarted.returncode == 0, restarted.stdout + restarted.stderr
    for node, old in zip(fleet.nodes, before, strict=True):
        now = node.states()
        assert set(now) == set(old) and {s for s, _ in now.values()} == {"RUNNING"}
        assert all(now[name][1] != old[name][1] for name in now)  # every pid is new
    planned = fleet.cli("recover.emergency", "--check", "--json")
    assert planned.returncode == 0, planned.stdout + planned.stderr
    assert [h["result"] for h in json.loads(planned.stdout)["hosts"]] == ["ok"] * 3
    checked = fleet.cli("doctor", "--json", "--only", "agreement,supervisor")
    assert checked.returncode == 0, checked.stdout + checked.stderr
    hosts = json.loads(checked.stdout)["hosts"]
    assert [h["run"]["exit_code"] for h in hosts] == [0, 0, 0]


# --- a failure in the middle of a rolling run ----------------------------------------------


def test_a_failure_on_host_2_with_serial_1_rolls_host_2_back_and_leaves_host_3_untouched(
    fleet: Fleet,
) -> None:
    one, two, three = fleet.nodes
    script = broken_script(two, "pnl_watch")
    try:
        before = fleet.snapshot()
        done = fleet.cli("service.add", "--name", "pnl_watch", "--serial", "1")
        after = fleet.snapshot()
    finally:
        script.unlink()
    assert done.returncode == 1, done.stdout + done.stderr
    assert one.places("pnl_watch")[2] and one.states()["pnl_watch"][0] == "RUNNING"
    assert after[1] == before[1]  # host 2: files byte-identical (its own script too), same pids
    assert after[2] == before[2]  # host 3: never touched
    assert not two.journal().exists() and not three.journal().exists()
    rows = recap(done.stderr)
    assert rows[one.name][0] == "changed"
    assert rows[two.name][0] == "rolled-back" and rows[two.name][6] == "1"
    assert rows[three.name][:1] + rows[three.name][6:] == ["skipped", "-", "-"]
    assert f"{two.name}: smoke test: pnl_watch exited" in done.stderr
    assert "1 host(s) not touched" in done.stderr
    assert f"{two.name} |   failed   smoke-test" in done.stdout
    removed = fleet.cli("service.remove", "--name", "pnl_watch", "--delete-code", hosts=one.name)
    assert removed.returncode == 0, removed.stdout + removed.stderr


def test_a_port_held_on_the_last_host_refuses_the_run_before_any_host_changes(
    fleet: Fleet,
) -> None:
    holder = listen_in(fleet.nodes[2].host, 8010)
    try:
        before = fleet.snapshot()
        done = fleet.cli("service.add", "--name", "pf_probe", "--port", "8010")
        assert fleet.snapshot() == before
    finally:
        holder.kill()
        holder.wait()
    assert done.returncode == 2, done.stdout + done.stderr
    rows = recap(done.stderr)
    assert [rows[n.name][0] for n in fleet.nodes] == ["skipped", "skipped", "failed"]
    assert "8010 is held by pid" in done.stderr
    assert "preflight: 1 host(s) cannot run it (--max-fail 0); nothing changed" in done.stderr


def test_fleet_rollback_also_undoes_the_hosts_already_done(fleet: Fleet) -> None:
    script = broken_script(fleet.nodes[1], "fx_watch")
    try:
        before = fleet.snapshot()
        done = fleet.cli("service.add", "--name", "fx_watch", "--fleet-rollback", "--json")
        after = fleet.snapshot()
    finally:
        script.unlink()
    assert done.returncode == 1, done.stdout + done.stderr
    assert after == before  # every host byte-identical, same supervisor state
    doc = json.loads(done.stdout)
    assert [h["result"] for h in doc["hosts"]] == ["rolled back", "rolled back", "skipped"]
    assert doc["hosts"][0]["rollback"]["exit_code"] == 0
    assert not any(node.journal().exists() for node in fleet.nodes)


# --- hosts that cannot be reached, and hostile values ------------------------------------------


def test_an_unreachable_host_is_reported_as_such_and_the_others_still_answer(
    fleet: Fleet, tmp_path: Path
) -> None:
    with socket.socket() as sock:  # a port on loopback where nothing listens
        sock.bind(("127.0.0.1", 0))
        closed = sock.getsockname()[1]
    text = fleet.inventory.read_text()
    ghost = f"  ghost: {{address: 127.0.0.1, port: {closed}, root: /srv/ghost}}\n"
    inventory = tmp_path / "inventory.yaml"
    inventory.write_text(text.replace("hosts:\n", "hosts:\n" + ghost, 1))
    argv = [sys.executable, "-m", "playbooks", "supervisor.status", "--inventory", str(inventory)]
    done = subprocess.run(
        [*argv, "--hosts", "all", "--json"], capture_output=True, text=True, env=cli_env()
    )
    assert done.returncode == 1, done.stdout + done.stderr
    doc = json.loads(done.stdout)
    results = {h["host"]: h for h in doc["hosts"]}
    assert results["ghost"]["result"] == "unreachable"
    assert "cannot connect" in results["ghost"]["error"]
    assert [results[n.name]["result"] for n in fleet.nodes] == ["ok"] * 3


def test_secrets_in_environment_lines_are_masked_in_every_hosts_plan_and_report(
    fleet: Fleet,
) -> None:
    secret = "demo-not-a-real-password"
    assert secret in (fleet.nodes[0].root / CONF).read_text()
    argv = ["service.rename", "--name", "main_app", "--to", "main_api", "--fix-code"]
    for flags in ((), ("--json",)):  # the renamed log lines sit next to environment=
        done = fleet.cli(*argv, "--check", *flags, "--serial", "3")
        assert done.returncode == 0, done.stdout + done.stderr
        assert "DB_PASSWORD" in done.stdout and secret not in done.stdout + done.stderr


def test_an_ansible_inventory_of_the_same_fleet_drives_it_as_it_is(
    fleet: Fleet, tmp_path: Path
) -> None:
    hosts = {
        node.name: {"ansible_host": node.host.address, "portbook_root": str(node.root)}
        for node in fleet.nodes
    }
    doc = {
        "all": {
            "vars": {"ansible_user": "root", "ansible_python_interpreter": "python3"},
            "children": {
                "trading": {
                    "vars": {
                        "ansible_ssh_private_key_file": str(fleet.sim.key),
                        "portbook_known_hosts": str(fleet.sim.known_hosts),
                    },
                    "hosts": hosts,
                }
            },
        }
    }
    inventory = tmp_path / "hosts.yml"
    inventory.write_text(yaml.safe_dump(doc))
    argv = [sys.executable, "-m", "playbooks", "-H", "trading", "-I", str(inventory)]
    done = subprocess.run(
        [*argv, "service.list", "--json"], capture_output=True, text=True, env=cli_env()
    )
    assert done.returncode == 0, done.stdout + done.stderr
    result = json.loads(done.stdout)
    assert [h["host"] for h in result["hosts"]] == [n.name for n in fleet.nodes]
    assert all(len(h["run"]["services"]) == 5 for h in result["hosts"])


def test_unknown_host_keys_are_refused_unless_accepted_and_a_changed_key_always(
    fleet: Fleet, tmp_path: Path
) -> None:
    known = tmp_path / "known_hosts"
    known.write_text("")
    inventory = tmp_path / "inventory.yaml"
    inventory.write_text(
        fleet.inventory.read_text().replace(str(fleet.sim.known_hosts), str(known))
    )
    node = fleet.nodes[0]
    argv = [sys.executable, "-m", "playbooks", "supervisor.status", "--inventory", str(inventory)]
    argv += ["--hosts", node.name, "--json"]

    def status(*flags: str) -> dict[str, Any]:
        done = subprocess.run([*argv, *flags], capture_output=True, text=True, env=cli_env())
        return dict(json.loads(done.stdout)["hosts"][0])

    refused = status()
    assert refused["result"] == "unreachable" and "not found in known_hosts" in refused["error"]
    assert status("--accept-new-keys")["result"] == "ok"
    assert node.host.address in known.read_text()  # recorded, as OpenSSH's accept-new does
    assert status()["result"] == "ok"  # and checked from now on
    other = tmp_path / "other_ed25519"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(other)], check=True)
    known.write_text(f"{node.host.address} {other.with_suffix('.pub').read_text()}")
    changed = status("--accept-new-keys")
    assert changed["result"] == "unreachable"  # a changed key is never accepted
    assert "does not match" in changed["error"]


def test_hostile_values_are_refused_or_passed_through_literally_never_run(
    fleet: Fleet, tmp_path: Path
) -> None:
    canary = tmp_path / "pwned"
    shell = f"$(touch {canary}) `touch {canary}`; touch {canary} #"
    before = fleet.snapshot()
    refused = fleet.cli("service.add", "--name", f"x;touch {canary}")
    assert refused.returncode == 2 and "name" in refused.stderr
    refused = fleet.cli("service.add", "--name", "odd_script", "--script", f"a b;{shell}.py")
    assert refused.returncode == 2
    assert fleet.snapshot() == before
    text = fleet.inventory.read_text()
    evil = f"  evil: {{address: {fleet.nodes[0].host.address}, root: '/tmp/{shell}'}}\n"
    inventory = tmp_path / "inventory.yaml"
    inventory.write_text(text.replace("hosts:\n", "hosts:\n" + evil, 1))
    argv = [sys.executable, "-m", "playbooks", "service.list", "--inventory", str(inventory)]
    done = subprocess.run([*argv, "--hosts", "evil"], capture_output=True, text=True, env=cli_env())
    assert done.returncode != 0
    described = fleet.cli(
        "service.add", "--name", "odd_desc", "--description", shell, hosts=fleet.nodes[0].name
    )
    assert described.returncode == 0, described.stdout + described.stderr
    entry = json.loads((fleet.nodes[0].root / MANIFEST).read_text())
    assert shell in json.dumps(entry)  # stored literally
    assert not canary.exists()
    gone = fleet.cli(
        "service.remove", "--name", "odd_desc", "--delete-code", hosts=fleet.nodes[0].name
    )
    assert gone.returncode == 0, gone.stdout + gone.stderr


# --- the controller dies, or loses a host, mid-run ----------------------------------------


def test_a_controller_killed_mid_run_leaves_every_host_recoverable_by_rollback(
    fleet: Fleet,
) -> None:
    before = fleet.snapshot()
    argv = [sys.executable, "-m", "playbooks", "service.add", "--name", "orphan_probe"]
    argv += ["--serial", "3", "--inventory", str(fleet.inventory), "--hosts", "demo"]
    run = subprocess.Popen(
        argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=cli_env()
    )
    try:
        deadline = time.monotonic() + 60
        while not all("smoke-test" in _journal_steps(node) for node in fleet.nodes):
            assert run.poll() is None and time.monotonic() < deadline
            time.sleep(0.02)
    finally:
        run.kill()  # SIGKILL: no unwinding, no goodbye to the hosts
        run.wait()
    assert all(node.journal().exists() for node in fleet.nodes)
    undone = fleet.cli("service.rollback", "--json")
    assert undone.returncode == 0, undone.stdout + undone.stderr
    doc = json.loads(undone.stdout)
    assert [h["run"]["procedure"] for h in doc["hosts"]] == ["rollback of add"] * 3
    assert fleet.snapshot() == before
    assert not any(node.journal().exists() for node in fleet.nodes)
    assert all(node.owner(8004) is None for node in fleet.nodes)  # smoke processes stopped too


def cut_ssh(host: SshHost) -> None:
    """Kill the host's sshd and every SSH session in it (SIGKILL, by namespace pid)."""
    for pid in netns_pids(host.netns):
        try:
            if psutil.Process(pid).name() == "sshd":
                os.kill(pid, signal.SIGKILL)
        except (psutil.NoSuchProcess, ProcessLookupError):
            pass
    if host.sshd is not None:
        host.sshd.wait(timeout=10)


def restart_sshd(host: SshHost) -> None:
    """Start the host's sshd again with its own config; wait until it answers."""
    config = host.folder / "ssh/sshd_config"
    with open(host.folder / "ssh/sshd.log", "ab") as log:
        host.sshd = subprocess.Popen(
            ["ip", "netns", "exec", host.netns, SSHD, "-D", "-e", "-f", str(config)],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            sock.settimeout(0.5)
            if sock.connect_ex((host.address, 22)) == 0:
                return
        time.sleep(0.05)
    raise AssertionError("sshd did not come back")


def _journal_steps(node: Node) -> list[Any]:
    try:
        return [e["step"] for e in json.loads(node.journal().read_text())["entries"]]
    except (OSError, ValueError, KeyError):
        return []


def test_a_host_cut_off_mid_run_is_recovered_from_its_journal_by_rollback(fleet: Fleet) -> None:
    node = fleet.nodes[2]
    files, states = node.files(), node.states()
    node.target.close()  # our own login dies with sshd too; log in again afterwards
    argv = [sys.executable, "-m", "playbooks", "service.add", "--name", "cut_probe"]
    argv += ["--inventory", str(fleet.inventory), "--hosts", node.name]
    run = subprocess.Popen(
        argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=cli_env()
    )
    try:
        deadline = time.monotonic() + 60
        while "smoke-test" not in _journal_steps(node):
            assert run.poll() is None and time.monotonic() < deadline, run.communicate()
            time.sleep(0.02)
        cut_ssh(node.host)
        out, err = run.communicate(timeout=120)
    finally:
        if run.poll() is None:
            run.kill()
            run.communicate()
    assert run.returncode == 3, out + err  # the undo could not reach the host either
    assert "rollback incomplete" in err and f"service.rollback --hosts {node.name}" in err
    assert node.journal().exists()  # the host is left recoverable
    assert "cut_probe" in (node.root / CONF).read_text()
    restart_sshd(node.host)
    undone = fleet.cli("service.rollback", hosts=node.name)
    assert undone.returncode == 0, undone.stdout + undone.stderr
    assert node.files() == files
    assert not node.journal().exists()
    node.target = node.host.connect()
    assert node.states() == states
    assert node.owner(8004) is None  # the smoke test's process is gone too
