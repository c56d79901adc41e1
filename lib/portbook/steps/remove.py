"""File edits of REMOVE: the section, the manifest entry, the DEFAULT_PORTS entry, the code.

Each plans a byte-exact edit (or says why there is nothing to do); the runner
backs files up in the journal and writes them. Undo is the runner's restore.
"""

from __future__ import annotations

from ..engine.step import Run
from ..model import FileChange, Plan
from ..registry import fallback, manifest
from ..registry.kept import kept_path, with_kept
from ..registry.supervisor_conf import SupervisorConf, validate
from .edits import edit_fallback, edit_manifest, plan_edit, service_script
from .files import AddProgramSection, _FileStep

__all__ = ["DeleteCode", "RemoveFromFallback", "RemoveFromManifest", "RemoveProgramSection"]


class RemoveProgramSection(AddProgramSection):
    """REMOVE 2: delete ``[program:NAME]`` (or its own conf.d file).

    Idempotent: no (NAME must exist; checked before any change).
    Undo: the runner restores the conf; supervisor's group is restored at the end.
    """

    def check(self, run: Run) -> Plan:
        """Plan the section's removal, validated by supervisor's parser."""
        name = run.spec.name
        if name not in run.system.programs():
            return Plan(f"no [program:{name}] section", skip_reason="absent")
        conf_file, _ = run.system.programs()[name]
        conf = SupervisorConf.parse(conf_file.text, conf_file.path)
        if conf.group_names() == [name] and conf_file is not run.system.main_conf:
            return Plan(
                f"delete {run.settings.rel(conf_file.path)}",
                (FileChange(conf_file.path, conf_file.text.encode(), None),),
            )
        conf.remove_program(name)
        after = conf.render()
        validate(after, conf_file.path)
        return plan_edit(
            conf_file.path,
            conf_file.text,
            after,
            f"remove [program:{name}] from {run.settings.rel(conf_file.path)}",
        )


class RemoveFromManifest(_FileStep):
    """REMOVE 3: delete NAME's manifest entry.

    Idempotent: no (checked before any change).
    Undo: the runner restores the manifest's bytes.
    """

    name = "manifest"

    def check(self, run: Run) -> Plan:
        """Plan the entry's removal."""
        name = run.spec.name
        return edit_manifest(
            run,
            lambda text, path: manifest.remove_service(text, path, name),
            f"remove {name} from the manifest",
        )


class RemoveFromFallback(_FileStep):
    """REMOVE 4: delete NAME from DEFAULT_PORTS (skipped when it is not there).

    Idempotent: yes.
    Undo: the runner restores the module's bytes.
    """

    name = "fallback"

    def check(self, run: Run) -> Plan:
        """Plan the element's removal."""
        name = run.spec.name
        if name not in run.system.fallback_ports:
            return Plan(f"{name} is not in DEFAULT_PORTS", skip_reason="absent")
        return edit_fallback(
            run,
            lambda text, path: fallback.remove_port(text, path, name),
            f"remove {name} from DEFAULT_PORTS",
        )


class DeleteCode(_FileStep):
    """REMOVE (--delete-code): delete the service's script, shown in the plan first.

    Idempotent: yes.
    Undo: the runner restores the script from the journal.
    """

    name = "delete-code"

    def check(self, run: Run) -> Plan:
        """Plan the deletion when asked; otherwise keep the code and record that it was kept."""
        if not run.spec.delete_code:
            return _keep_code(run)
        path = service_script(run, run.spec.name)
        data = run.target.read_optional(path) if path else None
        if path is None or data is None:
            return Plan("no script to delete", skip_reason="no .py script found")
        return Plan(f"delete {run.settings.rel(path)}", (FileChange(path, data, None),))


def _keep_code(run: Run) -> Plan:
    """Keep NAME's script, recorded in ``.portbook/kept-code.json`` so doctor reports its
    ``get_port(NAME)`` as a kept script (a warning), not as an unknown service (an error)."""
    name = run.spec.name
    path = service_script(run, name) if name in run.system.programs() else None
    if path is None:
        return Plan("service code kept", skip_reason="--delete-code not given")
    record = kept_path(run.settings)
    before = run.target.read_optional(record)
    after = with_kept(before, run.settings.rel(path), name)
    summary = (
        f"keep {run.settings.rel(path)} (--delete-code not given); "
        f"recorded in {run.settings.rel(record)} for doctor"
    )
    if after == before:
        return Plan(summary, skip_reason="already recorded")
    return Plan(summary, (FileChange(record, before, after),))
