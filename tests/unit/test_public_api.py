"""The public surface: a sorted ``__all__`` whose every name resolves."""

from __future__ import annotations

import importlib

import portbook
import pytest

MODULES = [
    "portbook",
    "portbook.errors",
    "portbook.model",
    "portbook.config",
    "portbook.target",
    "portbook.steps",
    "portbook.procedures",
    "portbook.engine.runner",
    "portbook.engine.journal",
    "portbook.report.steps",
    "portbook.registry.ports",
    "portbook.commands.add",
]


def _isort_style(name: str) -> tuple[int, str]:
    """ruff's RUF022 order: CONSTANTS, then Classes, then functions, each alphabetical."""
    return (0 if name.isupper() else 1 if name[0].isupper() else 2, name)


def test_portbook_all_is_sorted() -> None:
    assert portbook.__all__ == sorted(portbook.__all__, key=_isort_style)


@pytest.mark.parametrize("module", MODULES)
def test_every_module_all_is_sorted(module: str) -> None:
    names = importlib.import_module(module).__all__
    assert names == sorted(names, key=_isort_style)


def test_portbook_all_has_no_duplicates() -> None:
    assert len(set(portbook.__all__)) == len(portbook.__all__)


@pytest.mark.parametrize("module", MODULES)
def test_every_exported_name_resolves(module: str) -> None:
    mod = importlib.import_module(module)
    missing = [name for name in mod.__all__ if not hasattr(mod, name)]
    assert missing == []


def test_star_import_gives_exactly_all() -> None:
    namespace: dict[str, object] = {}
    exec("from portbook import *", namespace)
    assert sorted(k for k in namespace if k != "__builtins__") == sorted(portbook.__all__)


def test_the_error_tree_is_exported_with_its_exit_codes() -> None:
    assert portbook.Refused.code == 2
    assert portbook.StepFailed.code == 1
    assert portbook.RollbackIncomplete.code == 3
    for name in ("InvalidInput", "PortConflict", "ParseError", "Locked", "CollateralChange"):
        assert issubclass(getattr(portbook, name), portbook.Refused)


PUBLIC_NAMES = {
    # what the tasks run, one call each
    "add_service",
    "plan_add",
    "modify_service",
    "rename_service",
    "remove_service",
    "plan_change",
    "rollback",
    "release_journal",
    "restart_system",
    "plan_restart",
    "recover_system",
    "plan_recover",
    "doctor",
    "plan_doctor_fix",
    "list_report",
    "status_report",
    # their inputs and results
    "AddRequest",
    "ModifyRequest",
    "RenameRequest",
    "RemoveRequest",
    "DoctorResult",
    "OpResult",
    "Outcome",
    "Plan",
    "FileChange",
    "ServiceSpec",
    "StepResult",
    "Settings",
    "load_settings",
    "root_settings",
    "Target",
    "LocalTarget",
    "ADD",
    "MODIFY",
    "RENAME",
    "REMOVE",
    "PROCEDURES",
    # the exception tree
    "PortbookError",
    "Refused",
    "InvalidInput",
    "PortConflict",
    "ParseError",
    "Locked",
    "CollateralChange",
    "StepFailed",
    "RollbackIncomplete",
    "TargetError",
}


def test_the_public_names_are_exactly_these() -> None:
    assert set(portbook.__all__) == PUBLIC_NAMES


@pytest.mark.parametrize(
    "name",
    [
        *("add_service", "modify_service", "rename_service", "remove_service"),
        *("restart_system", "recover_system", "doctor", "rollback", "list_report"),
        "status_report",
    ],
)
def test_every_procedure_the_tasks_run_is_callable_from_python(name: str) -> None:
    assert callable(getattr(portbook, name))
