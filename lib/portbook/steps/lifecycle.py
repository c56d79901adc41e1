"""File edits of MODIFY, RENAME and REMOVE: the manifest, the fallback, the section, the code.

Each plans a byte-exact edit (or says why there is nothing to do); the runner
backs files up in the journal and writes them. Undo is the runner's restore.
"""

from __future__ import annotations

import posixpath

from ..engine.step import Run
from ..errors import Refused
from ..model import FileChange, Plan
from ..registry import code, fallback, manifest
from ..registry.kept import kept_path, with_kept
from ..registry.supervisor_conf import SupervisorConf, validate
from .files import AddProgramSection, _FileStep, program_options

__all__ = [
    "DeleteCode",
    "RemoveFromFallback",
    "RemoveFromManifest",
    "RemoveProgramSection",
    "RenameInCode",
    "RenameInFallback",
    "RenameInManifest",
    "RenameProgramSection",
    "UpdateFallback",
    "UpdateManifest",
    "UpdateProgramSection",
    "service_script",
]


def _edit(path: str, before: str, after: str, summary: str) -> Plan:
    if after == before:
        return Plan(summary, skip_reason="already as asked")
    return Plan(summary, (FileChange(path, before.encode(), after.encode()),))


class UpdateManifest(_FileStep):
    """MODIFY 1: new port, description or category in the manifest.

    Idempotent: yes (values equal to the request change nothing).
    Undo: the runner restores the manifest's bytes.
    """

    name = "manifest"

    def check(self, run: Run) -> Plan:
        """Plan set_field/move_service edits for what changed."""
        spec, system = run.spec, run.system
        path = run.settings.path(run.settings.manifest)
        text, entry = system.manifest_text, system.services[spec.name]
        if entry.category != spec.manifest_category:
            text = manifest.move_service(text, path, spec.name, spec.manifest_category)
        if entry.port != spec.port:
            text = manifest.set_field(text, path, spec.name, "port", spec.port)
        if entry.description != spec.description:
            text = manifest.set_field(text, path, spec.name, "description", spec.description)
        return _edit(
            path,
            system.manifest_text,
            text,
            f"{spec.name}: port {spec.port_move}, {spec.manifest_category} in the manifest",
        )


class UpdateFallback(_FileStep):
    """MODIFY 2: the new port in DEFAULT_PORTS (added when the fallback lacks NAME).

    Idempotent: yes.
    Undo: the runner restores the module's bytes.
    """

    name = "fallback"

    def check(self, run: Run) -> Plan:
        """Plan set_port (or add_port) when the port differs."""
        spec, system = run.spec, run.system
        path = run.settings.path(run.settings.fallback)
        text = system.fallback_text
        if spec.name not in system.fallback_ports:
            text = fallback.add_port(text, path, spec.name, spec.port)
        elif system.fallback_ports[spec.name] != spec.port:
            text = fallback.set_port(text, path, spec.name, spec.port)
        return _edit(
            path, system.fallback_text, text, f'"{spec.name}": {spec.port_move} in DEFAULT_PORTS'
        )


class UpdateProgramSection(_FileStep):
    """MODIFY 3: a new command in ``[program:NAME]`` when --script or --command is given.

    Idempotent: yes.
    Undo: the runner restores the conf; supervisor's group is restored at the end.
    """

    name = "supervisor-conf"

    def check(self, run: Run) -> Plan:
        """Plan the one-line command change, validated by supervisor's parser."""
        spec = run.spec
        conf_file, options = run.system.programs()[spec.name]
        if spec.script is None and spec.command is None:
            _refuse_port_in_command(run, options.get("command", ""))
            return Plan(f"[program:{spec.name}] unchanged", skip_reason="command unchanged")
        new = program_options(run, posixpath.dirname(conf_file.path))["command"]
        conf = SupervisorConf.parse(conf_file.text, conf_file.path)
        conf.set_program_options(spec.name, {"command": new})
        after = conf.render()
        validate(after, conf_file.path)
        return _edit(conf_file.path, conf_file.text, after, f"[program:{spec.name}] command={new}")


def _refuse_port_in_command(run: Run, command: str) -> None:
    old = run.spec.previous_port
    if old is not None and old != run.spec.port and str(old) in command.replace("=", " ").split():
        raise Refused(
            f"[program:{run.spec.name}] command names port {old} literally; "
            "give --command with the new port"
        )


class RenameInManifest(_FileStep):
    """RENAME 1: the manifest key OLD becomes NEW (value bytes unchanged).

    Idempotent: no (OLD must exist and NEW must not; checked before any change).
    Undo: the runner restores the manifest's bytes.
    """

    name = "manifest"

    def check(self, run: Run) -> Plan:
        """Plan the key rename."""
        old, new = _names(run)
        path = run.settings.path(run.settings.manifest)
        after = manifest.rename_service(run.system.manifest_text, path, old, new)
        return _edit(
            path, run.system.manifest_text, after, f"rename {old} to {new} in the manifest"
        )


class RenameInFallback(_FileStep):
    """RENAME 2: the DEFAULT_PORTS key OLD becomes NEW.

    Idempotent: no (checked before any change).
    Undo: the runner restores the module's bytes.
    """

    name = "fallback"

    def check(self, run: Run) -> Plan:
        """Plan the key rename (or add NEW when the fallback lacked OLD)."""
        old, new = _names(run)
        path = run.settings.path(run.settings.fallback)
        text = run.system.fallback_text
        if old in run.system.fallback_ports:
            after = fallback.rename_port(text, path, old, new)
        else:
            after = fallback.add_port(text, path, new, run.spec.port)
        return _edit(path, text, after, f"rename {old} to {new} in DEFAULT_PORTS")


class RenameInCode(_FileStep):
    """RENAME 3: the script's ``get_port("OLD")`` becomes ``get_port("NEW")`` (--fix-code only).

    Idempotent: yes.
    Undo: the runner restores the script's bytes.
    """

    name = "service-code"

    def check(self, run: Run) -> Plan:
        """Refuse a script still reading OLD's port unless --fix-code; plan the rewrite."""
        old, new = _names(run)
        path = service_script(run, old)
        if path is None:
            return Plan("no script in the command", skip_reason="no .py script found")
        text = (run.target.read_optional(path) or b"").decode("utf-8", "replace")
        if old not in code.get_port_names(text, path):
            return Plan(
                f"{run.settings.rel(path)} does not call get_port({old!r})",
                skip_reason="nothing to rename",
            )
        if not run.spec.fix_code:
            raise Refused(
                f"{path}: calls get_port({old!r}); pass --fix-code to rewrite it "
                f"to get_port({new!r})"
            )
        after = code.rename_get_port(text, path, old, new)
        return _edit(
            path, text, after, f"get_port({old!r}) -> get_port({new!r}) in {run.settings.rel(path)}"
        )


class RenameProgramSection(_FileStep):
    """RENAME 4: ``[program:OLD]`` becomes ``[program:NEW]``, with its log file names.

    Idempotent: no (checked before any change).
    Undo: the runner restores the conf; supervisor's OLD group is restored at the end.
    """

    name = "supervisor-conf"

    def check(self, run: Run) -> Plan:
        """Plan the header and log-name edits, validated by supervisor's parser."""
        old, new = _names(run)
        conf_file, _ = run.system.programs()[old]
        conf = SupervisorConf.parse(conf_file.text, conf_file.path)
        conf.rename_program(old, new)
        after = conf.render()
        validate(after, conf_file.path)
        return _edit(
            conf_file.path,
            conf_file.text,
            after,
            f"[program:{old}] becomes [program:{new}] in {run.settings.rel(conf_file.path)}",
        )


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
        return _edit(
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
        path = run.settings.path(run.settings.manifest)
        text = run.system.manifest_text
        after = manifest.remove_service(text, path, run.spec.name)
        return _edit(path, text, after, f"remove {run.spec.name} from the manifest")


class RemoveFromFallback(_FileStep):
    """REMOVE 4: delete NAME from DEFAULT_PORTS (skipped when it is not there).

    Idempotent: yes.
    Undo: the runner restores the module's bytes.
    """

    name = "fallback"

    def check(self, run: Run) -> Plan:
        """Plan the element's removal."""
        path = run.settings.path(run.settings.fallback)
        text, name = run.system.fallback_text, run.spec.name
        if name not in run.system.fallback_ports:
            return Plan(f"{name} is not in DEFAULT_PORTS", skip_reason="absent")
        return _edit(
            path, text, fallback.remove_port(text, path, name), f"remove {name} from DEFAULT_PORTS"
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


def service_script(run: Run, name: str) -> str | None:
    """The ``.py`` file program ``name`` runs, if its command names one that exists."""
    how = run.system.program_run(name, run.target.environ())
    for arg in how.argv[1:]:
        if arg.endswith(".py"):
            path = posixpath.normpath(posixpath.join(how.cwd, arg))
            if run.target.read_optional(path) is not None:
                return path
    return None


def _names(run: Run) -> tuple[str, str]:
    assert run.spec.previous_name is not None
    return run.spec.previous_name, run.spec.name
