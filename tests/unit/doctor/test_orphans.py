"""A script service.remove kept (and recorded) is a warning; any other unknown get_port an error."""

from __future__ import annotations

import json

from portbook.doctor.findings import Finding
from portbook.doctor.run import run_checks
from portbook.target.fake import FakeTarget

from ..conftest import ROOT, make_recio, settings_for

GONE = (
    "import sys\n"
    "sys.path.insert(0, '.')\n"
    "from backend.core.port_config import get_port\n"
    'PORT = get_port("gone")\n'
)
RECORD = f"{ROOT}/.portbook/kept-code.json"


def _findings(target: FakeTarget, path: str) -> list[Finding]:
    found = run_checks(target, settings_for(), ["code", "imports"]).findings
    return [f for f in found if f.place.startswith(path)]


def _system_with_gone(recorded: dict[str, str] | None) -> FakeTarget:
    target = make_recio()
    target.put(f"{ROOT}/backend/api/gone.py", GONE)
    if recorded is not None:
        target.put(RECORD, json.dumps(recorded))
    return target


def test_a_recorded_kept_script_nothing_runs_is_one_warning_naming_delete_code() -> None:
    target = _system_with_gone({"backend/api/gone.py": "gone"})
    [finding] = _findings(target, "backend/api/gone.py")
    assert (finding.check, finding.severity, finding.place) == (
        "code.orphaned-service",
        "warning",
        "backend/api/gone.py:4",
    )
    assert "delete backend/api/gone.py" in finding.fix
    assert "service.remove --name gone --delete-code" in finding.fix


def test_the_same_script_without_a_record_stays_an_error() -> None:
    target = _system_with_gone(None)
    checks = {(f.check, f.severity) for f in _findings(target, "backend/api/gone.py")}
    assert ("code.unknown-service", "error") in checks
    assert ("imports.sys-path-hack", "warning") in checks


def test_a_record_does_not_excuse_get_port_of_that_name_in_another_file() -> None:
    target = _system_with_gone({"backend/api/gone.py": "gone"})
    target.put(f"{ROOT}/backend/core/client.py", "\n".join(GONE.splitlines()[2:]) + "\n")
    [finding] = _findings(target, "backend/core/client.py")
    assert (finding.check, finding.severity) == ("code.unknown-service", "error")
    assert finding.fix.startswith("delete backend/core/client.py if nothing uses it")


def test_a_record_does_not_excuse_a_script_a_program_still_runs() -> None:
    # legacy_proxy's program runs backend/api/legacy_proxy.py, which calls an unknown name
    target = make_recio()
    target.put(RECORD, json.dumps({"backend/api/legacy_proxy.py": "legacy_proxy"}))
    found = _findings(target, "backend/api/legacy_proxy.py")
    assert [(f.check, f.severity) for f in found] == [("code.unknown-service", "error")]


def test_a_garbled_record_is_no_record() -> None:
    target = _system_with_gone(None)
    target.put(RECORD, "not json")
    checks = {f.check for f in _findings(target, "backend/api/gone.py")}
    assert "code.unknown-service" in checks and "code.orphaned-service" not in checks
