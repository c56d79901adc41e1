"""journal: backups before change, exact restore, a round-tripping record, and clean discard."""

from __future__ import annotations

import pytest
from portbook.config import Settings
from portbook.engine.journal import Journal, JournalEntry
from portbook.errors import TargetError
from portbook.target.fake import FakeTarget

ROOT = "/srv/recio"
CONF = f"{ROOT}/backend/supervisord.conf"
NEW = f"{ROOT}/backend/api/risk_monitor.py"
SCRIPT = f"{ROOT}/backend/api/main_app.py"
JOURNAL = f"{ROOT}/.portbook/journal.json"
SPEC = {"name": "risk_monitor", "port": 8003, "category": "watchdog"}


@pytest.fixture
def journal(target: FakeTarget, settings: Settings) -> Journal:
    return Journal(target, settings, "add", dict(SPEC), pid=4242, started=1700000000.5)


def test_begin_backs_up_existing_files_with_their_mode_and_records_absent_ones(
    journal: Journal, target: FakeTarget
) -> None:
    entry = journal.begin("supervisor-conf", [CONF, NEW])
    backup = f"{ROOT}/.portbook/backups/00-00-supervisord.conf"
    assert entry.files == [
        {"path": CONF, "backup": backup, "mode": 0o644},
        {"path": NEW, "backup": None, "mode": None},
    ]
    assert target.read_optional(backup) == target.read_optional(CONF)
    assert target.file_mode(backup) == 0o600
    assert entry.state == "begun"


def test_begin_persists_the_entry_before_returning(
    journal: Journal, target: FakeTarget, settings: Settings
) -> None:
    journal.begin("fallback", [SCRIPT])
    loaded = Journal.load(target, settings)
    assert loaded is not None
    assert [(e.step, e.state) for e in loaded.entries] == [("fallback", "begun")]


def test_backups_of_later_steps_do_not_overwrite_earlier_ones(
    journal: Journal, target: FakeTarget
) -> None:
    first = journal.begin("one", [SCRIPT])
    target.write_atomic(SCRIPT, b"changed by step one\n")
    second = journal.begin("two", [SCRIPT])
    assert first.files[0]["backup"] != second.files[0]["backup"]
    assert target.read_optional(second.files[0]["backup"]) == b"changed by step one\n"
    assert target.read_optional(first.files[0]["backup"]) != b"changed by step one\n"


def test_restore_files_restores_bytes_and_mode_and_removes_files_that_did_not_exist(
    journal: Journal, target: FakeTarget
) -> None:
    before = target.files[SCRIPT]
    entry = journal.begin("service-code", [SCRIPT, NEW])
    target.write_atomic(SCRIPT, b"rewritten\n", mode=0o600)
    target.write_atomic(NEW, b"created\n", mode=0o644)
    journal.restore_files(entry)
    assert target.files[SCRIPT] == before
    assert target.read_optional(NEW) is None


def test_restore_files_fixes_a_mode_change_alone(journal: Journal, target: FakeTarget) -> None:
    entry = journal.begin("chmod", [SCRIPT])
    data, _ = target.files[SCRIPT]
    target.write_atomic(SCRIPT, data, mode=0o777)
    journal.restore_files(entry)
    assert target.file_mode(SCRIPT) == 0o755


def test_restore_files_refuses_when_a_backup_is_missing(
    journal: Journal, target: FakeTarget
) -> None:
    entry = journal.begin("service-code", [SCRIPT])
    target.remove(entry.files[0]["backup"])
    with pytest.raises(TargetError, match=r"backup .*00-main_app\.py of .*main_app\.py is missing"):
        journal.restore_files(entry)


def test_load_round_trips_procedure_spec_pid_start_and_entries(
    journal: Journal, target: FakeTarget, settings: Settings
) -> None:
    entry = journal.begin("smoke-test", [CONF])
    journal.note(entry, smoke_pid=40001, smoke_started=12.5)
    journal.mark(entry, "applied")
    journal.begin("apply", [])
    loaded = Journal.load(target, settings)
    assert loaded is not None
    assert (loaded.procedure, loaded.spec, loaded.pid, loaded.started) == (
        "add",
        SPEC,
        4242,
        1700000000.5,
    )
    assert loaded.entries == [
        JournalEntry(
            "smoke-test", "applied", entry.files, {"smoke_pid": 40001, "smoke_started": 12.5}
        ),
        JournalEntry("apply", "begun", [], {}),
    ]
    assert loaded.path == JOURNAL


def test_load_returns_none_when_there_is_no_journal(target: FakeTarget, settings: Settings) -> None:
    assert Journal.load(target, settings) is None


@pytest.mark.parametrize(
    "raw",
    [b"{not json", b'{"procedure": "add"}', b'{"procedure": "add", "spec": {}, "pid": 1, '
     b'"started": 0, "entries": [{"nope": 1}]}', b"[]"],
    ids=["not-json", "missing-keys", "bad-entry", "not-an-object"],
)  # fmt: skip
def test_unreadable_journal_raises_target_error_naming_its_path(
    target: FakeTarget, settings: Settings, raw: bytes
) -> None:
    target.put(JOURNAL, raw)
    with pytest.raises(TargetError) as caught:
        Journal.load(target, settings)
    assert str(caught.value).startswith(f"{JOURNAL}: unreadable journal")


def test_discard_removes_the_journal_and_every_backup(journal: Journal, target: FakeTarget) -> None:
    before = set(target.files)
    journal.begin("one", [CONF, NEW])
    journal.begin("two", [SCRIPT])
    assert set(target.files) - before  # backups and journal exist
    journal.discard()
    assert set(target.files) == before


def test_two_files_with_the_same_name_in_one_step_get_separate_backups(
    journal: Journal, target: FakeTarget
) -> None:
    a, b = f"{ROOT}/a/x.sh", f"{ROOT}/b/x.sh"
    target.makedirs(f"{ROOT}/a")
    target.makedirs(f"{ROOT}/b")
    target.write_atomic(a, b"one\n", mode=0o644)
    target.write_atomic(b, b"two\n", mode=0o755)
    entry = journal.begin("shell-ports", [a, b])
    target.write_atomic(a, b"changed\n")
    target.write_atomic(b, b"changed\n")
    journal.restore_files(entry)
    assert (target.read_optional(a), target.file_mode(a)) == (b"one\n", 0o644)
    assert (target.read_optional(b), target.file_mode(b)) == (b"two\n", 0o755)
