"""The append-only audit log: one line per action, time, user, procedure, what; masked."""

from __future__ import annotations

import re

from portbook.engine.audit import AuditLog, audit_path

from .conftest import ROOT
from .ops_support import fast_settings, make_consistent


def test_lines_are_appended_with_time_user_procedure_and_what() -> None:
    target = make_consistent()
    settings = fast_settings()
    log = AuditLog(target, settings, "recover", user="alice")
    log.write("SIGTERM to pid 4")
    log.write("removed stale .run/supervisor.sock")
    lines = (target.text(audit_path(settings)) or "").splitlines()
    assert len(lines) == 2
    stamp, user, procedure, what = lines[0].split("\t")
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d{4}", stamp)
    assert (user, procedure, what) == ("alice", "recover", "SIGTERM to pid 4")
    assert audit_path(settings) == f"{ROOT}/.portbook/audit.log"
    assert target.file_mode(audit_path(settings)) == 0o640


def test_secrets_are_masked_and_newlines_folded() -> None:
    target = make_consistent()
    settings = fast_settings()
    AuditLog(target, settings, "restart", user="bob").write("ran db postgres://u:pw@h/x\nnext")
    text = target.text(audit_path(settings)) or ""
    assert text.endswith("\tran db postgres://u:***@h/x next\n") and "pw" not in text


def test_the_operator_defaults_to_the_login_user() -> None:
    log = AuditLog(make_consistent(), fast_settings(), "restart")
    assert log.user
