"""The native inventory format: precedence, groups, selection, validation, and the examples."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path
from typing import Any

import pytest
from portbook.errors import InvalidInput, ParseError, Refused
from portbook.fleet.inventory import Host, Inventory, load_inventory, parse_inventory

PATH = "inventory/x.yaml"
EXAMPLES = Path(__file__).resolve().parents[3] / "inventory"


def parse(text: str) -> Inventory:
    return parse_inventory(textwrap.dedent(text), PATH)


def parse_data(data: Any) -> Inventory:
    """Parse a document given as Python data (JSON is YAML), for names YAML would mangle."""
    return parse_inventory(json.dumps(data), PATH)


FLEET = """
    defaults:
      user: root
      root: /srv/recio
      portbook: {smoke_timeout: 30, logs: var/log}
    hosts:
      trade-1: {address: 10.20.0.11}
      trade-2:
        address: 10.20.0.12
        port: 2222
        user: admin
        portbook: {smoke_timeout: 40}
      trade-3:
    groups:
      trading: [trade-1, trade-2, trade-3]
      canary: {hosts: [trade-1], vars: {user: deploy, portbook: {stop_timeout: 5}}}
"""


def test_host_variables_layer_defaults_then_group_vars_then_host_vars() -> None:
    hosts = parse(FLEET).hosts
    assert hosts["trade-1"].user == "deploy"  # canary vars beat defaults
    assert hosts["trade-2"].user == "admin"  # own vars beat defaults
    assert hosts["trade-3"].user == "root"  # defaults only
    assert hosts["trade-2"].port == 2222
    assert hosts["trade-1"].root == "/srv/recio"


def test_portbook_overrides_merge_key_by_key_across_levels() -> None:
    hosts = parse(FLEET).hosts
    assert hosts["trade-1"].config == {"smoke_timeout": 30, "logs": "var/log", "stop_timeout": 5}
    assert hosts["trade-2"].config == {"smoke_timeout": 40, "logs": "var/log"}


def test_a_host_without_variables_gets_the_defaults_and_its_name_as_address() -> None:
    host = parse("hosts: {solo: }").hosts["solo"]
    assert host == Host(name="solo", address="solo")
    assert (host.port, host.remote_python, host.accept_new_keys) == (22, "python3", False)


def test_a_null_variable_means_the_default_and_can_unset_one_from_defaults() -> None:
    host = parse("defaults: {user: root}\nhosts: {a: {user: null, port: null}}").hosts["a"]
    assert (host.user, host.port) == (None, 22)


def test_every_host_variable_is_read_into_its_field() -> None:
    host = parse("""
        hosts:
          a:
            address: fe80::1
            port: 2200
            user: deploy_1
            key: /keys/id
            known_hosts: /keys/known
            root: /srv//recio/./app/
            python: /srv/recio/venv/bin/python
            remote_python: /usr/bin/python3.11
            accept_new_keys: true
            portbook: {ranges: {core: [8200, 8299]}, avoid: [8250]}
    """).hosts["a"]
    assert (host.address, host.port, host.user) == ("fe80::1", 2200, "deploy_1")
    assert (host.key, host.known_hosts) == ("/keys/id", "/keys/known")
    assert host.root == "/srv/recio/app"
    assert (host.python, host.remote_python) == (
        "/srv/recio/venv/bin/python",
        "/usr/bin/python3.11",
    )
    assert host.accept_new_keys is True
    assert host.config == {"ranges": {"core": [8200, 8299]}, "avoid": [8250]}


def test_key_and_known_hosts_expand_the_home_folder(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", "/home/op")
    host = parse("hosts: {a: {key: ~/.ssh/k, known_hosts: ~/kh}}").hosts["a"]
    assert (host.key, host.known_hosts) == ("/home/op/.ssh/k", "/home/op/kh")


def test_vars_keep_every_merged_variable_as_written() -> None:
    host = parse("defaults: {key: ~/k}\nhosts: {a: {port: 2}}").hosts["a"]
    assert host.vars == {"key": "~/k", "port": 2}


def test_group_vars_apply_in_the_order_groups_appear_in_the_file() -> None:
    inventory = parse("""
        hosts: {a: }
        groups:
          first: {hosts: [a], vars: {user: one}}
          second: {hosts: [a], vars: {user: two}}
    """)
    assert inventory.hosts["a"].user == "two"


def test_group_vars_reach_the_hosts_of_child_groups() -> None:
    inventory = parse("""
        hosts: {a: , b: , c: }
        groups:
          west: [b]
          east: {hosts: [c], children: [west]}
          prod: {children: [east], vars: {root: /srv/prod}}
    """)
    assert [inventory.hosts[n].root for n in "abc"] == [None, "/srv/prod", "/srv/prod"]
    assert inventory.groups == {"west": ("b",), "east": ("b", "c"), "prod": ("b", "c")}


def test_group_members_are_listed_in_host_file_order() -> None:
    inventory = parse("hosts: {a: , b: , c: }\ngroups: {g: [c, a, c]}")
    assert inventory.groups["g"] == ("a", "c")


def test_hosts_keep_file_order() -> None:
    assert list(parse("hosts: {z: , a: , m: }").hosts) == ["z", "a", "m"]


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ("trade-2", ["trade-2"]),
        ("trade-3,trade-1", ["trade-1", "trade-3"]),
        (" canary , trade-1 ,trading", ["trade-1", "trade-2", "trade-3"]),
        ("canary,trade-2", ["trade-1", "trade-2"]),
        ("all", ["trade-1", "trade-2", "trade-3"]),
        ("trade-2,all", ["trade-1", "trade-2", "trade-3"]),
    ],
)
def test_select_returns_hosts_in_file_order_each_once(spec: str, expected: list[str]) -> None:
    assert [host.name for host in parse(FLEET).select(spec)] == expected


def test_select_names_the_unknown_token_and_lists_hosts_and_groups() -> None:
    inventory = parse("hosts: {trade-1: , trade-2: }\ngroups: {trading: [trade-1], canary: []}")
    with pytest.raises(InvalidInput) as caught:
        inventory.select("trade-1,web9")
    assert str(caught.value) == (
        "inventory/x.yaml: no host or group named 'web9'"
        " (hosts: trade-1, trade-2; groups: canary, trading)"
    )


@pytest.mark.parametrize("spec", ["", "  ", " , ,"])
def test_select_refuses_an_empty_selection(spec: str) -> None:
    with pytest.raises(InvalidInput, match="no hosts selected"):
        parse(FLEET).select(spec)


def test_select_of_an_empty_group_selects_nothing() -> None:
    assert parse("hosts: {a: }\ngroups: {empty: }").select("empty") == []


@pytest.mark.parametrize(
    ("variables", "message"),
    [
        ({"adress": "10.0.0.1"}, "unknown variable 'adress'"),
        ({"address": "-oProxyCommand=reboot"}, "address must be a hostname or IP address"),
        ({"address": "a b"}, "address must be a hostname or IP address"),
        ({"address": "x;reboot"}, "address must be a hostname or IP address"),
        ({"address": 10}, "address must be a hostname or IP address, got 10"),
        ({"port": 0}, "port must be an integer 1-65535, got 0"),
        ({"port": 65536}, "port must be an integer 1-65535"),
        ({"port": True}, "port must be an integer 1-65535, got True"),
        ({"port": "22"}, "port must be an integer 1-65535, got '22'"),
        ({"user": "9lives"}, "user must be a user name"),
        ({"user": "a;b"}, "user must be a user name"),
        ({"user": "u" * 33}, "user must be a user name"),
        ({"root": "srv/recio"}, "root must be an absolute path, got 'srv/recio'"),
        ({"root": "/srv/\nrecio"}, "root must not contain NUL or a line break"),
        ({"root": "/srv/\0recio"}, "root must not contain NUL or a line break"),
        ({"key": 5}, "key must be a non-empty string, got 5"),
        ({"known_hosts": ""}, "known_hosts must be a non-empty string"),
        ({"python": ""}, "python must be a non-empty string"),
        ({"python": "py\nthon"}, "python must not contain NUL or a line break"),
        ({"remote_python": ["python3"]}, "remote_python must be a non-empty string"),
        ({"accept_new_keys": "yes"}, "accept_new_keys must be true or false, got 'yes'"),
        ({"portbook": [1]}, "portbook must be a mapping of portbook settings"),
        ({"portbook": {"smoke_timout": 3}}, "portbook has unknown setting 'smoke_timout'"),
        ({"portbook": {"root": "/x"}}, "portbook has unknown setting 'root'"),
        (
            {"portbook": {"smoke_timeout": "slow"}},
            "setting 'smoke_timeout' must be a number, got 'slow'",
        ),
        ({"portbook": {"avoid": 5000}}, "setting 'avoid' must be a list, got 5000"),
    ],
)
def test_invalid_host_variables_are_refused_naming_file_host_and_value(
    variables: dict[str, Any], message: str
) -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_data({"hosts": {"trade-1": variables}})
    text = str(caught.value)
    assert text.startswith("inventory/x.yaml: host 'trade-1': ")
    assert message in text
    assert "\n" not in text


HOSTILE = ["$(reboot)", "a;b", "`x`", "a b", "a\nb", "-rf", ".hidden", "", "x" * 65, "a/b"]


@pytest.mark.parametrize("name", HOSTILE)
def test_hostile_host_names_are_refused(name: str) -> None:
    with pytest.raises(InvalidInput, match="invalid host name"):
        parse_data({"hosts": {name: None}})


@pytest.mark.parametrize("name", HOSTILE)
def test_hostile_group_names_are_refused(name: str) -> None:
    with pytest.raises(InvalidInput, match="invalid group name"):
        parse_data({"hosts": {"a": None}, "groups": {name: ["a"]}})


def test_a_host_name_yaml_reads_as_a_number_is_refused_with_a_hint() -> None:
    with pytest.raises(InvalidInput, match=r"invalid host name 1234: .*\(write it in quotes\)"):
        parse("hosts: {1234: }")


@pytest.mark.parametrize(
    ("groups", "message"),
    [
        ({"a": ["a"]}, "group 'a' has the same name as a host"),
        ({"all": ["a"]}, "group name 'all' is reserved"),
        ({"g": ["nope"]}, "group 'g': no host named 'nope'"),
        ({"g": {"children": ["nope"]}}, "group 'g': no group named 'nope'"),
        ({"g": {"hosts": "a"}}, "group 'g': expected a list of host names, got 'a'"),
        ({"g": {"host": ["a"]}}, "group 'g': unknown key 'host'"),
        ({"g": {"hosts": ["a"], "vars": {"usr": "x"}}}, "group 'g': unknown variable 'usr'"),
        ({"g": {"vars": ["x"]}}, "group 'g': vars: expected a mapping"),
        ({"g": 5}, "group 'g': expected a mapping, got 5"),
    ],
)
def test_invalid_groups_are_refused(groups: dict[str, Any], message: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_data({"hosts": {"a": None}, "groups": groups})
    assert message in str(caught.value)


def test_a_host_named_all_is_refused() -> None:
    with pytest.raises(InvalidInput, match="host name 'all' is reserved"):
        parse("hosts: {all: }")


def test_cycles_in_group_children_are_refused() -> None:
    text = "hosts: {a: }\ngroups: {x: {children: [y]}, y: {hosts: [a], children: [x]}}"
    with pytest.raises(InvalidInput, match="groups form a cycle: x -> y -> x"):
        parse(text)


def test_unknown_variables_in_defaults_are_refused() -> None:
    with pytest.raises(InvalidInput, match="defaults: unknown variable 'prot'"):
        parse("defaults: {prot: 22}\nhosts: {a: }")


def test_yaml_syntax_errors_report_the_line() -> None:
    with pytest.raises(ParseError) as caught:
        parse_inventory("hosts:\n  a:\n    port: 22\n   user: x\n", PATH)
    assert caught.value.line == 4
    assert str(caught.value).startswith("inventory/x.yaml:4: invalid YAML: ")


def test_a_key_written_twice_is_refused_with_its_line() -> None:
    with pytest.raises(ParseError, match="duplicate key 'a'") as caught:
        parse_inventory("hosts:\n  a: {port: 1}\n  b:\n  a: {port: 2}\n", PATH)
    assert caught.value.line == 4


@pytest.mark.parametrize(
    ("text", "message"),
    [("", "empty inventory"), ("# only a comment\n", "empty inventory"), ("- a\n", "got list")],
)
def test_empty_or_non_mapping_documents_are_parse_errors_at_line_one(
    text: str, message: str
) -> None:
    with pytest.raises(ParseError, match=message) as caught:
        parse_inventory(text, PATH)
    assert caught.value.line == 1


@pytest.mark.parametrize(
    "text",
    [
        "hosts: 5",
        "hosts: [a, b]",
        "hosts: {}",
        "hosts: {a: 5}",
        "hosts: {a: [port]}",
        "hosts: {a: }\ngroups: [g]",
        "hosts: {a: }\ngroups: {g: [[a]]}",
        "defaults: [user]\nhosts: {a: }",
        "hosts: {a: {portbook: {ranges: 5}}}",
        "hosts: {a: {port: .inf}}",
        "hosts: {? [a, b] : }",
        "hosts: {a: {address: !!binary aGk=}}",
        "\t",
        "hosts: {a: *nothing}",
    ],
)
def test_malformed_documents_raise_only_refusals(text: str) -> None:
    with pytest.raises(Refused):
        parse_inventory(text, PATH)


def test_a_mapping_with_hosts_and_only_native_keys_is_the_native_format() -> None:
    inventory = parse("hosts: {a: {address: 10.0.0.1}}")
    assert inventory.hosts["a"].address == "10.0.0.1"


@pytest.mark.parametrize(
    "text",
    [
        "all: {hosts: {a: {ansible_host: 10.0.0.1}}}",
        "hosts: {hosts: {a: {ansible_host: 10.0.0.1}}}\nweb: ",
        "groups: {hosts: {a: {ansible_host: 10.0.0.1}}}",
    ],
)
def test_any_other_mapping_is_read_as_an_ansible_inventory(text: str) -> None:
    assert parse(text).hosts["a"].address == "10.0.0.1"


def test_load_inventory_reads_the_file(tmp_path: Path) -> None:
    path = tmp_path / "hosts.yaml"
    path.write_text("hosts: {a: }\n")
    inventory = load_inventory(str(path))
    assert (inventory.path, list(inventory.hosts)) == (str(path), ["a"])


def test_load_inventory_refuses_a_missing_file(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match=r"cannot read inventory .*nope\.yaml"):
        load_inventory(str(tmp_path / "nope.yaml"))


def test_load_inventory_refuses_a_file_that_is_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "bin.yaml"
    path.write_bytes(b"hosts: {\xff: }\n")
    with pytest.raises(ParseError, match="not UTF-8"):
        load_inventory(str(path))


@pytest.mark.parametrize("path", sorted(EXAMPLES.glob("*.yaml")), ids=lambda p: p.name)
def test_every_shipped_inventory_parses(path: Path) -> None:
    inventory = load_inventory(str(path))
    assert inventory.hosts
    assert inventory.select("all") == list(inventory.hosts.values())


def test_the_trading_example_describes_three_hosts_and_a_canary() -> None:
    inventory = load_inventory(str(EXAMPLES / "trading.example.yaml"))
    assert [h.address for h in inventory.hosts.values()] == [f"10.20.0.{n}" for n in (11, 12, 13)]
    assert inventory.groups == {
        "trading": ("trade-1", "trade-2", "trade-3"),
        "canary": ("trade-1",),
    }
    for host in inventory.hosts.values():
        assert (host.user, host.root) == ("recio", "/srv/recio")
        assert host.key is not None and host.key.endswith("/.ssh/portbook_ed25519")
        assert host.python == "/srv/recio/venv/bin/python"
    assert inventory.hosts["trade-3"].config == {"smoke_timeout": 40}


def test_the_ansible_example_describes_the_same_fleet_as_the_native_one() -> None:
    native = load_inventory(str(EXAMPLES / "trading.example.yaml"))
    ansible = load_inventory(str(EXAMPLES / "ansible.example.yaml"))
    assert ansible.groups == native.groups

    def reach(inventory: Inventory) -> list[Host]:
        return [Host(**{**host.__dict__, "vars": {}}) for host in inventory.hosts.values()]

    assert reach(ansible) == reach(native)
