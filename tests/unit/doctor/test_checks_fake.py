"""doctor's checks against the REC.IO-shaped FakeTarget system of tests/unit/conftest.py."""

from __future__ import annotations

import json

import pytest
from portbook.doctor.findings import Finding
from portbook.doctor.run import run_checks
from portbook.target.fake import FakeTarget

from ..conftest import CONF, FALLBACK, MANIFEST, ROOT, FakeSupervisor, make_recio, settings_for

STATIC = ["agreement", "policy", "code", "secrets", "hardcoded.python"]
URL = f"unix://{ROOT}/.run/supervisor.sock"


def findings(target: FakeTarget, only: list[str], yaml_text: str | None = None) -> list[Finding]:
    return run_checks(target, settings_for(yaml_text=yaml_text), only).findings


def brief(found: list[Finding]) -> set[tuple[str, str, str]]:
    return {(f.check, f.severity, f.place) for f in found}


def set_manifest_port(target: FakeTarget, name: str, port: int) -> None:
    doc = json.loads(target.text(f"{ROOT}/{MANIFEST}") or "")
    for category in ("core_services", "watchdog_services"):
        if name in doc.get(category, {}):
            doc[category][name]["port"] = port
    target.put(f"{ROOT}/{MANIFEST}", json.dumps(doc, indent=2) + "\n")


def test_the_fake_system_shows_each_of_its_known_disagreements_at_its_line() -> None:
    assert brief(findings(make_recio(), STATIC)) == {
        ("agreement.missing-manifest", "error", f"{FALLBACK}:7"),  # old_poller
        ("agreement.missing-manifest", "warning", f"{CONF}:28"),  # [program:legacy_proxy]
        ("agreement.missing-program", "error", f"{MANIFEST}:14"),  # kalshi_market_watchdog
        ("secrets.plaintext", "warning", f"{CONF}:26"),  # main_app's DB_PASSWORD
        ("code.unknown-service", "error", "backend/api/legacy_proxy.py:3"),  # its get_port
    }


def test_a_manifest_port_the_fallback_does_not_share_is_a_mismatch_at_the_fallback_line() -> None:
    target = make_recio()
    set_manifest_port(target, "main_app", 8011)
    mismatch = [f for f in findings(target, ["agreement"]) if f.check.endswith("port-mismatch")]
    assert [(f.place, f.fixable) for f in mismatch] == [(f"{FALLBACK}:5", True)]
    assert "DEFAULT_PORTS says 8001, the manifest says 8011" in mismatch[0].message


def test_two_services_on_one_port_are_reported_at_the_later_claim() -> None:
    target = make_recio()
    set_manifest_port(target, "kalshi_market_watchdog", 8001)
    dups = [f for f in findings(target, ["agreement.duplicate-port"])]
    places = {f.place for f in dups}
    assert f"{MANIFEST}:14" in places  # kalshi in the manifest
    assert all("8001" in f.message for f in dups)


def test_a_manifest_port_equal_to_supervisords_inet_port_is_a_duplicate() -> None:
    target = make_recio()
    set_manifest_port(target, "kalshi_market_watchdog", 8002)
    dups = findings(target, ["agreement.duplicate-port"])
    assert any("[inet_http_server]" in f.message for f in dups)


@pytest.mark.parametrize(
    ("port", "check"),
    [(9000, "policy.avoid"), (80, "policy.privileged"), (70000, "policy.invalid")],
)
def test_policy_errors_point_at_the_manifest_line(port: int, check: str) -> None:
    target = make_recio()
    set_manifest_port(target, "main_app", port)
    assert (check, "error", f"{MANIFEST}:7") in brief(findings(target, ["policy"]))


def test_a_port_outside_its_category_range_is_only_a_warning() -> None:
    yaml_text = "ranges:\n  core: [8050, 8060]\n  watchdog: [8001, 8100]\n"
    assert brief(findings(make_recio(), ["policy"], yaml_text)) == {
        ("policy.range", "warning", f"{MANIFEST}:7")
    }


def test_a_program_script_without_get_port_of_its_own_name_is_reported() -> None:
    target = make_recio()
    set_manifest_port(target, "kalshi_market_watchdog", 8005)
    target.put(f"{ROOT}/backend/api/main_app.py", "import uvicorn\nuvicorn.run(app, port=8001)\n")
    found = findings(target, ["code", "hardcoded"])
    assert ("code.no-get-port", "error", "backend/api/main_app.py:2") in brief(found)
    hard = [f for f in found if f.check == "hardcoded.python"]
    assert [(f.place, f.fixable) for f in hard] == [("backend/api/main_app.py:2", True)]


def test_get_port_of_a_name_nobody_registered_is_reported_at_the_call() -> None:
    target = make_recio()
    target.put(
        f"{ROOT}/backend/api/main_app.py",
        'from x import get_port\nget_port("main_app")\nOTHER = get_port("ghost")\n',
    )
    assert brief(findings(target, ["code"])) == {
        ("code.unknown-service", "error", "backend/api/main_app.py:3"),
        ("code.unknown-service", "error", "backend/api/legacy_proxy.py:3"),
    }


def test_the_secrets_check_names_the_key_and_never_the_value() -> None:
    found = findings(make_recio(), ["secrets"])
    assert [f.message for f in found] == [
        "[program:main_app] environment= holds DB_PASSWORD in plain text"
    ]
    assert all("hunter2" not in str(f.as_dict()) for f in found)


def test_env_references_and_sha_hashes_are_not_plaintext_secrets() -> None:
    target = make_recio()
    conf = (target.text(f"{ROOT}/{CONF}") or "").replace(
        'DB_PASSWORD="hunter2"', 'DB_PASSWORD="%(ENV_DB_PASSWORD)s"'
    )
    conf += "\n[inet_http_server]\nport=127.0.0.1:9001\npassword={SHA}abc\n"
    target.put(f"{ROOT}/{CONF}", conf)
    assert findings(target, ["secrets"]) == []


def test_a_url_with_a_password_is_a_secret_whatever_its_key() -> None:
    target = make_recio()
    conf = (target.text(f"{ROOT}/{CONF}") or "").replace(
        'DB_PASSWORD="hunter2"', 'DATABASE_URL="postgres://app:s3cr3t@db/prod"'
    )
    target.put(f"{ROOT}/{CONF}", conf)
    found = findings(target, ["secrets"])
    assert [f.message for f in found] == [
        "[program:main_app] environment= holds DATABASE_URL in plain text"
    ]
    assert "s3cr3t" not in repr(found)


def test_an_unreadable_manifest_is_one_error_whatever_was_asked() -> None:
    target = make_recio()
    target.put(f"{ROOT}/{MANIFEST}", '{"core_services": {\n  "a": {"port": "x"}\n}}\n')
    for only in (["policy"], ["hardcoded.js"], None):
        found = run_checks(target, settings_for(), only, live=False).findings
        assert [(f.check, f.place) for f in found] == [("agreement.unreadable", f"{MANIFEST}:2")]


# --- live ---------------------------------------------------------------------------------


def live_system() -> FakeTarget:
    """main_app RUNNING as pid 500 on 8001; kalshi's 8005 has no program in the fake conf."""
    target = make_recio()
    FakeSupervisor(target, {"main_app": ("RUNNING", 500), "legacy_proxy": ("RUNNING", 510)})
    target.add_process(500, ["python", "backend/api/main_app.py"], ppid=99, cwd=ROOT)
    target.add_process(510, ["python", "backend/api/legacy_proxy.py"], ppid=99, cwd=ROOT)
    target.process_env[510] = {
        "SUPERVISOR_SERVER_URL": URL,
        "SUPERVISOR_PROCESS_NAME": "legacy_proxy",
    }
    target.listen(8001, 500)
    target.listen(8123, 510)
    return target


def test_a_running_program_on_its_port_gives_no_live_finding() -> None:
    assert findings(live_system(), ["live", "agreement.not-listening", "supervisor.socket"]) == []


def test_a_program_listening_elsewhere_is_not_listening_and_names_where_it_listens() -> None:
    target = live_system()
    target.listening = [lst for lst in target.listening if lst.pid != 500]
    target.listen(8009, 500)
    found = findings(target, ["agreement.not-listening"])
    assert [(f.place, f.severity) for f in found] == [("main_app", "error")]
    assert found[0].message.endswith("does not listen on its port 8001; it listens on 8009")


def test_holders_of_a_manifest_port_are_told_apart_by_pid() -> None:
    target = live_system()
    target.listening = [lst for lst in target.listening if lst.pid != 500]
    target.listen(8001, 510)  # legacy_proxy took main_app's port
    target.add_process(700, ["python", "backend/api/kalshi.py"], cwd=f"{ROOT}/backend")
    target.listen(8005, 700)  # a manual run from inside the root
    found = {f.check: f for f in findings(target, ["live"])}
    assert found["live.wrong-program"].place == "pid 510"
    assert "held by program legacy_proxy" in found["live.wrong-program"].message
    assert found["live.stray"].place == "pid 700"
    target.end_process(700, 0)
    target.add_process(800, ["python3", "-m", "http.server", "8005"], cwd="/", user="alice")
    target.listen(8005, 800)
    foreign = [f for f in findings(target, ["live.foreign-holder"])]
    assert [(f.place, "(alice)" in f.message) for f in foreign] == [("pid 800", True)]


def test_a_program_that_is_not_running_is_an_error_and_a_down_supervisord_another() -> None:
    target = live_system()
    FakeSupervisor(target, {"main_app": ("FATAL", 0), "legacy_proxy": ("RUNNING", 510)})
    assert brief(findings(target, ["live.not-running"])) == {
        ("live.not-running", "error", "main_app")
    }
    target.rpc_handler = None
    found = findings(target, ["supervisor.socket", "live.not-running"])
    assert brief(found) == {("supervisor.socket", "error", ".run/supervisor.sock")}


# --- leftovers ----------------------------------------------------------------------------


def test_a_journal_whose_run_is_gone_points_to_rollback() -> None:
    target = make_recio()
    journal = {"procedure": "add", "spec": {}, "pid": 4242, "started": 0.0, "entries": []}
    target.put(f"{ROOT}/.portbook/journal.json", json.dumps(journal))
    found = findings(target, ["leftovers.journal"])
    assert [(f.place, f.severity) for f in found] == [(".portbook/journal.json", "error")]
    assert "service.rollback" in found[0].fix and "interrupted add (pid 4242" in found[0].message


def test_a_journal_of_a_run_that_holds_the_lock_is_not_a_leftover() -> None:
    target = make_recio()
    target.add_process(4242, ["invoke", "service.add"])
    journal = {"procedure": "add", "spec": {}, "pid": 4242, "started": 0.0, "entries": []}
    target.put(f"{ROOT}/.portbook/journal.json", json.dumps(journal))
    target.put(f"{ROOT}/.portbook/lock", "4242 2026-01-01T00:00:00\n")
    assert findings(target, ["leftovers"]) == []


def test_stale_lock_socket_and_pidfile_are_warnings_at_their_paths() -> None:
    target = make_recio()
    target.put(f"{ROOT}/.portbook/lock", "4243 2026-01-01T00:00:00\n")
    target.put(f"{ROOT}/.run/supervisor.sock", b"")
    target.put(f"{ROOT}/.run/supervisord.pid", "4244\n")
    assert brief(findings(target, ["leftovers"])) == {
        ("leftovers.stale-lock", "warning", ".portbook/lock"),
        ("leftovers.stale-socket", "warning", ".run/supervisor.sock"),
        ("leftovers.stale-pidfile", "warning", ".run/supervisord.pid"),
    }


def test_a_pidfile_naming_the_live_supervisord_is_not_stale() -> None:
    target = make_recio()
    target.add_process(4244, ["python", "-m", "supervisor.supervisord", "-c", CONF])
    target.put(f"{ROOT}/.run/supervisord.pid", "4244\n")
    assert findings(target, ["leftovers.stale-pidfile"]) == []
