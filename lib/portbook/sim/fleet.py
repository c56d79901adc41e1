"""A simulated fleet: N ``simhosts`` sharing one login key and one known_hosts file.

::

    FOLDER/                       created empty by ``create_fleet``, removed by ``destroy_fleet``
      client_ed25519[.pub]        the one key authorized on every host
      known_hosts                 every host's key line, so host keys are checked
      inventory.yaml              the native inventory (``write_inventory``)
      fleet.json                  what ``destroy_from_state`` needs, from any process
      NAME-1/ ... NAME-N/         each host's folder; the demo system at NAME-i/system

With ``fixed=True`` the layout is deterministic (the demo fleet, whose
inventory ships as ``inventory/demo.yaml``): host i gets 169.254.77.(4i-2),
the root side 169.254.77.(4i-3), namespace ``pb-demo-i``, veth ``pbdemo{i}a``.
Every host runs the demo on its default ports: the namespaces keep them apart.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import stat
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import yaml

from ..config import Settings, load_settings
from ..errors import Refused
from .demo import demo_up, install_demo
from .hosts import (
    SshHost,
    create_host,
    destroy_host,
    generate_key,
    pick_subnets,
    stop_host_by_name,
)

__all__ = [
    "SUPERVISORD",
    "SimFleet",
    "add_known_host",
    "check_trusted",
    "create_fleet",
    "destroy_fleet",
    "destroy_from_state",
    "fixed_layout",
    "fleet_table",
    "install_system",
    "start_system",
    "write_inventory",
    "write_state",
]

SUPERVISORD = f"{sys.executable} -m supervisor.supervisord"
"""How hosts run supervisord: this interpreter's (the filesystem is shared)."""
FIXED_MAX = 64
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,14}")
_T = TypeVar("_T")
_R = TypeVar("_R")


@dataclass
class SimFleet:
    """A built fleet: its hosts (in order), shared key and known_hosts, and systems."""

    hosts: list[SshHost]
    folder: Path
    key: Path
    known_hosts: Path
    inventory: Path
    settings: dict[str, Settings] = field(default_factory=dict)

    @property
    def names(self) -> list[str]:
        """The hosts' names, which are their folders' names (``NAME-i``)."""
        return [host.folder.name for host in self.hosts]


def add_known_host(host: SshHost, known_hosts: Path) -> None:
    """Append the host's ``ADDRESS ssh-ed25519 KEY`` line to ``known_hosts``."""
    with known_hosts.open("a") as handle:
        handle.write(host.known_hosts.read_text())


def install_system(host: SshHost, name: str = "system") -> Settings:
    """Copy the demo (its default ports) into ``host.folder / name``; its settings.

    supervisord runs as ``SUPERVISORD``, so the host needs none on its PATH.
    """
    root = host.folder / name
    install_demo(str(root))
    yaml_text = f'supervisord: "{SUPERVISORD}"\nsmoke_timeout: 20\n'
    (root / "portbook.yaml").write_text(yaml_text)
    return load_settings(None, str(root), yaml_text)


def start_system(
    host: SshHost, settings: Settings | None = None, timeout: float = 60.0
) -> Settings:
    """Bring the demo up over SSH (installed first unless ``settings`` is given); its settings."""
    settings = settings or install_system(host)
    with host.login() as target:
        demo_up(target, settings, timeout)
    return settings


def fixed_layout(i: int) -> tuple[str, str, str, str]:
    """Host i's (1-based) peer address, address, namespace and veth in a ``fixed`` fleet."""
    return f"169.254.77.{4 * i - 3}", f"169.254.77.{4 * i - 2}", f"pb-demo-{i}", f"pbdemo{i}a"


def create_fleet(
    count: int, folder: Path, *, fixed: bool = False, up: bool = True, name_prefix: str = "host"
) -> SimFleet:
    """Build ``count`` hosts in ``folder`` (empty or new), in parallel; their demo up if ``up``.

    On any failure everything already built is torn down before the error is re-raised.
    """
    if not 1 <= count <= (FIXED_MAX if fixed else 200):
        raise Refused(
            f"a simulated fleet has 1 to {FIXED_MAX if fixed else 200} hosts, not {count}"
        )
    if folder.exists():
        check_trusted(folder)
        if any(folder.iterdir()):
            raise Refused(f"{folder} is not empty")
    folder.mkdir(mode=0o755, parents=True, exist_ok=True)
    folder.chmod(0o755)
    key = folder / "client_ed25519"
    fleet = SimFleet([], folder, key, folder / "known_hosts", folder / "inventory.yaml")
    try:
        generate_key(key, "portbook-simfleet")
        nets = [] if fixed else pick_subnets(count)

        def build(i: int) -> SshHost:
            peer, address, netns, veth = fixed_layout(i) if fixed else (*nets[i - 1], None, None)
            host = create_host(address, peer, netns, folder / f"{name_prefix}-{i}", key, veth)
            fleet.hosts.append(host)  # so that a failure anywhere tears it down
            return host

        hosts, error = _each(build, range(1, count + 1))
        fleet.hosts = [h for h in hosts if h is not None]
        if error is not None:
            raise error
        fleet.known_hosts.write_text("")
        for host in fleet.hosts:
            add_known_host(host, fleet.known_hosts)
        if up:
            systems, error = _each(start_system, fleet.hosts)
            fleet.settings = {n: s for n, s in zip(fleet.names, systems, strict=True) if s}
            if error is not None:
                raise error
        write_inventory(fleet, fleet.inventory)
    except BaseException:
        destroy_fleet(fleet)
        raise
    return fleet


def _each(
    fn: Callable[[_T], _R], items: Iterable[_T]
) -> tuple[list[_R | None], BaseException | None]:
    """``fn`` over ``items`` in threads: results in order (None where it failed), first error."""
    items = list(items)
    with ThreadPoolExecutor(max_workers=max(1, min(len(items), 16))) as pool:
        futures = [pool.submit(fn, item) for item in items]
        wait(futures)
    errors = [f.exception() for f in futures if f.exception() is not None]
    results = [None if f.exception() is not None else f.result() for f in futures]
    return results, errors[0] if errors else None


def destroy_fleet(fleet: SimFleet) -> None:
    """Tear every host down (in parallel), then remove the fleet's folder."""
    _each(destroy_host, fleet.hosts)
    shutil.rmtree(fleet.folder, ignore_errors=True)


def write_inventory(
    fleet: SimFleet,
    path: Path,
    group: str = "demo",
    *,
    groups: Mapping[str, Sequence[str]] | None = None,
) -> None:
    """Write the native inventory (YAML) of ``fleet``: every host in ``group``, plus ``groups``.

    No ``portbook:`` overrides: each host's own ``portbook.yaml`` (``install_system``)
    says how it runs supervisord.
    """
    data: dict[str, Any] = {
        "defaults": {
            "user": "root",
            "key": str(fleet.key),
            "known_hosts": str(fleet.known_hosts),
        },
        "hosts": {
            name: {"address": host.address, "root": str(host.folder / "system")}
            for name, host in zip(fleet.names, fleet.hosts, strict=True)
        },
        "groups": {group: fleet.names, **{k: list(v) for k, v in (groups or {}).items()}},
    }
    head = (
        f"# written by portbook's simulated fleet: {len(fleet.hosts)} hosts"
        " in network namespaces on this machine\n"
    )
    body = yaml.safe_dump(data, sort_keys=False, default_flow_style=None, width=4096)
    path.write_text(head + body)


def write_state(fleet: SimFleet, path: Path) -> None:
    """Record what ``destroy_from_state`` needs (netns, veth, folder per host) in ``path``."""
    hosts = [
        {"name": n, "address": h.address, "netns": h.netns, "veth": h.veth, "folder": str(h.folder)}
        for n, h in zip(fleet.names, fleet.hosts, strict=True)
    ]
    state = {"folder": str(fleet.folder), "inventory": str(fleet.inventory), "hosts": hosts}
    path.write_text(json.dumps(state, indent=2) + "\n")
    path.chmod(0o644)


def destroy_from_state(path: Path) -> list[str]:
    """Tear down the fleet ``path`` (a ``write_state`` file) describes, then its folder.

    Works from any process. The state file and its folder must be this user's
    and writable by no one else, every host folder must lie in that folder,
    and every name must be a plain interface name. Returns the hosts' names,
    [] when ``path`` does not exist.
    """
    if not path.exists():
        return []
    base = path.parent
    for item in (path, base):
        check_trusted(item)
    hosts = json.loads(path.read_text())["hosts"]
    for host in hosts:
        names_ok = all(_NAME.fullmatch(str(host[k])) for k in ("netns", "veth"))
        if not names_ok or Path(host["folder"]).parent != base:
            raise Refused(f"{path}: unexpected host entry {host}")
    _each(lambda h: stop_host_by_name(h["netns"], h["veth"], Path(h["folder"])), hosts)
    shutil.rmtree(base, ignore_errors=True)
    return [str(h["name"]) for h in hosts]


def check_trusted(path: Path) -> None:
    """Refused unless ``path`` is this user's, no symlink, and writable by no one else."""
    info = path.lstat()
    if stat.S_ISLNK(info.st_mode) or info.st_uid != os.geteuid() or info.st_mode & 0o022:
        raise Refused(f"{path} is a symlink, not yours, or writable by others: not touched")


def fleet_table(fleet: SimFleet) -> list[str]:
    """One line per host: name, address, namespace, system root; a header first."""
    lines = [f"{'host':<12} {'address':<16} {'netns':<12} root"]
    for name, host in zip(fleet.names, fleet.hosts, strict=True):
        lines.append(f"{name:<12} {host.address:<16} {host.netns:<12} {host.folder / 'system'}")
    return lines
