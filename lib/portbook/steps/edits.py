"""Plans of byte-exact file edits, and the names and script a step works on: shared by
the MODIFY (``modify.py``), RENAME (``rename.py``) and REMOVE (``remove.py``) steps."""

from __future__ import annotations

import posixpath
from collections.abc import Callable

from ..engine.step import Run
from ..model import FileChange, Plan

__all__ = ["Edit", "edit_fallback", "edit_manifest", "old_and_new", "plan_edit", "service_script"]

Edit = Callable[[str, str], str]
"""A file's new text from its text and its path."""


def plan_edit(path: str, before: str, after: str, summary: str) -> Plan:
    """The plan writing ``after`` over ``before``, or a skip when they are equal."""
    if after == before:
        return Plan(summary, skip_reason="already as asked")
    return Plan(summary, (FileChange(path, before.encode(), after.encode()),))


def edit_manifest(run: Run, edit: Edit, summary: str) -> Plan:
    """The plan of one edit of the manifest, as the run read it."""
    path = run.settings.path(run.settings.manifest)
    text = run.system.manifest_text
    return plan_edit(path, text, edit(text, path), summary)


def edit_fallback(run: Run, edit: Edit, summary: str) -> Plan:
    """The plan of one edit of the fallback module, as the run read it."""
    path = run.settings.path(run.settings.fallback)
    text = run.system.fallback_text
    return plan_edit(path, text, edit(text, path), summary)


def service_script(run: Run, name: str) -> str | None:
    """The ``.py`` file program ``name`` runs, if its command names one that exists."""
    how = run.system.program_run(name, run.target.environ())
    for arg in how.argv[1:]:
        if arg.endswith(".py"):
            path = posixpath.normpath(posixpath.join(how.cwd, arg))
            if run.target.read_optional(path) is not None:
                return path
    return None


def old_and_new(run: Run) -> tuple[str, str]:
    """A rename's OLD and NEW names."""
    assert run.spec.previous_name is not None
    return run.spec.previous_name, run.spec.name
