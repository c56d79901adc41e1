"""service.list: one row per name in any of the four places, disagreements shown as problems."""

from __future__ import annotations

from portbook.commands.listing import ServiceRow, list_services, rows_table
from portbook.registry.system import System, read_system
from portbook.target.fake import FakeTarget

from .conftest import FALLBACK, ROOT, FakeSupervisor, make_recio, settings_for


def _rows(target: FakeTarget, system: System) -> dict[str, ServiceRow]:
    return {row.name: row for row in list_services(target, system)}


def _running(target: FakeTarget) -> FakeSupervisor:
    supervisor = FakeSupervisor(
        target, {"main_app": ("RUNNING", 500), "legacy_proxy": ("RUNNING", 501)}
    )
    target.add_process(500, ["python", "backend/api/main_app.py"], ppid=99)
    target.listen(8001, 500)
    target.add_process(501, ["python", "backend/api/legacy_proxy.py", "--port", "8123"], ppid=99)
    target.listen(8123, 501)
    return supervisor


def test_one_row_per_name_found_in_any_place_sorted(target: FakeTarget, system: System) -> None:
    rows = list_services(target, system)
    assert [r.name for r in rows] == [
        "kalshi_market_watchdog",
        "legacy_proxy",
        "main_app",
        "old_poller",
    ]


def test_consistent_running_service_owning_its_port_has_no_problems(
    target: FakeTarget, system: System
) -> None:
    _running(target)
    row = _rows(target, system)["main_app"]
    assert row == ServiceRow("main_app", "core", 8001, 8001, True, "RUNNING", 500, True, ())


def test_a_descendant_listening_counts_as_owning_the_port(
    target: FakeTarget, system: System
) -> None:
    FakeSupervisor(target, {"main_app": ("RUNNING", 500)})
    target.add_process(500, ["sh", "-c", "python main_app.py"])
    target.add_process(510, ["python", "main_app.py"], ppid=500)
    target.listen(8001, 510)
    assert _rows(target, system)["main_app"].owns_port


def test_running_pid_not_listening_on_its_port_is_a_problem(
    target: FakeTarget, system: System
) -> None:
    FakeSupervisor(target, {"main_app": ("RUNNING", 500)})
    target.add_process(500, ["python", "main_app.py"])
    target.listen(8009, 500)
    row = _rows(target, system)["main_app"]
    assert not row.owns_port
    assert row.problems == ("pid 500 does not listen on 8001",)  # status's words


def test_places_that_disagree_are_each_named(target: FakeTarget, system: System) -> None:
    _running(target)
    rows = _rows(target, system)
    assert rows["kalshi_market_watchdog"].problems == (
        "no [program] section",
        "ABSENT, should be RUNNING",
    )
    assert rows["kalshi_market_watchdog"].state == "ABSENT"
    assert rows["legacy_proxy"].category == "-"
    assert rows["old_poller"].problems == ("not in manifest", "no [program] section")
    assert rows["old_poller"].fallback_port == 8010


def test_running_program_with_no_registered_port_is_not_said_to_miss_its_port(
    target: FakeTarget, system: System
) -> None:
    # legacy_proxy is in no registry, so it has no port of its own to miss; it
    # listens on 8123 as its command says. The only problem is "not in manifest".
    _running(target)
    row = _rows(target, system)["legacy_proxy"]
    assert (row.state, row.pid, row.manifest_port, row.fallback_port) == (
        "RUNNING",
        501,
        None,
        None,
    )
    assert row.problems == ("not in manifest",)


def test_ports_that_differ_between_manifest_and_default_ports_are_a_problem() -> None:
    target = make_recio()
    path = f"{ROOT}/{FALLBACK}"
    target.put(path, (target.text(path) or "").replace('"main_app": 8001', '"main_app": 8011'))
    rows = _rows(target, read_system(target, settings_for()))
    assert "DEFAULT_PORTS says 8011, manifest says 8001" in rows["main_app"].problems


def test_manifest_service_missing_from_default_ports_is_a_problem() -> None:
    target = make_recio()
    path = f"{ROOT}/{FALLBACK}"
    target.put(path, (target.text(path) or "").replace('    "main_app": 8001,\n', ""))
    rows = _rows(target, read_system(target, settings_for()))
    assert rows["main_app"].problems == ("not in DEFAULT_PORTS", "DOWN, should be RUNNING")


def test_supervisord_down_shows_every_state_as_down_and_as_a_problem(
    target: FakeTarget, system: System
) -> None:
    rows = _rows(target, system)
    assert {r.state for r in rows.values()} == {"DOWN"}
    assert {r.pid for r in rows.values()} == {0}
    assert rows["main_app"].problems == ("DOWN, should be RUNNING",)


def test_rows_table_prints_a_header_and_ok_or_the_problems(
    target: FakeTarget, system: System
) -> None:
    _running(target)
    lines = rows_table(list_services(target, system)).splitlines()
    assert lines[0].split() == [
        "service",
        "category",
        "manifest",
        "fallback",
        "state",
        "pid",
        "owns",
        "problems",
    ]
    main = next(line for line in lines if line.startswith("main_app"))
    assert main.split() == ["main_app", "core", "8001", "8001", "RUNNING", "500", "yes", "ok"]
    poller = next(line for line in lines if line.startswith("old_poller"))
    assert poller.endswith("not in manifest; no [program] section")
    assert poller.split()[2:4] == ["-", "8010"]


def test_as_dict_is_json_ready(target: FakeTarget, system: System) -> None:
    row = _rows(target, system)["old_poller"].as_dict()
    assert row["problems"] == ["not in manifest", "no [program] section"]
    assert row["manifest_port"] is None
