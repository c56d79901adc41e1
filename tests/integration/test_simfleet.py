"""The simulated fleet: real namespace hosts sharing one key and one known_hosts, torn down whole.

Fleets here are built with ``up=False`` (no demo system: sshd only), so the module stays fast.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest
import yaml
from portbook.errors import Refused
from portbook.sim import fleet as simfleet
from portbook.sim.fleet import (
    SimFleet,
    create_fleet,
    destroy_fleet,
    destroy_from_state,
    fixed_layout,
    write_inventory,
    write_state,
)
from portbook.sim.hosts import SshHost, netns_pids, skip_reason
from portbook.target.ssh import connect

REPO = Path(__file__).resolve().parents[2]
needs_root = pytest.mark.skipif(skip_reason() is not None, reason=skip_reason() or "")
pytestmark = pytest.mark.integration


@pytest.fixture
def fleet(tmp_path: Path) -> Iterator[SimFleet]:
    """Two namespace hosts with sshd only, torn down after the test (again: idempotent)."""
    built = create_fleet(2, tmp_path / "fleet", up=False)
    try:
        yield built
    finally:
        destroy_fleet(built)


def _leftovers(fleet: SimFleet, procs: list[psutil.Process]) -> list[str]:
    """Whatever of the fleet still exists: namespaces, veths, processes, folders."""
    links = subprocess.run(["ip", "-o", "link"], capture_output=True, text=True).stdout
    left = [f"netns {h.netns}" for h in fleet.hosts if os.path.exists(f"/run/netns/{h.netns}")]
    left += [f"veth {h.veth}" for h in fleet.hosts if f" {h.veth}@" in links]
    for proc in procs:
        try:
            if proc.is_running() and proc.status() != psutil.STATUS_ZOMBIE:  # same pid+start time
                left.append(f"process {proc.pid} {proc.cmdline()}")
        except psutil.NoSuchProcess:
            pass
    return left + [
        f"folder {p}" for p in [fleet.folder, *(h.folder for h in fleet.hosts)] if p.exists()
    ]


def _processes(fleet: SimFleet) -> list[psutil.Process]:
    procs = [psutil.Process(pid) for h in fleet.hosts for pid in netns_pids(h.netns)]
    assert len(procs) >= len(fleet.hosts)  # sshd at least, in every namespace
    return procs


@needs_root
def test_every_host_answers_ssh_with_the_one_fleet_key_and_checked_host_keys(
    fleet: SimFleet,
) -> None:
    assert fleet.names == ["host-1", "host-2"]
    assert len({h.address for h in fleet.hosts}) == 2
    assert len(fleet.known_hosts.read_text().splitlines()) == 2
    pub = fleet.key.with_suffix(".pub").read_text().strip()
    for host in fleet.hosts:
        assert host.key == fleet.key
        assert (host.folder / "ssh/authorized_keys").read_text().strip() == pub
        with connect(
            host.address,
            user="root",
            key_filename=str(fleet.key),
            known_hosts=str(fleet.known_hosts),
            use_agent=False,
        ) as target:
            assert target.run(["true"]).code == 0
            netns = target.run(["readlink", "/proc/self/ns/net"]).stdout.strip()
            assert netns == f"net:[{os.stat(f'/run/netns/{host.netns}').st_ino}]"


@needs_root
def test_the_written_inventory_names_every_host_with_the_fleet_key(fleet: SimFleet) -> None:
    data = yaml.safe_load(fleet.inventory.read_text())
    assert fleet.inventory.read_text().startswith("# written by portbook's simulated fleet: 2 ")
    assert list(data["hosts"]) == ["host-1", "host-2"]
    assert data["groups"] == {"demo": ["host-1", "host-2"]}
    assert data["defaults"]["key"] == str(fleet.key)
    assert data["defaults"]["known_hosts"] == str(fleet.known_hosts)
    for name, host in zip(fleet.names, fleet.hosts, strict=True):
        assert data["hosts"][name] == {"address": host.address, "root": f"{host.folder}/system"}


@needs_root
def test_destroy_fleet_leaves_no_namespace_veth_process_or_folder(fleet: SimFleet) -> None:
    procs = _processes(fleet)
    destroy_fleet(fleet)
    assert _leftovers(fleet, procs) == []


@needs_root
def test_teardown_from_the_state_file_alone_works_in_a_fresh_process(fleet: SimFleet) -> None:
    state = fleet.folder / "fleet.json"
    write_state(fleet, state)
    procs = _processes(fleet)
    code = (
        "import sys, pathlib, portbook.sim.fleet as s\n"
        "print(s.destroy_from_state(pathlib.Path(sys.argv[1])))"
    )
    env = {**os.environ, "PYTHONPATH": str(REPO / "lib")}
    done = subprocess.run(
        [sys.executable, "-c", code, str(state)],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "['host-1', 'host-2']"
    for host in fleet.hosts:  # reap our own children (sshd), killed by the other process
        assert host.sshd is not None and host.sshd.wait(timeout=5) is not None
    assert _leftovers(fleet, procs) == []
    assert destroy_from_state(state) == []  # nothing up any more: says so, changes nothing


@needs_root
def test_a_failure_half_way_tears_down_the_hosts_already_built(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    built: list[SshHost] = []
    procs: list[psutil.Process] = []
    real = simfleet.create_host

    def second_fails(*args: object, **kwargs: object) -> SshHost:
        if str(args[3]).endswith("host-2"):
            raise RuntimeError("injected: host-2 cannot be built")
        built.append(real(*args, **kwargs))
        procs.extend(psutil.Process(pid) for pid in netns_pids(built[-1].netns))
        return built[-1]

    monkeypatch.setattr(simfleet, "create_host", second_fails)
    with pytest.raises(RuntimeError, match="injected"):
        create_fleet(2, tmp_path / "fleet", up=False)
    assert [h.folder.name for h in built] == ["host-1"]
    partial = SimFleet(built, tmp_path / "fleet", Path(), Path(), Path())
    assert procs and _leftovers(partial, procs) == []


def test_a_non_empty_folder_is_refused_and_kept(tmp_path: Path) -> None:
    (tmp_path / "keep.txt").write_text("mine")
    with pytest.raises(Refused, match="not empty"):
        create_fleet(2, tmp_path, up=False)
    assert (tmp_path / "keep.txt").read_text() == "mine"


def test_the_fixed_fleet_of_3_writes_what_inventory_demo_yaml_ships(tmp_path: Path) -> None:
    base = Path("/tmp/portbook-fleet")
    hosts = []
    for i in (1, 2, 3):
        peer, address, netns, veth = fixed_layout(i)
        hosts.append(SshHost(str(i), base / f"pb-demo-{i}", address, peer, netns, veth))
    fleet = SimFleet(hosts, base, base / "client_ed25519", base / "known_hosts", Path())
    written = tmp_path / "inventory.yaml"
    write_inventory(fleet, written, groups={"canary": fleet.names[:1]})  # as demo_fleet_up does
    shipped = yaml.safe_load((REPO / "inventory/demo.yaml").read_text())
    assert yaml.safe_load(written.read_text()) == shipped
    assert [h["address"] for h in shipped["hosts"].values()] == [
        "169.254.77.2",
        "169.254.77.6",
        "169.254.77.10",
    ]
