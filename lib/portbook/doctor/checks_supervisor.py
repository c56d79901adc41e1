"""supervisord.conf as supervisor will run it (Troubleshooting: Supervisor issues, Rule 4).

Static: supervisor's own parser accepts every conf file; each program's log files are in
the logs folder and not in ``/tmp``, their folders exist and are writable; its command
exists and is executable, its script exists, its ``directory=`` exists, and a Python
program's ``PYTHONPATH`` holds the root (seed Step 4: ``PYTHONPATH="."``).
"""

from __future__ import annotations

import posixpath
from collections.abc import Iterator

from portbook.errors import ParseError, PortbookError
from portbook.host.strays import mask_argv
from portbook.registry.supervisor_conf import validate
from portbook.registry.system import ConfFile, ProgramRun, System, expand, section

from .checks_base import Check, Context, bare_message
from .checks_python import has_root_pythonpath, program_scripts, read_python
from .findings import Finding

__all__ = ["SUPERVISOR"]

_TMP = ("/tmp", "/var/tmp", "/dev/shm")
_NO = ("false", "0", "no", "off")


def _parse(system: System, ctx: Context) -> Iterator[Finding]:
    for conf in system.confs:
        try:
            validate(conf.text, conf.path)
        except ParseError as exc:
            yield Finding(
                "supervisor.parse",
                "error",
                ctx.place(conf.path, exc.line),
                bare_message(exc),
                "fix that line: supervisord will not start (or reread) with this file",
            )


def _inside(path: str, folder: str) -> bool:
    return path == folder or path.startswith(folder.rstrip("/") + "/")


def _log_path(ctx: Context, system: System, name: str, key: str) -> tuple[str, str] | None:
    """The resolved log file for ``key`` and the raw value (``AUTO`` when unset); None when
    the program writes no such file."""
    conf, options = ctx.programs[name]
    value = options.get(key, "AUTO").strip()
    if key == "stderr_logfile" and options.get("redirect_stderr", "false").lower() not in _NO:
        return None
    if value.upper() in ("NONE", "SYSLOG") or not value:
        return None
    values = {"program_name": name, "group_name": name, "process_num": "0"}
    if value.upper() == "AUTO":
        child = section(system.main_conf, "supervisord").get("childlogdir", "/tmp")
        folder = system.resolve(expand(child, system.main_conf.path, ctx.environ, values))
        return posixpath.join(folder, f"{name}-{key.split('_')[0]}---supervisor-XXXX.log"), "AUTO"
    try:
        path = expand(value, conf.path, ctx.environ, values)
    except ParseError:
        return None
    return system.resolve(path, ctx.supervisord_cwd), value


def _writable(ctx: Context, folder: str) -> bool | None:
    """None when ``folder`` does not exist, else whether this user may write in it."""

    def compute() -> bool | None:
        if ctx.target.file_mode(folder) is None:
            return None
        try:
            return ctx.target.run(["test", "-w", folder], timeout=10).code == 0
        except PortbookError:
            return True  # cannot tell: do not report

    result: bool | None = ctx.memo(f"writable:{folder}", compute)
    return result


def _logs(ctx: Context, system: System, name: str, conf: ConfFile) -> Iterator[Finding]:
    logs = ctx.settings.path(ctx.settings.logs)
    rel_logs = ctx.place(logs)
    for key in ("stdout_logfile", "stderr_logfile"):
        found = _log_path(ctx, system, name, key)
        if found is None:
            continue
        path, raw = found
        explicit = raw != "AUTO"
        place = ctx.conf_place(conf, f"program:{name}", key if explicit else None)
        folder = posixpath.dirname(path)
        shown = ctx.place(path) if explicit else f"{key} unset: childlogdir {folder}"
        want = f"{key}={rel_logs}/{name}.{'out' if key[3] == 'o' else 'err'}.log"
        temporary = any(_inside(path, tmp) for tmp in _TMP)
        if temporary and not _inside(path, ctx.settings.root):  # a root may live under /tmp
            yield Finding(
                "supervisor.tmp-log",
                "error",
                place,
                f"[program:{name}] {key} is in a temporary folder ({shown})",
                f"{want} (seed Rule 4: logs/, not /tmp)",
                fixable=posixpath.normpath(raw).startswith("/tmp/"),
            )
            continue
        if not _inside(path, logs):
            yield Finding(
                "supervisor.log-path",
                "warning",
                place,
                f"[program:{name}] {key} is outside {rel_logs}/ ({shown})",
                f"{want} (seed Rule 4)",
            )
        writable = _writable(ctx, folder)
        if writable is not True:
            why = "does not exist" if writable is None else "is not writable"
            yield Finding(
                "supervisor.log-dir",
                "error",
                place,
                f"[program:{name}] {key}: folder {ctx.place(folder)} {why}",
                f"mkdir -p {ctx.place(folder)} (writable by supervisord's user)"
                if writable is None
                else f"make {ctx.place(folder)} writable by supervisord's user",
            )


def _executable(ctx: Context, run: ProgramRun) -> tuple[str, int | None]:
    """argv[0] resolved (against the program's cwd, or PATH) and its mode (None: missing)."""
    program = run.argv[0]
    if "/" in program:
        path = posixpath.normpath(posixpath.join(run.cwd, program))
        return path, ctx.target.file_mode(path)
    for folder in ctx.environ.get("PATH", "/usr/bin:/bin").split(":"):
        path = posixpath.join(folder or ".", program)
        mode = ctx.target.file_mode(path)
        if mode is not None and mode & 0o111:
            return path, mode
    return program, None


def _command(ctx: Context, name: str, conf: ConfFile, run: ProgramRun) -> Iterator[Finding]:
    place = ctx.conf_place(conf, f"program:{name}", "command")
    if not run.argv:
        yield Finding(
            "supervisor.command", "error", place, f"[program:{name}] has no command=", "set one"
        )
        return
    path, mode = _executable(ctx, run)
    if mode is None or not mode & 0o111:
        why = "does not exist" if mode is None else "is not executable"
        yield Finding(
            "supervisor.command",
            "error",
            place,
            f"[program:{name}] command {ctx.place(path)} {why}",
            f"chmod +x {ctx.place(path)}" if mode is not None else "point command= at it",
        )
    script = next((a for a in run.argv[1:] if a.endswith(".py")), None)
    if script is not None:
        full = posixpath.normpath(posixpath.join(run.cwd, script))
        if ctx.target.file_mode(full) is None:
            yield Finding(
                "supervisor.script-missing",
                "error",
                place,
                f"[program:{name}] runs {ctx.place(full)}, which does not exist",
                f"fix the path in command= ({mask_argv(run.argv)[:80]})",
            )


def _directory(ctx: Context, name: str, conf: ConfFile, run: ProgramRun) -> Iterator[Finding]:
    if ctx.programs[name][1].get("directory") and ctx.target.file_mode(run.cwd) is None:
        yield Finding(
            "supervisor.directory",
            "error",
            ctx.conf_place(conf, f"program:{name}", "directory"),
            f"[program:{name}] directory {ctx.place(run.cwd)} does not exist",
            "point directory= at the system's root (seed Step 4: directory=.)",
        )


def _pythonpath(ctx: Context, name: str, conf: ConfFile, run: ProgramRun) -> Iterator[Finding]:
    script = program_scripts(ctx).by_program.get(name)
    if script is None or has_root_pythonpath(run, ctx.settings.root):
        return
    facts = read_python(ctx).get(script)
    package = ctx.settings.fallback.split("/", 1)[0]
    needs = facts is not None and any(m.startswith(package + ".") for _, m in facts.imports)
    hacked = facts is not None and bool(facts.sys_path)
    fails = needs and not hacked
    yield Finding(
        "supervisor.pythonpath",
        "error" if fails else "warning",
        ctx.conf_place(conf, f"program:{name}", "environment"),
        f"[program:{name}] sets no PYTHONPATH holding the root"
        + (f"; {ctx.place(script)} imports {package}.* and will fail" if fails else ""),
        f'add PYTHONPATH="." to [program:{name}] environment= (seed Step 4)',
    )


def check_supervisor(ctx: Context) -> Iterator[Finding]:
    """Every static supervisor check, program by program."""
    system = ctx.system
    if system is None:
        return
    yield from _parse(system, ctx)
    for name, (conf, _) in sorted(ctx.programs.items()):
        yield from _logs(ctx, system, name, conf)
        run = ctx.runs.get(name)
        if run is None:
            continue
        yield from _command(ctx, name, conf, run)
        yield from _directory(ctx, name, conf, run)
        yield from _pythonpath(ctx, name, conf, run)


SUPERVISOR = Check(
    (
        "supervisor.parse",
        "supervisor.tmp-log",
        "supervisor.log-path",
        "supervisor.log-dir",
        "supervisor.command",
        "supervisor.script-missing",
        "supervisor.directory",
        "supervisor.pythonpath",
    ),
    False,
    check_supervisor,
)
