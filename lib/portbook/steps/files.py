"""Steps 1-4 of ADD: the edits to the fallback, the manifest, the service code and supervisor.

Each plans a byte-exact edit; the runner backs the file up in the journal and
writes it atomically. Undo is the runner's file restore, plus a supervisor
``reloadConfig`` for the conf so supervisord's view matches the disk again.
"""

from __future__ import annotations

import contextlib
import posixpath

from ..engine.journal import JournalEntry
from ..engine.step import Run
from ..errors import Refused, TargetError
from ..model import FileChange, Plan
from ..registry import code, fallback, manifest
from ..registry.ports import claimed_ports
from ..registry.supervisor_conf import SupervisorConf, render_program, validate
from ..registry.system import include_folder

__all__ = ["AddProgramSection", "CheckServiceCode", "EditFallback", "EditManifest"]


def _change(path: str, before: str | None, after: str, mode: int | None = None) -> FileChange:
    return FileChange(path, None if before is None else before.encode(), after.encode(), mode)


class _FileStep:
    """Shared apply/undo of steps whose whole change is a file edit."""

    name = "file"

    def apply(self, run: Run, plan: Plan, entry: JournalEntry) -> str:
        """Nothing beyond the files the runner wrote."""
        return plan.summary

    def undo(self, run: Run, entry: JournalEntry) -> None:
        """Nothing beyond the files the runner restores."""


class EditFallback(_FileStep):
    """Step 1: add ``"NAME": PORT`` to DEFAULT_PORTS in the fallback module.

    Idempotent: no (a second add of NAME is refused before any change).
    Undo: the runner restores the module's bytes from the journal.
    """

    name = "fallback"

    def check(self, run: Run) -> Plan:
        """Plan the DEFAULT_PORTS insertion through the syntax tree."""
        spec, system = run.spec, run.system
        path = run.settings.path(run.settings.fallback)
        after = fallback.add_port(system.fallback_text, path, spec.name, spec.port)
        return Plan(
            f'add "{spec.name}": {spec.port} to DEFAULT_PORTS in {run.settings.rel(path)}',
            (_change(path, system.fallback_text, after),),
        )


class EditManifest(_FileStep):
    """Step 2: add NAME under core_services or watchdog_services in the manifest.

    Idempotent: no (a second add of NAME is refused before any change).
    Undo: the runner restores the manifest's bytes from the journal.
    """

    name = "manifest"

    def check(self, run: Run) -> Plan:
        """Plan the insertion, keeping key order and the file's indentation."""
        spec = run.spec
        path = run.settings.path(run.settings.manifest)
        fields = {"port": spec.port, "description": spec.description, "status": "RUNNING"}
        after = manifest.add_service(
            run.system.manifest_text, path, spec.manifest_category, spec.name, fields
        )
        return Plan(
            f"add {spec.name} (port {spec.port}) to {spec.manifest_category} in "
            f"{run.settings.rel(path)}",
            (_change(path, run.system.manifest_text, after),),
        )


class CheckServiceCode(_FileStep):
    """Step 3: the script reads its port through ``get_port("NAME")``; create it if missing.

    Idempotent: yes (a clean script is left alone).
    Undo: the runner restores the script, or removes it when this step created it.
    """

    name = "service-code"

    def check(self, run: Run) -> Plan:
        """Plan creating the script, fixing its hardcoded ports, or nothing; refuse a bad one."""
        spec = run.spec
        if spec.script is None:
            return Plan("custom --command: no script to check", skip_reason="--command given")
        path = run.settings.path(spec.script)
        raw = run.target.read_optional(path)
        if raw is None:
            return Plan(
                f"create {spec.script} from the template (get_port({spec.name!r}))",
                (_change(path, None, code.service_template(spec.name), 0o644),),
            )
        text = _decode(raw, path)
        registry = frozenset({*claimed_ports(run.system), spec.port})
        found = code.find_hardcoded_ports(text, path, registry)
        if found and not spec.fix_code:
            first = found[0]
            raise Refused(
                f"{first.path}:{first.line}: hardcoded port {first.value} "
                f"({first.reason}); use get_port({spec.name!r}) or pass --fix-code"
            )
        if found:
            fixed = code.fix_hardcoded_ports(text, path, spec.name, registry)
            lines = ", ".join(str(f.line) for f in found)
            return Plan(
                f"rewrite hardcoded port(s) on line {lines} of {spec.script} to "
                f"get_port({spec.name!r})",
                (_change(path, text, fixed),),
            )
        if not code.calls_get_port(text, spec.name):
            raise Refused(f"{path}: does not read its port through get_port({spec.name!r})")
        return Plan(
            f"{spec.script} reads its port through get_port({spec.name!r})",
            skip_reason="already uses get_port",
        )


class AddProgramSection:
    """Step 4: add ``[program:NAME]`` to supervisord.conf (or its own conf.d file).

    Idempotent: no (a second add of NAME is refused before any change).
    Undo: the runner restores the conf; then supervisord re-reads it if it runs.
    """

    name = "supervisor-conf"

    def check(self, run: Run) -> Plan:
        """Plan the new section, validated by supervisor's own parser before anything is written."""
        spec, main = run.spec, run.system.main_conf
        folder = include_folder(main)
        options = program_options(run, folder or posixpath.dirname(main.path))
        if folder:
            path = posixpath.join(folder, f"{spec.name}.conf")
            after, before = render_program(spec.name, options), None
        else:
            conf = SupervisorConf.parse(main.text, main.path)
            conf.add_program(spec.name, options)
            path, after, before = main.path, conf.render(), main.text
        validate(after, path)
        return Plan(
            f"add [program:{spec.name}] to {run.settings.rel(path)}",
            (_change(path, before, after, 0o644),),
        )

    def apply(self, run: Run, plan: Plan, entry: JournalEntry) -> str:
        """Nothing beyond the file the runner wrote."""
        return plan.summary

    def undo(self, run: Run, entry: JournalEntry) -> None:
        """After the runner restored the conf, let a running supervisord re-read it."""
        self.resync(run)

    @staticmethod
    def resync(run: Run) -> None:
        """Make supervisord's view of the config match the disk again (no process changes)."""
        supervisor = run.supervisor()
        if supervisor.is_up():
            with contextlib.suppress(TargetError):
                supervisor.reload_config()


def program_options(run: Run, conf_dir: str) -> dict[str, str]:
    """The new section's options, paths written relative to the conf (``%(here)s``)."""
    spec, settings, system = run.spec, run.settings, run.system
    if spec.command is not None:
        command = spec.command
    else:
        python = settings.python
        if not posixpath.isabs(python) and "/" in python:
            python = _here(settings.path(python), conf_dir)
        command = f"{python} {spec.script}"
    cwd = system.supervisord_cwd()
    logs = settings.path(settings.logs)
    log_base = posixpath.relpath(logs, cwd) if _inside(logs, cwd) else logs
    return {
        "command": command,
        "directory": _here(settings.root, conf_dir),
        "autostart": "true",
        "autorestart": "true",
        "stderr_logfile": posixpath.join(log_base, f"{spec.name}.err.log"),
        "stdout_logfile": posixpath.join(log_base, f"{spec.name}.out.log"),
        "environment": 'PYTHONPATH="."',
    }


def _here(path: str, conf_dir: str) -> str:
    rel = posixpath.relpath(path, conf_dir)
    return "%(here)s" if rel == "." else f"%(here)s/{rel}"


def _inside(path: str, folder: str) -> bool:
    return not posixpath.relpath(path, folder).startswith("..")


def _decode(raw: bytes, path: str) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        from ..errors import ParseError

        raise ParseError(path, None, f"not UTF-8 text: {exc}") from exc
