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

from collections.abc import Hashable, Mapping
from typing import Any

import yaml

from portbook.errors import InvalidInput, ParseError

from .ansible import parse_ansible
from .hosts import Host, Inventory, check_keys, check_name, expand_groups, host_from_vars
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

_NATIVE_KEYS = frozenset({"defaults", "hosts", "groups"})
_GROUP_KEYS = frozenset({"hosts", "children", "vars"})


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
    return parse_ansible(data, path)


def _parse_native(data: Mapping[str, Any], path: str) -> Inventory:
    defaults = _mapping(data.get("defaults"), f"{path}: defaults")
    check_keys(defaults, f"{path}: defaults")
    own: dict[str, dict[str, Any]] = {}
    for name, values in _mapping(data["hosts"], f"{path}: hosts").items():
        check_name(name, "host", path)
        own[name] = _mapping(values, f"{path}: host {name!r}")
        check_keys(own[name], f"{path}: host {name!r}")
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
        check_keys(group_vars[name], where)
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
