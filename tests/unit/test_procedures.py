"""procedures: ADD is the seed manual's procedure, read top to bottom."""

from __future__ import annotations

from portbook.procedures import ADD, PROCEDURES
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


def test_modify_rename_remove_follow_the_seed_manual_order() -> None:
    from portbook.procedures import MODIFY, REMOVE, RENAME

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
