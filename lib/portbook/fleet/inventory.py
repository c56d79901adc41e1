"""The fleet inventory: which hosts portbook manages, how to reach them, and host selection.

Two file formats give the same model. The native one::

    defaults: {user: recio, root: /srv/recio}     # optional: variables every host starts from
    hosts:                                        # required: name -> variables (or null)
      trade-1: {address: 10.20.0.11}
    groups:                                       # optional: name -> [host names] or
      canary: [trade-1]                           #   {hosts: [...], children: [...], vars: {...}}

Precedence, lowest first: ``defaults``, the vars of each group holding the host (in file
order; a group's vars reach the hosts of its children), the host's own variables. ``portbook``
override mappings merge key by key; a null variable means "the default". Any other top-level
shape is read as an Ansible YAML inventory (:mod:`portbook.fleet.ansible`).

Every error is one line naming the file and the host, group or value: ``ParseError`` when the
YAML cannot be read (with its line), ``InvalidInput`` when a name or value is unacceptable.
"""

from __future__ import annotations

import re
from collections.abc import Hashable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import yaml

from portbook.errors import InvalidInput, ParseError

from .hostvars import HOST_VARIABLES, show

__all__ = [
    "HOST_VARIABLES",
    "Host",
    "Inventory",
    "check_name",
    "expand_groups",
    "host_from_vars",
    "load_inventory",
    "parse_inventory",
]

_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")
_NATIVE_KEYS = frozenset({"defaults", "hosts", "groups"})
_GROUP_KEYS = frozenset({"hosts", "children", "vars"})


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


def load_inventory(path: str) -> Inventory:
    """Read the inventory file at ``path`` (native or Ansible YAML, detected)."""
    try:
        with open(path, encoding="utf-8") as handle:
            text = handle.read()
    except UnicodeDecodeError as exc:
        raise ParseError(path, None, f"not UTF-8 text: {exc.reason}") from exc
    except OSError as exc:
        raise InvalidInput(f"cannot read inventory {path}: {exc.strerror or exc}") from exc
    return parse_inventory(text, path)


def parse_inventory(text: str, path: str) -> Inventory:
    """Parse inventory ``text``: native when the top level has ``hosts`` and only
    ``defaults``/``hosts``/``groups``, else an Ansible YAML inventory."""
    data = _load_yaml(text, path)
    if "hosts" in data and set(data) <= _NATIVE_KEYS:
        return _parse_native(data, path)
    from portbook.fleet.ansible import parse_ansible  # ansible.py builds on this module

    inventory: Inventory = parse_ansible(data, path)
    return inventory


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
    _check_keys(values, where)
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


def _parse_native(data: Mapping[str, Any], path: str) -> Inventory:
    defaults = _mapping(data.get("defaults"), f"{path}: defaults")
    _check_keys(defaults, f"{path}: defaults")
    own: dict[str, dict[str, Any]] = {}
    for name, values in _mapping(data["hosts"], f"{path}: hosts").items():
        check_name(name, "host", path)
        own[name] = _mapping(values, f"{path}: host {name!r}")
        _check_keys(own[name], f"{path}: host {name!r}")
    if not own:
        raise InvalidInput(f"{path}: 'hosts' lists no hosts")
    group_vars, members = _native_groups(data.get("groups"), own, path)
    hosts: dict[str, Host] = {}
    for name in own:
        merged = dict(defaults)
        for group, values in group_vars.items():
            if name in members[group]:
                _merge(merged, values)
        _merge(merged, own[name])
        hosts[name] = host_from_vars(name, merged, path)
    groups = {group: tuple(h for h in own if h in members[group]) for group in group_vars}
    return Inventory(path=path, hosts=hosts, groups=groups)


def _native_groups(
    raw: Any, hosts: Mapping[str, Any], path: str
) -> tuple[dict[str, dict[str, Any]], dict[str, set[str]]]:
    spec = _mapping(raw, f"{path}: groups")
    direct: dict[str, list[str]] = {}
    children: dict[str, list[str]] = {}
    group_vars: dict[str, dict[str, Any]] = {}
    for name, body in spec.items():
        check_name(name, "group", path)
        where = f"{path}: group {name!r}"
        if name in hosts:
            raise InvalidInput(f"{where} has the same name as a host")
        if body is None or isinstance(body, list):
            body = {"hosts": body}
        body = _mapping(body, where)
        extra = [key for key in body if key not in _GROUP_KEYS]
        if extra:
            raise InvalidInput(f"{where}: unknown key {extra[0]!r} (use hosts, children, vars)")
        direct[name] = _names(body.get("hosts"), where, "host", hosts)
        children[name] = _names(body.get("children"), where, "group", spec)
        group_vars[name] = _mapping(body.get("vars"), f"{where}: vars")
        _check_keys(group_vars[name], where)
    return group_vars, expand_groups(direct, children, path)


def _names(value: Any, where: str, kind: str, known: Mapping[Any, Any]) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise InvalidInput(f"{where}: expected a list of {kind} names, got {show(value)}")
    for item in value:
        if not isinstance(item, str) or item not in known:
            raise InvalidInput(f"{where}: no {kind} named {show(item)} in the inventory")
    return value


def _merge(target: dict[str, Any], values: Mapping[str, Any]) -> None:
    for key, value in values.items():
        before = target.get(key)
        if key == "portbook" and isinstance(before, Mapping) and isinstance(value, Mapping):
            target[key] = {**before, **value}
        else:
            target[key] = value


def _load_yaml(text: str, path: str) -> dict[Any, Any]:
    try:
        data = yaml.load(text, Loader=_UniqueKeyLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        problem = exc.problem or "cannot be parsed"
        context = f" ({exc.context})" if exc.context else ""
        line = mark.line + 1 if mark is not None else None
        raise ParseError(path, line, f"invalid YAML: {problem}{context}") from exc
    except yaml.YAMLError as exc:
        raise ParseError(path, None, f"invalid YAML: {exc}".splitlines()[0]) from exc
    if data is None:
        raise ParseError(path, 1, "empty inventory: expected a mapping with 'hosts'")
    if not isinstance(data, dict):
        raise ParseError(path, 1, f"expected a mapping at the top level, got {type(data).__name__}")
    return data


class _UniqueKeyLoader(yaml.SafeLoader):
    """``yaml.SafeLoader`` that refuses a key written twice in one mapping."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Hashable, Any]:
        seen: set[tuple[str, str]] = set()
        for key_node, _ in node.value:
            if isinstance(key_node, yaml.ScalarNode) and key_node.tag != "tag:yaml.org,2002:merge":
                if (key_node.tag, key_node.value) in seen:
                    raise yaml.constructor.ConstructorError(
                        None, None, f"duplicate key {key_node.value!r}", key_node.start_mark
                    )
                seen.add((key_node.tag, key_node.value))
        return super().construct_mapping(node, deep)


def _mapping(value: Any, where: str) -> dict[Any, Any]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise InvalidInput(f"{where}: expected a mapping, got {show(value)}")
    return dict(value)


def _check_keys(values: Mapping[Any, Any], where: str) -> None:
    for key in values:
        if key not in HOST_VARIABLES:
            known = ", ".join(HOST_VARIABLES)
            raise InvalidInput(f"{where}: unknown variable {key!r} (known: {known})")


def _listing(names: Iterable[str], limit: int = 20) -> str:
    ordered = sorted(names)
    more = f", +{len(ordered) - limit} more" if len(ordered) > limit else ""
    return (", ".join(ordered[:limit]) or "none") + more
