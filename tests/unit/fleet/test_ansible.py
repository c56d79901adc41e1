"""Ansible YAML inventories: variable mapping, Ansible's precedence, groups and host order."""

from __future__ import annotations

import textwrap
from typing import Any

import pytest
from portbook.errors import InvalidInput, ParseError
from portbook.fleet.ansible import parse_ansible
from portbook.fleet.inventory import Host, Inventory, parse_inventory

PATH = "inventory/a.yaml"


def parse(text: str) -> Inventory:
    return parse_inventory(textwrap.dedent(text), PATH)


def one_host(variables: dict[str, Any]) -> Host:
    return parse_ansible({"all": {"hosts": {"h": variables}}}, PATH).hosts["h"]


@pytest.mark.parametrize(
    ("variable", "value", "attribute", "expected"),
    [
        ("ansible_host", "10.20.0.11", "address", "10.20.0.11"),
        ("ansible_port", 2222, "port", 2222),
        ("ansible_user", "recio", "user", "recio"),
        ("ansible_ssh_private_key_file", "/keys/id", "key", "/keys/id"),
        (
            "ansible_python_interpreter",
            "/usr/bin/python3.11",
            "remote_python",
            "/usr/bin/python3.11",
        ),
        ("portbook_root", "/srv/recio/", "root", "/srv/recio"),
        ("portbook_python", "/srv/recio/venv/bin/python", "python", "/srv/recio/venv/bin/python"),
        ("portbook_known_hosts", "/keys/known", "known_hosts", "/keys/known"),
        ("portbook_accept_new_keys", True, "accept_new_keys", True),
        ("portbook_config", {"smoke_timeout": 40}, "config", {"smoke_timeout": 40}),
    ],
)
def test_each_ansible_variable_sets_its_host_field(
    variable: str, value: Any, attribute: str, expected: Any
) -> None:
    assert getattr(one_host({variable: value}), attribute) == expected


def test_without_ansible_host_the_address_is_the_inventory_name() -> None:
    host = one_host({})
    assert (host.address, host.port, host.user, host.remote_python) == ("h", 22, None, "python3")


def test_key_file_expands_the_home_folder(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", "/home/op")
    assert one_host({"ansible_ssh_private_key_file": "~/.ssh/k"}).key == "/home/op/.ssh/k"


@pytest.mark.parametrize(
    ("old", "value", "attribute"),
    [
        ("ansible_ssh_host", "10.0.0.9", "address"),
        ("ansible_ssh_port", 2200, "port"),
        ("ansible_ssh_user", "ops", "user"),
        ("ansible_private_key_file", "/keys/old", "key"),
    ],
)
def test_older_ansible_spellings_count_when_the_current_name_is_absent(
    old: str, value: Any, attribute: str
) -> None:
    assert getattr(one_host({old: value}), attribute) == value


def test_the_current_ansible_name_wins_over_the_older_spelling() -> None:
    assert one_host({"ansible_ssh_user": "old", "ansible_user": "new"}).user == "new"


@pytest.mark.parametrize("value", ["auto", "auto_silent", "auto_legacy"])
def test_interpreter_discovery_keywords_leave_the_default_remote_python(value: str) -> None:
    assert one_host({"ansible_python_interpreter": value}).remote_python == "python3"


def test_other_variables_are_kept_for_display_and_otherwise_ignored() -> None:
    host = one_host({"ansible_host": "10.0.0.1", "ansible_become": True, "app_env": "prod"})
    assert host.vars == {"ansible_host": "10.0.0.1", "ansible_become": True, "app_env": "prod"}
    assert host.config == {}


def test_errors_name_the_ansible_variable() -> None:
    with pytest.raises(InvalidInput) as caught:
        one_host({"ansible_port": "ssh"})
    assert str(caught.value) == (
        "inventory/a.yaml: host 'h': ansible_port must be an integer 1-65535, got 'ssh'"
    )


def test_an_unknown_portbook_config_setting_is_refused() -> None:
    with pytest.raises(InvalidInput, match="portbook_config has unknown setting 'smoke'"):
        one_host({"portbook_config": {"smoke": 1}})


def test_jinja_templates_are_refused_rather_than_used_literally() -> None:
    with pytest.raises(InvalidInput, match="portbook_root is a Jinja template"):
        one_host({"portbook_root": "/srv/{{ app }}"})


PRECEDENCE = """
    all:
      vars: {ansible_user: from_all, tier: all, ansible_port: 2000, portbook_root: /all}
      children:
        prod:
          vars: {ansible_user: from_prod, tier: prod, ansible_port: 2001}
          children:
            trading:
              vars: {ansible_user: from_trading, tier: trading}
              hosts:
                t1: {tier: host}
                t2:
        other:
          hosts:
            o1:
"""


def test_ansible_precedence_is_all_then_parent_then_child_then_host() -> None:
    hosts = parse(PRECEDENCE).hosts
    assert [hosts[n].vars["tier"] for n in ("t1", "t2", "o1")] == ["host", "trading", "all"]
    assert (hosts["t2"].user, hosts["t2"].port, hosts["t2"].root) == ("from_trading", 2001, "/all")
    assert (hosts["o1"].user, hosts["o1"].port) == ("from_all", 2000)


def test_at_equal_depth_the_group_whose_name_sorts_last_wins() -> None:
    inventory = parse("""
        zeta: {hosts: {h: }, vars: {ansible_user: zeta}}
        alpha: {hosts: {h: }, vars: {ansible_user: alpha}}
    """)
    assert inventory.hosts["h"].user == "zeta"


def test_a_deeper_group_wins_whatever_its_name() -> None:
    inventory = parse("""
        zeta:
          vars: {ansible_user: zeta}
          children:
            alpha: {hosts: {h: }, vars: {ansible_user: alpha}}
    """)
    assert inventory.hosts["h"].user == "alpha"


def test_depth_is_the_longest_chain_from_all() -> None:
    inventory = parse("""
        all:
          children:
            a:
              children:
                b: {vars: {ansible_user: b}}
            c: {hosts: {h: }, vars: {ansible_user: c}}
        b:
          children:
            c:
    """)
    assert inventory.hosts["h"].user == "c"  # c sits under b (depth 2), so depth 3 beats b


def test_mapping_values_replace_lower_ones_whole_as_in_ansible() -> None:
    inventory = parse("""
        all:
          vars: {portbook_config: {smoke_timeout: 30}}
          hosts:
            h: {portbook_config: {stop_timeout: 5}}
    """)
    assert inventory.hosts["h"].config == {"stop_timeout": 5}


def test_a_child_defined_in_several_places_merges_hosts_vars_and_children() -> None:
    inventory = parse("""
        all:
          children:
            prod:
              children:
                web: {hosts: {w1: }, vars: {ansible_user: web}}
            staging:
              children:
                web: {hosts: {w2: }}
        web:
          hosts:
            w3:
          vars: {ansible_port: 2222}
    """)
    assert inventory.groups["web"] == ("w1", "w2", "w3")
    assert inventory.groups["prod"] == ("w1", "w2", "w3")
    assert inventory.groups["staging"] == ("w1", "w2", "w3")
    assert {(h.user, h.port) for h in inventory.hosts.values()} == {("web", 2222)}


def test_a_host_listed_in_several_groups_merges_its_own_variables() -> None:
    inventory = parse("""
        a: {hosts: {h: {ansible_host: 10.0.0.1, ansible_user: first}}}
        b: {hosts: {h: {ansible_user: second}}}
    """)
    host = inventory.hosts["h"]
    assert (host.address, host.user) == ("10.0.0.1", "second")
    assert inventory.groups == {"a": ("h",), "b": ("h",)}


def test_hosts_keep_the_order_of_a_depth_first_walk_of_the_file() -> None:
    inventory = parse("""
        all:
          hosts: {first: }
          children:
            x:
              children:
                y: {hosts: {second: , third: }}
              hosts: {fourth: , second: }
            z: {hosts: {fifth: }}
        w: {hosts: {sixth: , first: }}
    """)
    assert list(inventory.hosts) == ["first", "second", "third", "fourth", "fifth", "sixth"]


def test_groups_list_their_own_and_their_childrens_hosts_in_host_order() -> None:
    inventory = parse("""
        all:
          hosts: {loner: }
          children:
            trading:
              hosts: {t2: , t1: }
              children:
                canary: {hosts: {t1: }}
            ungrouped: {hosts: {u: }}
    """)
    assert inventory.groups == {"trading": ("t2", "t1"), "canary": ("t1",), "ungrouped": ("u",)}
    assert [h.name for h in inventory.select("canary,ungrouped")] == ["t1", "u"]
    assert [h.name for h in inventory.select("all")] == ["loner", "t2", "t1", "u"]


@pytest.mark.parametrize("name", ["web[01:03]", "trade-[1:3]", "db[a:c].example.com"])
def test_host_range_patterns_are_refused_not_expanded(name: str) -> None:
    with pytest.raises(InvalidInput, match=r"host pattern .* is not supported"):
        parse_ansible({"all": {"hosts": {name: None}}}, PATH)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"all": {"hosts": {"$(reboot)": None}}}, "invalid host name '$(reboot)'"),
        ({"all": {"children": {"a;b": None}}}, "invalid group name 'a;b'"),
        ({"web app": {"hosts": {"h": None}}}, "invalid group name 'web app'"),
        ({"all": {"children": {"all": None}}}, "group name 'all' is reserved"),
        ({"all": {"hosts": {"all": None}}}, "host name 'all' is reserved"),
        ({"h": {"hosts": {"h": None}}}, "group 'h' has the same name as a host"),
        ({"all": {"hosts": ["h"]}}, "group 'all': hosts: expected a mapping"),
        ({"all": {"host": {"h": None}}}, "group 'all': unknown key 'host'"),
        ({"all": {"hosts": {"h": "x"}}}, "host 'h': expected a mapping"),
        ({"all": {"vars": ["x"]}}, "group 'all': vars: expected a mapping"),
        ({"all": {"children": ["web"]}}, "group 'all': children: expected a mapping"),
        ({"all": ["web"]}, "group 'all': expected a mapping"),
        ({"all": {"children": {"web": None}}}, "defines no hosts"),
        (
            {"a": {"children": {"b": None}}, "b": {"children": {"a": {"hosts": {"h": None}}}}},
            "cycle",
        ),
    ],
)
def test_malformed_ansible_inventories_are_refused(data: Any, message: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_ansible(data, PATH)
    assert str(caught.value).startswith("inventory/a.yaml: ")
    assert message in str(caught.value)


def test_a_document_that_is_not_a_mapping_is_a_parse_error() -> None:
    with pytest.raises(ParseError, match="expected a mapping of groups"):
        parse_ansible(["all"], PATH)
