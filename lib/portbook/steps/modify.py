"""File edits of MODIFY: the manifest, the fallback, the section (RENAME's are in
``rename.py``, REMOVE's in ``remove.py``).

Each plans a byte-exact edit (or says why there is nothing to do); the runner
backs files up in the journal and writes them. Undo is the runner's restore.
"""

from __future__ import annotations

import posixpath

from ..engine.step import Run
from ..errors import Refused
from ..model import Plan
from ..registry import fallback, manifest
from ..registry.supervisor_conf import SupervisorConf, validate
from .edits import edit_fallback, edit_manifest, plan_edit
from .files import _FileStep, program_options

__all__ = ["UpdateFallback", "UpdateManifest", "UpdateProgramSection"]


class UpdateManifest(_FileStep):
    """MODIFY 1: new port, description or category in the manifest.

    Idempotent: yes (values equal to the request change nothing).
    Undo: the runner restores the manifest's bytes.
    """

    name = "manifest"

    def check(self, run: Run) -> Plan:
        """Plan set_field/move_service edits for what changed."""
        spec, entry = run.spec, run.system.services[run.spec.name]

        def edit(text: str, path: str) -> str:
            if entry.category != spec.manifest_category:
                text = manifest.move_service(text, path, spec.name, spec.manifest_category)
            if entry.port != spec.port:
                text = manifest.set_field(text, path, spec.name, "port", spec.port)
            if entry.description != spec.description:
                text = manifest.set_field(text, path, spec.name, "description", spec.description)
            return text

        return edit_manifest(
            run,
            edit,
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
        spec, ports = run.spec, run.system.fallback_ports

        def edit(text: str, path: str) -> str:
            if spec.name not in ports:
                return fallback.add_port(text, path, spec.name, spec.port)
            if ports[spec.name] != spec.port:
                return fallback.set_port(text, path, spec.name, spec.port)
            return text

        return edit_fallback(run, edit, f'"{spec.name}": {spec.port_move} in DEFAULT_PORTS')


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
        return plan_edit(
            conf_file.path, conf_file.text, after, f"[program:{spec.name}] command={new}"
        )


def _refuse_port_in_command(run: Run, command: str) -> None:
    old = run.spec.previous_port
    if old is not None and old != run.spec.port and str(old) in command.replace("=", " ").split():
        raise Refused(
            f"[program:{run.spec.name}] command names port {old} literally; "
            "give --command with the new port"
        )
