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


def test_add_step_names_follow_the_seed_manual_order() -> None:
    assert [step.name for step in ADD] == [
        "fallback",
        "manifest",
        "service-code",
        "supervisor-conf",
        "smoke-test",
        "apply",
        "verify",
    ]


def test_add_step_types_follow_the_seed_manual_order() -> None:
    assert [type(step) for step in ADD] == [
        EditFallback,
        EditManifest,
        CheckServiceCode,
        AddProgramSection,
        SmokeTest,
        ApplyToSupervisor,
        VerifyOwnership,
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
