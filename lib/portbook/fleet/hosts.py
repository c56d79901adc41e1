"""The fleet's model: hosts, groups and the checks every inventory format shares.

:mod:`portbook.fleet.inventory` (native) and :mod:`portbook.fleet.ansible` both build an
``Inventory`` of ``Host``s with these helpers, so neither format's reader depends on the other.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from portbook.errors import InvalidInput

from .hostvars import HOST_VARIABLES, show

__all__ = ["Host", "Inventory", "check_keys", "check_name", "expand_groups", "host_from_vars"]

_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")


@dataclass(frozen=True)
class Host:
    """One host of the inventory and how to reach and manage it."""

    name: str  # inventory name, shown in output
    address: str  # what SSH connects to (default: the name)
    port: int = 22
    user: str | None = None  # None: ~/.ssh/config or the local user decides
    key: str | None = None  # private key path, "~" expanded on the controller
    known_hosts: str | None = None  # extra known_hosts file ("~" expanded)
    root: str | None = None  # the managed system's root on that host (absolute)
    python: str | None = None  # the python that runs its services (portbook setting `python`)
    remote_python: str = "python3"  # interpreter portbook's remote probes use
    accept_new_keys: bool = False  # record an unknown host key; a changed key is still refused
    config: Mapping[str, Any] = field(default_factory=dict)  # portbook setting overrides
    vars: Mapping[str, Any] = field(default_factory=dict)  # every variable as read (for display)


@dataclass(frozen=True)
class Inventory:
    """Hosts in file order, and groups of host names."""

    path: str
    hosts: dict[str, Host]
    groups: dict[str, tuple[str, ...]]

    def select(self, spec: str) -> list[Host]:
        """The hosts named by ``spec`` (comma-separated hosts, groups or ``all``), in file order.

        Each host appears once. An empty spec or an unknown name is refused (``InvalidInput``).
        """
        tokens = [token for token in (part.strip() for part in spec.split(",")) if token]
        if not tokens:
            raise InvalidInput(
                f"{self.path}: no hosts selected: name hosts or groups (comma-separated) or 'all'"
            )
        chosen: set[str] = set()
        for token in tokens:
            if token == "all":
                chosen.update(self.hosts)
            elif token in self.hosts:
                chosen.add(token)
            elif token in self.groups:
                chosen.update(self.groups[token])
            else:
                raise InvalidInput(
                    f"{self.path}: no host or group named {token!r} "
                    f"(hosts: {_listing(self.hosts)}; groups: {_listing(self.groups)})"
                )
        return [host for name, host in self.hosts.items() if name in chosen]


def check_name(name: object, kind: str, path: str) -> str:
    """Return ``name`` if it is a safe host or group name (``kind``), else refuse it.

    Names are 1-64 letters, digits, ``.``, ``_`` or ``-`` starting with a letter or digit, so
    they are safe in shell commands, paths and output; ``all`` is reserved (every host).
    """
    if name == "all":
        raise InvalidInput(f"{path}: {kind} name 'all' is reserved: it means every host")
    if isinstance(name, str) and _NAME.fullmatch(name):
        return name
    quote = "" if isinstance(name, str) else " (write it in quotes)"
    raise InvalidInput(
        f"{path}: invalid {kind} name {show(name)}: use 1-64 letters, digits, '.', '_' or '-',"
        f" starting with a letter or digit{quote}"
    )


def expand_groups(
    direct: Mapping[str, Iterable[str]], children: Mapping[str, Iterable[str]], path: str
) -> dict[str, set[str]]:
    """Every group's hosts: its ``direct`` ones and its ``children``'s, refusing cycles."""
    members: dict[str, set[str]] = {}

    def visit(name: str, trail: tuple[str, ...]) -> set[str]:
        if name in trail:
            cycle = " -> ".join((*trail[trail.index(name) :], name))
            raise InvalidInput(f"{path}: groups form a cycle: {cycle}")
        if name not in members:
            found = set(direct.get(name, ()))
            for child in children.get(name, ()):
                found |= visit(child, (*trail, name))
            members[name] = found
        return members[name]

    for group in direct:
        visit(group, ())
    return members


def host_from_vars(
    name: str, values: Mapping[str, Any], path: str, *, labels: Mapping[str, str] | None = None
) -> Host:
    """Validate native host variables (``HOST_VARIABLES``) and build the ``Host``.

    ``labels`` renames variables in error messages (the Ansible reader passes its own names).
    A null value means the default; ``address`` defaults to the name.
    """
    check_name(name, "host", path)
    where = f"{path}: host {name!r}"
    check_keys(values, where)
    fields: dict[str, Any] = {}
    for key, value in values.items():
        if value is not None:
            try:
                fields[key] = HOST_VARIABLES[key](value)
            except ValueError as exc:
                label = (labels or {}).get(key, key)
                raise InvalidInput(f"{where}: {label} {exc}") from None
    config = fields.pop("portbook", {})
    address = fields.pop("address", name)
    return Host(name=name, address=address, config=config, vars=dict(values), **fields)


def check_keys(values: Mapping[Any, Any], where: str) -> None:
    """Refuse a variable ``values`` holds that is not a host variable (``where`` names it)."""
    for key in values:
        if key not in HOST_VARIABLES:
            known = ", ".join(HOST_VARIABLES)
            raise InvalidInput(f"{where}: unknown variable {key!r} (known: {known})")


def _listing(names: Iterable[str], limit: int = 20) -> str:
    ordered = sorted(names)
    more = f", +{len(ordered) - limit} more" if len(ordered) > limit else ""
    return (", ".join(ordered[:limit]) or "none") + more
