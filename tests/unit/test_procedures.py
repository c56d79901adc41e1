"""procedures: every procedure is a named tuple in one module, its order pinned here."""

from __future__ import annotations

from portbook.commands import doctor_fix, restart
from portbook.procedures import (
    ADD,
    DOCTOR_FIX,
    MASTER_RESTART,
    MODIFY,
    PROCEDURES,
    RECOVER,
    REMOVE,
    RENAME,
    RESTART,
    RESTART_SCRIPT,
)
from portbook.steps import (
    AddProgramSection,
    ApplyToSupervisor,
    CheckServiceCode,
    EditFallback,
    EditManifest,
    SmokeTest,
    VerifyOwnership,
)
from portbook.steps.doctor_gate import DoctorAfter, DoctorBefore


def test_add_step_names_follow_the_seed_manual_order() -> None:
    assert [step.name for step in ADD] == [
        "doctor-before",
        "fallback",
        "manifest",
        "service-code",
        "supervisor-conf",
        "smoke-test",
        "apply",
        "verify",
        "doctor-after",
    ]


def test_add_step_types_follow_the_seed_manual_order() -> None:
    assert [type(step) for step in ADD] == [
        DoctorBefore,
        EditFallback,
        EditManifest,
        CheckServiceCode,
        AddProgramSection,
        SmokeTest,
        ApplyToSupervisor,
        VerifyOwnership,
        DoctorAfter,
    ]


def test_step_names_are_unique_so_the_journal_can_find_each_step() -> None:
    names = [step.name for step in ADD]
    assert len(set(names)) == len(names)


def test_procedures_registry_maps_add_to_add() -> None:
    assert PROCEDURES["add"] is ADD


def test_every_step_docstring_states_idempotence_and_undo() -> None:
    for step in ADD:
        doc = type(step).__doc__ or ""
        assert "Idempotent: " in doc, type(step).__name__
        assert "Undo: " in doc, type(step).__name__


def test_modify_follows_the_seed_manual_order() -> None:
    assert [s.name for s in MODIFY] == [
        "doctor-before",
        "manifest",
        "fallback",
        "supervisor-conf",
        "smoke-test",
        "restart",
        "verify",
        "doctor-after",
    ]


def test_rename_follows_the_manual_order() -> None:
    assert [s.name for s in RENAME] == [
        "doctor-before",
        "manifest",
        "fallback",
        "service-code",
        "supervisor-conf",
        "swap",
        "verify",
        "doctor-after",
    ]


def test_remove_follows_the_seed_manual_order() -> None:
    assert [s.name for s in REMOVE] == [
        "doctor-before",
        "stop",
        "supervisor-conf",
        "manifest",
        "fallback",
        "delete-code",
        "apply",
        "verify",
        "doctor-after",
    ]


def test_every_procedure_is_registered_with_unique_step_names_and_documented_steps() -> None:
    for name, steps in PROCEDURES.items():
        names = [s.name for s in steps]
        assert len(set(names)) == len(names), name
        for step in steps:
            doc = type(step).__doc__ or ""
            assert "Idempotent: " in doc and "Undo: " in doc, type(step).__name__


def test_doctor_fix_order_manifest_first() -> None:
    assert [s.name for s in DOCTOR_FIX] == [
        "regen-fallback",
        "python-ports",
        "shell-ports",
        "tmp-logs",
    ]
    assert PROCEDURES["doctor-fix"] is DOCTOR_FIX
    assert doctor_fix.DOCTOR_FIX is DOCTOR_FIX


def test_restart_order_refusals_first_then_down_clean_up_start_verify() -> None:
    assert [a.name for a in RESTART] == [
        "config",
        "supervisord-down",
        "strays",
        "stale-files",
        "ports-free",
        "start",
        "verify",
    ]


def test_restart_with_the_operators_script_runs_it_then_verifies() -> None:
    assert [a.name for a in RESTART_SCRIPT] == ["restart-script", "verify"]


def test_recover_follows_the_seed_emergency_recovery_order() -> None:
    assert [a.name for a in RECOVER] == [
        "supervisord-down",
        "strays",
        "stale-files",
        "ports-free",
        "config",
        "start",
        "verify",
    ]


def test_master_restart_inside_add_is_the_restart_without_refusals_or_verify() -> None:
    assert [a.name for a in MASTER_RESTART] == [
        "supervisord-down",
        "strays",
        "stale-files",
        "start",
    ]


def test_the_commands_run_the_tuples_named_here() -> None:
    assert restart._actions(use_script=False) is RESTART
    assert restart._actions(use_script=True) is RESTART_SCRIPT
