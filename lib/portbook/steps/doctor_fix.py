"""The steps of ``doctor --fix``: each repairs one mechanical kind of drift from the manifest.

Each ``check`` plans byte-exact file edits from what was read before anything changed (or
says why there is nothing to do); the runner backs every file up in the journal, writes it
atomically, and on failure restores it. Only files are edited: no process is signalled and
supervisord is not asked to do anything (new log paths take effect when a program restarts).
Secrets are never read into a plan except as the unchanged bytes around an edit, and the
report masks them.

The procedure, these steps in order, is ``DOCTOR_FIX`` in :mod:`portbook.procedures`.
"""

from __future__ import annotations

import glob as globmod
import posixpath
import re

from ..doctor.fix_python import port_owners, port_prefilter, rewrite_python_ports
from ..doctor.fix_shell import rewrite_port_lists
from ..doctor.fix_walk import journal_safe, read_text, source_files
from ..engine.journal import JournalEntry
from ..errors import InvalidInput, ParseError
from ..model import FileChange, Plan
from ..registry import fallback
from ..registry.supervisor_conf import SupervisorConf, validate
from ..registry.system import ConfFile
from . import Run
from .files import _FileStep

__all__ = [
    "MoveTmpLogs",
    "RegenerateFallback",
    "RewritePythonPorts",
    "RewriteShellPortArrays",
    "fallback_module",
]

_LOG_KEYS = ("stdout_logfile", "stderr_logfile")


def _manifest_ports(run: Run) -> dict[str, int]:
    return {name: entry.port for name, entry in run.system.services.items()}


def _plan(summary: str, changes: list[FileChange], skip: str) -> Plan:
    """The plan for ``changes``, deferring any whose journal backup name would collide."""
    kept, deferred = journal_safe(changes)
    if deferred:
        summary += f"; {len(deferred)} file(s) sharing a name with another wait for the next run"
    return Plan(summary, tuple(kept)) if kept else Plan(summary, skip_reason=skip)


class RegenerateFallback(_FileStep):
    """Make ``DEFAULT_PORTS`` equal to the manifest (the primary), editing the literal in place.

    ``set_port`` for a differing port, ``add_port`` (appended) for a name the fallback lacks,
    ``remove_port`` for a name the manifest lacks; every other byte of the module is kept.

    Idempotent: yes (once they agree there is nothing to do).
    Undo: the runner restores the module's bytes from the journal.
    """

    name = "regen-fallback"

    def check(self, run: Run) -> Plan:
        """Plan the edits that turn DEFAULT_PORTS into the manifest's ``{name: port}``."""
        system, settings = run.system, run.settings
        path = settings.path(settings.fallback)
        want, have = _manifest_ports(run), system.fallback_ports
        text, notes = system.fallback_text, list[str]()
        for name in have:
            if name not in want:
                text = fallback.remove_port(text, path, name)
                notes.append(f"remove {name}")
        for name, port in want.items():
            if name not in have:
                text = fallback.add_port(text, path, name, port)
                notes.append(f"add {name} {port}")
            elif have[name] != port:
                text = fallback.set_port(text, path, name, port)
                notes.append(f"{name} {have[name]} -> {port}")
        rel = settings.rel(path)
        if not notes:
            return Plan(f"DEFAULT_PORTS in {rel} matches the manifest", skip_reason="in agreement")
        change = FileChange(path, system.fallback_text.encode(), text.encode())
        return Plan(f"DEFAULT_PORTS in {rel} from the manifest: {'; '.join(notes)}", (change,))


class RewritePythonPorts(_FileStep):
    """Rewrite hardcoded ports in Python files to ``get_port("NAME")`` (libcst, in place).

    Scans every ``*.py`` under the root (not in venv, node_modules, logs, __pycache__ or a
    hidden folder, nor the fallback module itself), prefiltered by a regex of the manifest
    ports. Only literals used as a port whose port is exactly one service's are rewritten;
    the rest stay findings. ``get_port`` is imported from the fallback module when missing.

    Idempotent: yes (a rewritten literal is a call, no longer a hardcoded port).
    Undo: the runner restores each file's bytes from the journal.
    """

    name = "python-ports"

    def check(self, run: Run) -> Plan:
        """Plan one rewrite per file holding a fixable hardcoded port."""
        settings = run.settings
        owners = port_owners(_manifest_ports(run))
        pattern = port_prefilter(p for p, names in owners.items() if len(names) == 1)
        module = fallback_module(settings.fallback)
        if pattern is None or module is None:
            why = "no port belongs to exactly one service" if module else "no importable module"
            return Plan(f"no hardcoded port can be rewritten ({why})", skip_reason=why)
        skip = settings.path(settings.fallback)
        changes, notes, left, broken = list[FileChange](), list[str](), 0, 0
        for path in source_files(run.target, settings.root, ".py", settings.path(settings.logs)):
            raw = None if path == skip else run.target.read_optional(path)
            text = read_text(raw)
            if raw is None or text is None or not pattern.search(text):
                continue
            try:
                fix = rewrite_python_ports(text, path, owners, module)
            except (ParseError, InvalidInput):
                broken += 1
                continue
            left += len(fix.left)
            if fix.fixed:
                changes.append(FileChange(path, raw, fix.text.encode()))
                rel = settings.rel(path)
                notes += [f"{rel}:{h.line} {h.value} -> get_port({n!r})" for h, n in fix.fixed]
        tail = (f"; {left} left as findings" if left else "") + (
            f"; {broken} unparsable file(s) skipped" if broken else ""
        )
        if not notes:
            return Plan(f"no fixable hardcoded port{tail}", skip_reason="none found")
        return _plan(f"rewrite to get_port(): {', '.join(notes)}{tail}", changes, "deferred")


class RewriteShellPortArrays(_FileStep):
    """Set shell port lists (``PORTS=(...)``, ``PORTS="..."``) in ``*.sh`` to the manifest's ports.

    Only lists whose variable name contains PORT and whose elements are all integers; the
    manifest's ports go in manifest order, the quoting or array style and spacing kept.

    Idempotent: yes (a list equal to the manifest's ports is left alone).
    Undo: the runner restores each script's bytes from the journal.
    """

    name = "shell-ports"

    def check(self, run: Run) -> Plan:
        """Plan one edit per script whose port lists differ from the manifest."""
        settings = run.settings
        ports = list(_manifest_ports(run).values())
        changes, notes = list[FileChange](), list[str]()
        for path in source_files(run.target, settings.root, ".sh", settings.path(settings.logs)):
            raw = run.target.read_optional(path)
            text = read_text(raw)
            if raw is None or text is None or not re.search("port", text, re.I):
                continue
            after, lists = rewrite_port_lists(text, ports)
            if lists:
                changes.append(FileChange(path, raw, after.encode()))
                notes += [f"{settings.rel(path)}:{found.line} {found.name}" for found in lists]
        if not notes:
            return Plan("no shell port list differs from the manifest", skip_reason="none found")
        listed = " ".join(str(port) for port in dict.fromkeys(ports))
        return _plan(f"set to ({listed}): {', '.join(notes)}", changes, "deferred")


class MoveTmpLogs(_FileStep):
    """Move program ``stdout_logfile``/``stderr_logfile`` paths under /tmp into the logs folder.

    ``/tmp/x.log`` becomes ``<logs>/x.log``, written relative to supervisord's directory like
    the rest of the conf (absolute when the logs folder lies outside it), through
    ``SupervisorConf.set_program_options`` and checked by supervisor's parser. A path another
    program already uses stays a finding. The logs folder is created when missing.

    Idempotent: yes (no /tmp log path is left to move).
    Undo: the runner restores each conf's bytes; a logs folder this step created is removed
    when still empty.
    """

    name = "tmp-logs"

    def check(self, run: Run) -> Plan:
        """Plan the option edits, each conf validated by supervisor's own parser."""
        system, settings = run.system, run.settings
        base = _log_base(run)
        used = {
            posixpath.normpath(value)
            for _, options in system.programs().values()
            for key, value in options.items()
            if key in _LOG_KEYS
        }
        changes, notes, rejected = list[FileChange](), list[str](), list[str]()
        for conf_file in system.confs:
            try:
                validate(conf_file.text, conf_file.path)
            except ParseError:  # already broken: a finding, and not this step's to judge
                rejected.append(settings.rel(conf_file.path))
                continue
            after, moves = _moved_logs(conf_file, base, used)
            if moves:
                validate(after, conf_file.path)
                changes.append(FileChange(conf_file.path, conf_file.text.encode(), after.encode()))
                notes += moves
        tail = f"; {', '.join(rejected)} rejected by supervisor, left alone" if rejected else ""
        if not notes:
            return Plan(f"no program logs under /tmp to move{tail}", skip_reason="none found")
        return _plan(f"logs into {settings.logs}/: {', '.join(notes)}{tail}", changes, "deferred")

    def apply(self, run: Run, plan: Plan, entry: JournalEntry) -> str:
        """Create the logs folder when missing (journaled first, so undo can remove it)."""
        logs = run.settings.path(run.settings.logs)
        target = run.target
        if not target.glob(globmod.escape(logs)) and not target.glob(globmod.escape(logs) + "/*"):
            run.journal_note(entry, created_dir=logs)
            target.makedirs(logs)
        return f"{plan.summary} (used from each program's next restart)"

    def undo(self, run: Run, entry: JournalEntry) -> None:
        """Remove the logs folder this step created, if nothing was written into it."""
        created = entry.data.get("created_dir")
        if isinstance(created, str):
            run.target.remove_empty_dir(created)


def _moved_logs(conf_file: ConfFile, base: str, used: set[str]) -> tuple[str, list[str]]:
    """The conf's text with its /tmp log paths under ``base``, and one note per move.

    A new path already in ``used`` (by any program, or an earlier move) is not taken.
    """
    conf = SupervisorConf.parse(conf_file.text, conf_file.path)
    notes: list[str] = []
    for program, options in conf.programs().items():
        moved: dict[str, str] = {}
        for key in _LOG_KEYS:
            old = options.get(key, "")
            new = posixpath.join(base, posixpath.basename(old))
            if posixpath.normpath(old).startswith("/tmp/") and new not in used:
                moved[key] = new
                used.add(new)
                notes.append(f"[program:{program}] {key} {old} -> {new}")
        if moved:
            conf.set_program_options(program, moved)
    return conf.render(), notes


def _log_base(run: Run) -> str:
    """The logs folder as the conf should name it: relative to supervisord's cwd when inside."""
    logs = run.settings.path(run.settings.logs)
    rel = posixpath.relpath(logs, run.system.supervisord_cwd())
    return logs if rel == ".." or rel.startswith("../") else rel


def fallback_module(fallback_path: str) -> str | None:
    """The dotted module of the fallback file (``backend.core.port_config``), if importable."""
    if posixpath.isabs(fallback_path) or not fallback_path.endswith(".py"):
        return None
    parts = posixpath.normpath(fallback_path)[: -len(".py")].split("/")
    return ".".join(parts) if all(part.isidentifier() for part in parts) else None
