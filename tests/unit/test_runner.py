"""runner: plan everything first, journal before each write, unwind newest first on failure."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field

import pytest
from portbook.config import Settings
from portbook.engine.journal import Journal, JournalEntry
from portbook.engine.runner import plan_all, run_steps
from portbook.errors import Refused, RollbackIncomplete, StepFailed, TargetError
from portbook.model import FileChange, Outcome, Plan, ServiceSpec, StepResult
from portbook.registry.system import read_system
from portbook.steps import Run
from portbook.target.fake import FakeTarget

ROOT = "/srv/recio"
A, B, C, D = (f"{ROOT}/etc/{n}.txt" for n in "abcd")
JOURNAL = f"{ROOT}/.portbook/journal.json"


@dataclass
class Scripted:
    """A step that writes one file (or nothing), and can refuse, fail, fail its undo or skip."""

    name: str
    path: str | None
    after: bytes | None = b""
    log: list[str] = field(default_factory=list)
    mode: int | None = None
    refuse: bool = False
    skip: bool = False
    fail_apply: bool = False
    fail_undo: bool = False
    undo_raises: BaseException | None = None
    chmod_to: int | None = None

    def check(self, run: Run) -> Plan:
        self.log.append(f"check {self.name}")
        if self.refuse:
            raise Refused(f"{self.name} refuses")
        if self.skip:
            return Plan(f"{self.name}: nothing to do", skip_reason="already done")
        if self.path is None:
            return Plan(f"{self.name}: no files")
        before = run.target.read_optional(self.path)
        return Plan(f"write {self.path}", (FileChange(self.path, before, self.after, self.mode),))

    def apply(self, run: Run, plan: Plan, entry: JournalEntry) -> str:
        self.log.append(f"apply {self.name}")
        if self.chmod_to is not None and self.path and self.after is not None:
            run.target.write_atomic(self.path, self.after, mode=self.chmod_to)
        if self.fail_apply:
            raise StepFailed(f"{self.name} broke")
        return f"{self.name} done"

    def undo(self, run: Run, entry: JournalEntry) -> None:
        self.log.append(f"undo {self.name}")
        if self.fail_undo:
            raise TargetError(f"{self.name} cannot be undone")
        if self.undo_raises is not None:
            raise self.undo_raises


@pytest.fixture
def fake(target: FakeTarget) -> FakeTarget:
    target.put(A, b"alpha\n", 0o755)
    target.put(B, b"bravo\n", 0o600)
    target.put(C, b"charlie\n", 0o640)
    return target


def _run(target: FakeTarget, settings: Settings) -> Run:
    spec = ServiceSpec("risk_monitor", 8003, "watchdog", "risk", None, "python x.py")
    run = Run(target, settings, read_system(target, settings), spec)
    run.journal = Journal(target, settings, "add", asdict(spec))
    return run


def _go(run: Run, steps: list[Scripted]) -> tuple[Outcome, list[StepResult]]:
    outcome, seen = Outcome("add", run.target.host), list[StepResult]()
    run_steps(run, steps, outcome, seen.append)
    return outcome, seen


def _steps(log: list[str], *specs: tuple[str, str | None, bytes | None]) -> list[Scripted]:
    return [Scripted(name, path, after, log) for name, path, after in specs]


def test_plan_all_runs_every_check_before_any_apply(fake: FakeTarget, settings: Settings) -> None:
    log: list[str] = []
    steps = _steps(log, ("one", A, b"1"), ("two", B, b"2"), ("three", C, b"3"))
    plans = plan_all(_run(fake, settings), steps)
    assert log == ["check one", "check two", "check three"]
    assert [p.files[0].after for p in plans] == [b"1", b"2", b"3"]


def test_refusal_in_third_check_leaves_files_untouched_and_writes_no_journal(
    fake: FakeTarget, settings: Settings
) -> None:
    log: list[str] = []
    steps = _steps(log, ("one", A, b"1"), ("two", B, b"2"), ("three", C, b"3"))
    steps[2].refuse = True
    before = fake.snapshot()
    with pytest.raises(Refused, match="three refuses"):
        _go(_run(fake, settings), steps)
    assert log == ["check one", "check two", "check three"]
    assert fake.snapshot() == before
    assert fake.writes == []
    assert fake.read_optional(JOURNAL) is None


def test_each_step_is_journaled_with_its_backup_before_its_file_is_written(
    fake: FakeTarget, settings: Settings
) -> None:
    log: list[str] = []
    _go(_run(fake, settings), _steps(log, ("one", A, b"1"), ("two", B, b"2")))
    backup_a = f"{ROOT}/.portbook/backups/00-00-a.txt"
    backup_b = f"{ROOT}/.portbook/backups/01-00-b.txt"
    w = fake.writes
    assert w.index(backup_a) < w.index(JOURNAL) < w.index(A) < w.index(backup_b) < w.index(B)
    assert JOURNAL in w[w.index(backup_b) : w.index(B)]


def test_failure_at_step_k_undoes_k_to_1_newest_first(fake: FakeTarget, settings: Settings) -> None:
    log: list[str] = []
    steps = _steps(log, ("one", A, b"1"), ("two", B, b"2"), ("three", C, b"3"), ("four", D, b"4"))
    steps[2].fail_apply = True
    with pytest.raises(StepFailed, match="three broke"):
        _go(_run(fake, settings), steps)
    assert log[4:] == [
        "apply one",
        "apply two",
        "apply three",
        "undo three",
        "undo two",
        "undo one",
    ]
    assert "apply four" not in log


def test_unwind_restores_every_file_byte_for_byte_with_its_mode_and_removes_new_ones(
    fake: FakeTarget, settings: Settings
) -> None:
    log: list[str] = []
    before = fake.snapshot()
    steps = [
        Scripted("edit-a", A, b"alpha edited\n", log),
        Scripted("chmod-b", B, b"bravo edited\n", log, chmod_to=0o666),
        Scripted("create-d", D, b"delta\n", log, mode=0o640),
        Scripted("delete-c", C, None, log),
        Scripted("boom", None, None, log, fail_apply=True),
    ]
    with pytest.raises(StepFailed):
        _go(_run(fake, settings), steps)
    assert fake.snapshot() == before
    assert fake.file_mode(B) == 0o600
    assert fake.read_optional(D) is None


def test_failed_step_is_reported_failed_and_earlier_steps_undone(
    fake: FakeTarget, settings: Settings
) -> None:
    log: list[str] = []
    steps = _steps(log, ("one", A, b"1"), ("two", B, b"2"), ("three", C, b"3"), ("four", D, b"4"))
    steps[2].fail_apply = True
    outcome = Outcome("add", fake.host)
    with pytest.raises(StepFailed):
        run_steps(_run(fake, settings), steps, outcome, lambda r: None)
    rows = [(s.name, s.status) for s in outcome.steps]
    assert rows[:3] == [("one", "undone"), ("two", "undone"), ("three", "failed")]
    assert outcome.steps[2].detail == "three broke"
    assert all(name != "four" for name, _ in rows)
    assert all(status in ("undone", "failed") for _, status in rows)


def test_full_unwind_discards_the_journal_and_its_backups(
    fake: FakeTarget, settings: Settings
) -> None:
    log: list[str] = []
    steps = _steps(log, ("one", A, b"1"), ("two", None, None))
    steps[1].fail_apply = True
    with pytest.raises(StepFailed):
        _go(_run(fake, settings), steps)
    assert [p for p in fake.files if "/.portbook/" in p] == []


def test_failing_undo_raises_rollback_incomplete_with_code_3_and_keeps_the_journal(
    fake: FakeTarget, settings: Settings
) -> None:
    log: list[str] = []
    steps = _steps(log, ("one", A, b"1"), ("two", B, b"2"), ("three", C, b"3"))
    steps[0].fail_undo = True
    steps[2].fail_apply = True
    with pytest.raises(RollbackIncomplete) as caught:
        _go(_run(fake, settings), steps)
    assert caught.value.code == 3
    assert "three broke" in str(caught.value)
    assert "one cannot be undone" in str(caught.value)
    assert JOURNAL in str(caught.value)
    kept = Journal.load(fake, settings)
    assert kept is not None
    assert [(e.step, e.state) for e in kept.entries] == [
        ("one", "applied"),
        ("two", "undone"),
        ("three", "undone"),
    ]
    assert fake.read_optional(f"{ROOT}/.portbook/backups/00-00-a.txt") == b"alpha\n"
    assert fake.read_optional(B) == b"bravo\n"


def test_unexpected_exception_in_one_undo_still_undoes_the_rest_and_keeps_the_journal(
    fake: FakeTarget, settings: Settings
) -> None:
    # a bug in one step's undo (here a KeyError) must not stop the unwind half-way, nor be
    # reported as exit 1 "failed, rolled back" while earlier steps' files stay changed
    log: list[str] = []
    steps = _steps(log, ("one", A, b"1"), ("two", B, b"2"), ("three", C, b"3"))
    steps[1].undo_raises = KeyError("smoke_pid")
    steps[2].fail_apply = True
    with pytest.raises(RollbackIncomplete) as caught:
        _go(_run(fake, settings), steps)
    assert "two: " in str(caught.value)
    assert log[-3:] == ["undo three", "undo two", "undo one"]
    assert fake.read_optional(A) == b"alpha\n"
    assert fake.read_optional(C) == b"charlie\n"
    assert fake.read_optional(JOURNAL) is not None


def test_file_changed_on_disk_after_planning_fails_the_step_instead_of_overwriting(
    fake: FakeTarget, settings: Settings
) -> None:
    class Meddler(Scripted):
        def apply(self, run: Run, plan: Plan, entry: JournalEntry) -> str:
            run.target.write_atomic(C, b"someone else's edit\n")  # outside the journal
            return super().apply(run, plan, entry)

    log: list[str] = []
    steps = [Meddler("one", A, b"1", log), Scripted("two", C, b"portbook's edit\n", log)]
    outcome = Outcome("add", fake.host)
    with pytest.raises(StepFailed, match="changed on disk since it was planned"):
        run_steps(_run(fake, settings), steps, outcome, lambda r: None)
    assert fake.read_optional(C) == b"someone else's edit\n"
    assert fake.read_optional(A) == b"alpha\n"
    assert "apply two" not in log
    assert (outcome.steps[1].name, outcome.steps[1].status) == ("two", "failed")


def test_skipped_step_is_reported_skipped_and_not_journaled(
    fake: FakeTarget, settings: Settings
) -> None:
    log: list[str] = []
    steps = _steps(log, ("one", A, b"1"), ("two", B, b"2"))
    steps[1].skip = True
    outcome, seen = _go(_run(fake, settings), steps)
    assert [(s.name, s.status) for s in outcome.steps] == [("one", "changed"), ("two", "skipped")]
    assert seen == outcome.steps
    assert outcome.steps[1].detail == "two: nothing to do"
    assert "apply two" not in log
    assert fake.read_optional(B) == b"bravo\n"


def test_success_discards_journal_and_backups_and_lists_changed_files(
    fake: FakeTarget, settings: Settings
) -> None:
    log: list[str] = []
    steps = _steps(log, ("one", A, b"1"), ("two", None, None), ("three", C, b"3"))
    outcome, _ = _go(_run(fake, settings), steps)
    assert [(s.name, s.status) for s in outcome.steps] == [
        ("one", "changed"),
        ("two", "ok"),
        ("three", "changed"),
    ]
    assert outcome.changed_files == [A, C]
    assert fake.files[A] == (b"1", 0o755)
    assert fake.files[C] == (b"3", 0o640)
    assert [p for p in fake.files if "/.portbook/" in p] == []


def test_new_file_gets_the_planned_mode(fake: FakeTarget, settings: Settings) -> None:
    step = Scripted("create", D, b"delta\n", mode=0o640)
    _go(_run(fake, settings), [step])
    assert fake.files[D] == (b"delta\n", 0o640)


def test_interrupt_during_apply_still_unwinds(fake: FakeTarget, settings: Settings) -> None:
    class Interrupted(Scripted):
        def apply(self, run: Run, plan: Plan, entry: JournalEntry) -> str:
            raise KeyboardInterrupt

    before = fake.snapshot()
    steps = [Scripted("one", A, b"1"), Interrupted("two", B, b"2")]
    outcome = Outcome("add", fake.host)
    with pytest.raises(KeyboardInterrupt):
        run_steps(_run(fake, settings), steps, outcome, lambda r: None)
    assert fake.snapshot() == before
    assert outcome.steps[1].detail == "interrupted"


def test_journal_entry_records_state_applied_before_the_next_step_runs(
    fake: FakeTarget, settings: Settings
) -> None:
    states: list[list[str]] = []

    class Peek(Scripted):
        def apply(self, run: Run, plan: Plan, entry: JournalEntry) -> str:
            doc = json.loads(run.target.read_optional(JOURNAL) or b"{}")
            states.append([f"{e['step']}:{e['state']}" for e in doc["entries"]])
            return "peeked"

    _go(_run(fake, settings), [Scripted("one", A, b"1"), Peek("two", B, b"2")])
    assert states == [["one:applied", "two:begun"]]


def test_a_listener_that_raises_after_a_step_applied_still_unwinds_everything(
    fake: FakeTarget, settings: Settings
) -> None:
    before = fake.snapshot()
    steps = [Scripted("one", A, b"1"), Scripted("two", B, b"2")]
    outcome = Outcome("add", fake.host)

    def printer(result: StepResult) -> None:
        if result.name == "two" and result.status == "changed":
            raise BrokenPipeError("stdout closed")

    with pytest.raises(BrokenPipeError):
        run_steps(_run(fake, settings), steps, outcome, printer)
    assert fake.snapshot() == before
    assert JOURNAL not in fake.files
    assert [(s.name, s.status) for s in outcome.steps] == [("one", "undone"), ("two", "failed")]


def test_irreversible_steps_stop_at_a_failure_and_undo_nothing(
    fake: FakeTarget, settings: Settings
) -> None:
    from portbook.engine.operation import Op, perform

    done: list[str] = []

    @dataclass
    class Signal:
        name: str
        fail: bool = False

        def check(self, op: Op) -> Plan:
            return Plan(f"{self.name}: act")

        def apply(self, op: Op, plan: Plan, entry: JournalEntry) -> str:
            if self.fail:
                raise StepFailed(f"{self.name} broke")
            op.did(entry, f"{self.name} acted")
            done.append(self.name)
            return f"{self.name} done"

        def undo(self, op: Op, entry: JournalEntry) -> None:
            done.append(f"undo {self.name}")

    op = Op(fake, settings, read_system(fake, settings), "restart")
    op.journal = Journal(fake, settings, "restart", {})
    actions = [Signal("one"), Signal("two", fail=True), Signal("three")]
    plans = [(a.name, a.check(op)) for a in actions]
    outcome = Outcome("restart", fake.host)
    with pytest.raises(StepFailed, match="two broke"):
        perform(op, actions, plans, outcome, lambda r: None)
    assert done == ["one"]
    assert [(s.name, s.status) for s in outcome.steps] == [("one", "changed"), ("two", "failed")]
    journal = json.loads(fake.files[JOURNAL][0])
    assert [(e["step"], e["state"]) for e in journal["entries"]] == [
        ("one", "applied"),
        ("two", "failed"),
    ]
