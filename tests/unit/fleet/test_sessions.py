"""A host's settings: invoke config, then the inventory's overrides, root and python."""

from __future__ import annotations

import re

import pytest
from portbook.errors import InvalidInput, ParseError
from portbook.fleet.inventory import Host
from portbook.fleet.sessions import HostSession, host_settings
from portbook.target.fake import FakeTarget


def host(**values: object) -> Host:
    return Host(name="trade-1", address="10.0.0.1", **values)  # type: ignore[arg-type]


def test_the_inventory_root_python_and_overrides_win_over_the_hosts_portbook_yaml() -> None:
    target = FakeTarget(
        files={"/srv/recio/portbook.yaml": (b"smoke_timeout: 5\nlogs: var\n", 0o644)}
    )
    config = {"root": "/ignored", "stop_timeout": 3.0}
    found = host_settings(
        host(root="/srv/recio", python="/opt/py/bin/python", config={"smoke_timeout": 40.0}),
        target,
        config,
    )
    assert found.root == "/srv/recio"  # the controller's portbook.root never applies to a host
    assert found.python == "/opt/py/bin/python"
    assert found.smoke_timeout == 40.0  # inventory override beats the host's portbook.yaml
    assert found.logs == "var"  # the host's portbook.yaml beats the defaults
    assert found.stop_timeout == 3.0  # invoke config still applies


def test_a_host_without_a_root_is_refused_by_name() -> None:
    with pytest.raises(InvalidInput, match="host trade-1: no root"):
        host_settings(host(), FakeTarget(), {})


def test_a_broken_portbook_yaml_on_the_host_is_a_parse_error_naming_it() -> None:
    target = FakeTarget(files={"/srv/recio/portbook.yaml": (b"smoke_timeout: [\n", 0o644)})
    with pytest.raises(ParseError, match=re.escape("/srv/recio/portbook.yaml")):
        host_settings(host(root="/srv/recio"), target, {})


def test_a_session_shows_the_port_in_its_address_only_when_it_is_not_22() -> None:
    assert HostSession(host()).address == "10.0.0.1"
    assert HostSession(host(port=2222)).address == "10.0.0.1:2222"
