"""Port policy: who claims a port (in operator words), the lowest free one, and refusals."""

from __future__ import annotations

import pytest
from portbook.errors import InvalidInput, PortConflict
from portbook.registry.ports import allocate_port, check_port, claimed_ports
from portbook.registry.system import System, read_system
from portbook.target import Listener
from portbook.target.fake import FakeTarget

from .conftest import ROOT, make_recio, settings_for

CONF = f"{ROOT}/backend/supervisord.conf"


def test_claimed_ports_names_every_owner_in_operator_words(system: System) -> None:
    assert claimed_ports(system) == {
        8001: "main_app's in the manifest",
        8005: "kalshi_market_watchdog's in the manifest",
        8010: "old_poller's in DEFAULT_PORTS (backend/core/port_config.py)",
        8123: f"used by [program:legacy_proxy] in {CONF}",
        8002: f"supervisord's [inet_http_server] in {CONF}",
    }


@pytest.mark.parametrize(
    "command",
    ["srv --port 8123", "srv --port=8123", "srv -p 8123", "srv --bind 0.0.0.0:8123",
     "srv --bind=127.0.0.1:8123", "uvicorn app --host 127.0.0.1:8123", "proxy localhost:8123"],
)  # fmt: skip
def test_claimed_ports_reads_ports_from_supervisor_commands(command: str) -> None:
    target = make_recio()
    text = target.text(CONF) or ""
    target.put(CONF, text.replace("backend/api/legacy_proxy.py --port 8123", command))
    assert claimed_ports(read_system(target, settings_for()))[8123].startswith(
        "used by [program:legacy_proxy]"
    )


def test_claimed_ports_reads_a_bare_inet_http_server_port() -> None:
    target = make_recio()
    target.put(CONF, (target.text(CONF) or "").replace("port=127.0.0.1:8002", "port=8077"))
    claims = claimed_ports(read_system(target, settings_for()))
    assert claims[8077] == f"supervisord's [inet_http_server] in {CONF}"
    assert 8002 not in claims


def test_manifest_owner_wins_over_default_ports_and_conf_for_the_same_port() -> None:
    target = make_recio()
    target.put(CONF, (target.text(CONF) or "").replace("--port 8123", "--port 8001"))
    assert claimed_ports(read_system(target, settings_for()))[8001] == "main_app's in the manifest"


def test_allocate_port_picks_the_lowest_port_nothing_claims(system: System) -> None:
    # 8001 main_app, 8002 inet_http_server are claimed
    assert allocate_port("watchdog", system, []) == 8003


def test_allocate_port_skips_ports_someone_listens_on(system: System) -> None:
    listeners = [Listener(8003, 4121, "127.0.0.1"), Listener(8004, 0, "0.0.0.0")]
    assert allocate_port("core", system, listeners) == 8006


def test_allocate_port_skips_the_avoid_list() -> None:
    settings = settings_for(yaml_text="avoid: [8003, 8004]\n")
    system = read_system(make_recio(), settings)
    assert allocate_port("watchdog", system, []) == 8006


def test_allocate_port_uses_the_category_range() -> None:
    settings = settings_for(yaml_text="ranges: {core: [8001, 8100], watchdog: [8500, 8600]}\n")
    system = read_system(make_recio(), settings)
    assert allocate_port("watchdog", system, []) == 8500
    assert allocate_port("core", system, []) == 8003


def test_allocate_port_raises_port_conflict_when_the_range_is_exhausted() -> None:
    settings = settings_for(yaml_text="ranges: {core: [8001, 8002], watchdog: [8003, 8005]}\n")
    system = read_system(make_recio(), settings)
    with pytest.raises(PortConflict, match="no free port in the core range 8001-8002"):
        allocate_port("core", system, [])
    listeners = [Listener(8003, 1, "127.0.0.1"), Listener(8004, 1, "127.0.0.1")]
    with pytest.raises(PortConflict, match="no free port in the watchdog range 8003-8005"):
        allocate_port("watchdog", system, listeners)


def test_check_port_names_the_manifest_owner(system: System, target: FakeTarget) -> None:
    with pytest.raises(PortConflict) as caught:
        check_port(8005, system, target, [])
    assert str(caught.value) == "8005 is kalshi_market_watchdog's in the manifest"
    assert caught.value.code == 2


def test_check_port_names_the_live_holder_and_its_command(
    system: System, target: FakeTarget
) -> None:
    target.add_process(4121, ["python", "foo.py"])
    listeners = [target.listen(8030, 4121)]
    with pytest.raises(PortConflict) as caught:
        check_port(8030, system, target, listeners)
    assert str(caught.value) == "8030 is held by pid 4121: python foo.py"


def test_check_port_names_an_unknown_holder(system: System, target: FakeTarget) -> None:
    with pytest.raises(PortConflict, match=r"^8030 is held by pid 4121 \(unknown process\)$"):
        check_port(8030, system, target, [Listener(8030, 4121, "0.0.0.0")])
    with pytest.raises(PortConflict, match=r"^8031 is held by pid \? \(unknown process\)$"):
        check_port(8031, system, target, [Listener(8031, 0, "0.0.0.0")])


def test_check_port_refuses_the_avoid_list(system: System, target: FakeTarget) -> None:
    with pytest.raises(PortConflict) as caught:
        check_port(9000, system, target, [])
    assert str(caught.value) == "9000 is on the avoid list (5000, 7000, 9000, 10000)"


@pytest.mark.parametrize("port", [0, 80, 1023, 65536, -1])
def test_check_port_refuses_ports_out_of_range(
    port: int, system: System, target: FakeTarget
) -> None:
    with pytest.raises(InvalidInput, match=f"port {port} is outside 1024-65535"):
        check_port(port, system, target, [])


def test_check_port_accepts_a_free_port(system: System, target: FakeTarget) -> None:
    target.add_process(4121, ["python", "foo.py"])
    check_port(8040, system, target, [target.listen(8030, 4121)])
