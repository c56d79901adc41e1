"""Read an Ansible YAML inventory into portbook's fleet model.

Ansible's variables map onto portbook's host variables; every other variable is kept in
``Host.vars`` and otherwise ignored::

    ansible_host                  address         portbook_root             root
    ansible_port                  port            portbook_python           python
    ansible_user                  user            portbook_known_hosts      known_hosts
    ansible_ssh_private_key_file  key             portbook_accept_new_keys  accept_new_keys
    ansible_python_interpreter    remote_python   portbook_config           portbook (overrides)

The older spellings ``ansible_ssh_host``, ``ansible_ssh_port``, ``ansible_ssh_user`` and
``ansible_private_key_file`` count when the name above is not set; an interpreter of ``auto``
(Ansible's discovery) leaves portbook's default. Precedence as in Ansible: ``all``'s vars,
then group vars by depth (deeper wins; at equal depth by group name, later wins), then host
vars; a mapping value replaces a lower one whole (Ansible's default). Host range patterns
(``web[01:03]``) and Jinja templates are refused, not half-understood.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from portbook.errors import InvalidInput, ParseError

from .hosts import Host, Inventory, check_name, expand_groups, host_from_vars

__all__ = ["ANSIBLE_VARIABLES", "parse_ansible"]

ANSIBLE_VARIABLES: dict[str, str] = {
    "ansible_host": "address",
    "ansible_port": "port",
    "ansible_user": "user",
    "ansible_ssh_private_key_file": "key",
    "ansible_python_interpreter": "remote_python",
    "portbook_root": "root",
    "portbook_python": "python",
    "portbook_known_hosts": "known_hosts",
    "portbook_accept_new_keys": "accept_new_keys",
    "portbook_config": "portbook",
}
"""Ansible variable name -> the native host variable it sets."""

_OLD_NAMES = {
    "ansible_host": "ansible_ssh_host",
    "ansible_port": "ansible_ssh_port",
    "ansible_user": "ansible_ssh_user",
    "ansible_ssh_private_key_file": "ansible_private_key_file",
}
_DISCOVERY = frozenset({"auto", "auto_silent", "auto_legacy", "auto_legacy_silent"})
_RANGE = re.compile(r"\[[^\]]*:[^\]]*\]")
_GROUP_KEYS = frozenset({"hosts", "children", "vars"})


@dataclass
class _Group:
    hosts: list[str] = field(default_factory=list)
    children: list[str] = field(default_factory=list)
    vars: dict[str, Any] = field(default_factory=dict)


def parse_ansible(data: Any, path: str) -> Inventory:
    """Build the inventory from a parsed Ansible YAML inventory (top-level keys are groups)."""
    if not isinstance(data, Mapping):
        raise ParseError(path, 1, f"expected a mapping of groups, got {type(data).__name__}")
    reader = _Reader(path)
    for name, body in data.items():
        reader.group(name, body, None if name == "all" else "all")
    groups, host_vars = reader.groups, reader.host_vars
    if not host_vars:
        raise InvalidInput(f"{path}: the inventory defines no hosts")
    for name in groups:
        if name in host_vars:
            raise InvalidInput(f"{path}: group {name!r} has the same name as a host")
    direct = {name: group.hosts for name, group in groups.items()}
    members = expand_groups(direct, {n: g.children for n, g in groups.items()}, path)
    depths = _depths(groups)
    ranked = sorted(groups, key=lambda name: (depths[name], name))
    hosts: dict[str, Host] = {}
    for host, own in host_vars.items():
        merged: dict[str, Any] = {}
        for name in ranked:
            if host in members[name]:
                merged.update(groups[name].vars)
        merged.update(own)
        hosts[host] = _host(host, merged, path)
    listed = {n: tuple(h for h in host_vars if h in members[n]) for n in groups if n != "all"}
    return Inventory(path=path, hosts=hosts, groups=listed)


class _Reader:
    """Walks the document depth-first, collecting groups and hosts in order of appearance."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.groups: dict[str, _Group] = {"all": _Group()}
        self.host_vars: dict[str, dict[str, Any]] = {}

    def group(self, name: Any, body: Any, parent: str | None) -> None:
        """Read group ``name`` (a child of ``parent``) where it appears; merge repeated ones."""
        if parent is not None:
            check_name(name, "group", self.path)
        where = f"{self.path}: group {name!r}"
        body = _mapping(body, where)
        extra = [key for key in body if key not in _GROUP_KEYS]
        if extra:
            raise InvalidInput(f"{where}: unknown key {extra[0]!r} (use hosts, children, vars)")
        group = self.groups.setdefault(name, _Group())
        if parent is not None and name not in self.groups[parent].children:
            self.groups[parent].children.append(name)
        for key, value in body.items():
            if key == "hosts":
                self._hosts(group, value, where)
            elif key == "children":
                for child, child_body in _mapping(value, f"{where}: children").items():
                    self.group(child, child_body, name)
            else:
                group.vars.update(_mapping(value, f"{where}: vars"))

    def _hosts(self, group: _Group, value: Any, where: str) -> None:
        for host, values in _mapping(value, f"{where}: hosts").items():
            if isinstance(host, str) and _RANGE.search(host):
                raise InvalidInput(
                    f"{self.path}: host pattern {host!r} is not supported: list each host by name"
                )
            check_name(host, "host", self.path)
            own = _mapping(values, f"{self.path}: host {host!r}")
            self.host_vars.setdefault(host, {}).update(own)
            if host not in group.hosts:
                group.hosts.append(host)


def _depths(groups: Mapping[str, _Group]) -> dict[str, int]:
    """Each group's longest chain of parents from ``all`` (depth 0); cycles are refused before."""
    parents: dict[str, list[str]] = {name: [] for name in groups}
    for name, group in groups.items():
        for child in group.children:
            parents[child].append(name)
    depths: dict[str, int] = {}

    def depth(name: str) -> int:
        if name not in depths:
            depths[name] = 1 + max((depth(parent) for parent in parents[name]), default=-1)
        return depths[name]

    return {name: depth(name) for name in groups}


def _host(name: str, merged: dict[str, Any], path: str) -> Host:
    """Map the Ansible variables onto native ones and build the host; ``vars`` keeps them all."""
    native: dict[str, Any] = {}
    labels: dict[str, str] = {}
    for ansible_name, native_name in ANSIBLE_VARIABLES.items():
        given = ansible_name if ansible_name in merged else _OLD_NAMES.get(ansible_name)
        if given is None or given not in merged:
            continue
        value = merged[given]
        if native_name == "remote_python" and value in _DISCOVERY:
            continue
        if isinstance(value, str) and ("{{" in value or "{%" in value):
            raise InvalidInput(
                f"{path}: host {name!r}: {given} is a Jinja template, which portbook does not"
                f" evaluate: {value!r}"
            )
        native[native_name] = value
        labels[native_name] = given
    return replace(host_from_vars(name, native, path, labels=labels), vars=merged)


def _mapping(value: Any, where: str) -> dict[Any, Any]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise InvalidInput(f"{where}: expected a mapping, got {value!r:.60}")
    return dict(value)
