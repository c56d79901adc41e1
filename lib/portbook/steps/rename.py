"""File edits of RENAME: the manifest key, the DEFAULT_PORTS key, the script, the section.

Each plans a byte-exact edit (or says why there is nothing to do); the runner
backs files up in the journal and writes them. Undo is the runner's restore.
"""

from __future__ import annotations

from ..engine.step import Run
from ..errors import Refused
from ..model import Plan
from ..registry import code, fallback, manifest
from ..registry.supervisor_conf import SupervisorConf, validate
from .edits import edit_fallback, edit_manifest, old_and_new, plan_edit, service_script
from .files import _FileStep

__all__ = ["RenameInCode", "RenameInFallback", "RenameInManifest", "RenameProgramSection"]


class RenameInManifest(_FileStep):
    """RENAME 1: the manifest key OLD becomes NEW (value bytes unchanged).

    Idempotent: no (OLD must exist and NEW must not; checked before any change).
    Undo: the runner restores the manifest's bytes.
    """

    name = "manifest"

    def check(self, run: Run) -> Plan:
        """Plan the key rename."""
        old, new = old_and_new(run)
        return edit_manifest(
            run,
            lambda text, path: manifest.rename_service(text, path, old, new),
            f"rename {old} to {new} in the manifest",
        )


class RenameInFallback(_FileStep):
    """RENAME 2: the DEFAULT_PORTS key OLD becomes NEW.

    Idempotent: no (checked before any change).
    Undo: the runner restores the module's bytes.
    """

    name = "fallback"

    def check(self, run: Run) -> Plan:
        """Plan the key rename (or add NEW when the fallback lacked OLD)."""
        old, new = old_and_new(run)

        def edit(text: str, path: str) -> str:
            if old in run.system.fallback_ports:
                return fallback.rename_port(text, path, old, new)
            return fallback.add_port(text, path, new, run.spec.port)

        return edit_fallback(run, edit, f"rename {old} to {new} in DEFAULT_PORTS")


class RenameInCode(_FileStep):
    """RENAME 3: the script's ``get_port("OLD")`` becomes ``get_port("NEW")`` (--fix-code only).

    Idempotent: yes.
    Undo: the runner restores the script's bytes.
    """

    name = "service-code"

    def check(self, run: Run) -> Plan:
        """Refuse a script still reading OLD's port unless --fix-code; plan the rewrite."""
        old, new = old_and_new(run)
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
        return plan_edit(
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
        old, new = old_and_new(run)
        conf_file, _ = run.system.programs()[old]
        conf = SupervisorConf.parse(conf_file.text, conf_file.path)
        conf.rename_program(old, new)
        after = conf.render()
        validate(after, conf_file.path)
        return plan_edit(
            conf_file.path,
            conf_file.text,
            after,
            f"[program:{old}] becomes [program:{new}] in {run.settings.rel(conf_file.path)}",
        )
