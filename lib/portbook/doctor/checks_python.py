"""Python source checks: hardcoded ports (Rule 1), get_port use, and import hygiene.

Every scanned ``*.py`` file (see :mod:`.scan`) that the prefilter selects, and every
program's script, is parsed once with ``ast`` (:func:`.checks_pyfacts.python_facts`); the
fallback module itself, being one of the four places, is not linted for literals.
"""

from __future__ import annotations

import posixpath
import sys
from collections.abc import Iterator
from dataclasses import dataclass

from portbook.registry.system import ProgramRun

from .checks_base import Check, Context
from .checks_pyfacts import PortHit, PyFacts, python_facts
from .findings import Finding
from .orphans import orphan_finding, orphaned_scripts
from .scan import python_candidate

__all__ = [
    "CODE",
    "HARDCODED_PYTHON",
    "IMPORTS",
    "Scripts",
    "has_root_pythonpath",
    "program_scripts",
    "read_python",
]


@dataclass(frozen=True)
class Scripts:
    """Each program's Python script inside the root: ``program -> path``, and back."""

    by_program: dict[str, str]
    by_path: dict[str, str]


def script_of(run: ProgramRun, root: str) -> str | None:
    """The ``.py`` script (or ``-m`` module) a program runs, when it lies inside ``root``."""
    args = list(run.argv[1:])
    script = next((a for a in args if a.endswith(".py")), None)
    if script is None and "-m" in args[:-1]:
        script = args[args.index("-m") + 1].replace(".", "/") + ".py"
    if script is None:
        return None
    path = posixpath.normpath(posixpath.join(run.cwd, script))
    return path if path.startswith(root.rstrip("/") + "/") else None


def program_scripts(ctx: Context) -> Scripts:
    """Every program's script inside the root (a program without one is not linted)."""

    def compute() -> Scripts:
        by_program = {
            name: path
            for name, run in ctx.runs.items()
            if (path := script_of(run, ctx.settings.root)) is not None
        }
        by_path: dict[str, str] = {}
        for name, path in sorted(by_program.items()):
            by_path.setdefault(path, name)
        return Scripts(by_program, by_path)

    scripts: Scripts = ctx.memo("scripts", compute)
    return scripts


def has_root_pythonpath(run: ProgramRun, root: str) -> bool:
    """True when the program's ``PYTHONPATH`` holds the root (relative entries from its cwd)."""
    entries = run.environment.get("PYTHONPATH", "").split(":")
    return any(posixpath.normpath(posixpath.join(run.cwd, e)) == root for e in entries if e)


def _package(ctx: Context) -> tuple[str, str]:
    """The top package's name and folder (``backend``, from the fallback module's path)."""
    name = ctx.settings.fallback.split("/", 1)[0] or "backend"
    return name, ctx.settings.path(name)


def local_modules(ctx: Context) -> tuple[set[str], dict[str, set[str]]]:
    """Names importable only without the package prefix: its children, and per folder the
    sibling modules; stdlib names and names the root itself provides are left out."""

    def compute() -> tuple[set[str], dict[str, set[str]]]:
        _, folder = _package(ctx)
        root = ctx.settings.root.rstrip("/") + "/"
        top, children, siblings = set(), set(), dict[str, set[str]]()
        for path in ctx.sources.python:  # absolute, normalized, under the root
            top.add(path[len(root) :].split("/", 1)[0].removesuffix(".py"))
            if path.startswith(folder + "/"):
                children.add(path[len(folder) + 1 :].split("/", 1)[0].removesuffix(".py"))
                where, _, leaf = path.rpartition("/")
                siblings.setdefault(where, set()).add(leaf.removesuffix(".py"))
        stdlib = set(sys.stdlib_module_names) | {"__init__"}
        children -= stdlib | top
        return children, {d: names - stdlib - top for d, names in siblings.items()}

    result: tuple[set[str], dict[str, set[str]]] = ctx.memo("local-modules", compute)
    return result


def _local_for(ctx: Context, path: str) -> set[str]:
    children, siblings = local_modules(ctx)
    folder = path.rpartition("/")[0]
    return children | siblings[folder] if folder in siblings else children


def read_python(ctx: Context) -> dict[str, PyFacts]:
    """Facts of every scanned Python file the prefilter selects, and of every script."""

    def compute() -> dict[str, PyFacts]:
        ports = ctx.registry_ports
        spelled = frozenset(str(port) for port in ports)
        scripts = set(program_scripts(ctx).by_path)
        files = sorted(set(ctx.sources.python) | scripts)
        facts: dict[str, PyFacts] = {}
        for path in files:
            text = ctx.read_text(path)
            if text is None:
                continue
            if path in scripts or python_candidate(text, spelled, _local_for(ctx, path)):
                facts[path] = python_facts(text, ports)
                ctx.parsed += 1
        return facts

    facts: dict[str, PyFacts] = ctx.memo("python", compute)
    return facts


def _owners(ctx: Context, port: int) -> list[str]:
    """The manifest services with ``port`` (else the DEFAULT_PORTS names with it)."""
    system = ctx.system
    if system is None:
        return []
    owners = [n for n, e in sorted(system.services.items()) if e.port == port]
    return owners or [n for n, p in sorted(system.fallback_ports.items()) if p == port]


def _rewritable(ctx: Context, hit: PortHit) -> str | None:
    """The one manifest service ``doctor --fix`` would rewrite ``hit`` to ``get_port`` of:
    a literal *used as a port* (not merely equal to one, not in a URL) of exactly one."""
    system = ctx.system
    if system is None or hit.reason.startswith(("literal equal", "localhost", "127.", "0.0.")):
        return None
    owners = [n for n, e in system.services.items() if e.port == hit.value]
    return owners[0] if len(owners) == 1 else None


def check_hardcoded_python(ctx: Context) -> Iterator[Finding]:
    """``hardcoded.python`` and ``code.syntax`` in every parsed Python file."""
    scripts = program_scripts(ctx).by_path
    for path, facts in read_python(ctx).items():
        if facts.syntax_error:
            line, msg = facts.syntax_error
            yield Finding(
                "code.syntax",
                "error",
                ctx.place(path, line),
                f"invalid Python syntax: {msg}",
                "fix the syntax error: the service cannot start",
            )
        if path == ctx.fallback_path:
            continue  # DEFAULT_PORTS is one of the four places, not a hardcoded port
        program = scripts.get(path)
        for hit in facts.ports:
            owners = _owners(ctx, hit.value)
            name = owners[0] if len(owners) == 1 else program
            how = f'get_port("{name}")' if name else 'get_port("NAME")'
            yield Finding(
                "hardcoded.python",
                "error",
                ctx.place(path, hit.line),
                f"hardcoded port {hit.value}: {hit.reason}",
                f"read it with {how} from backend.core.port_config (seed Rule 1)",
                fixable=_rewritable(ctx, hit) is not None,
            )


def check_code(ctx: Context) -> Iterator[Finding]:
    """``code.no-get-port`` for every manifest program's script, ``code.unknown-service``."""
    system = ctx.system
    if system is None:
        return
    facts = read_python(ctx)
    for name, path in sorted(program_scripts(ctx).by_program.items()):
        if name not in system.services or path not in facts:
            continue  # not a manifest service, or its script is missing (supervisor check)
        got = facts[path]
        if name in got.called or got.syntax_error:
            continue
        others = sorted(got.called)
        line = got.get_port[0][0] if got.get_port else (got.ports[0].line if got.ports else None)
        also = f" (it calls get_port({others[0]!r}))" if others else ""
        yield Finding(
            "code.no-get-port",
            "error",
            ctx.place(path, line),
            f'{name}: {ctx.place(path)} never calls get_port("{name}"){also}',
            f'set SERVICE_PORT = get_port("{name}") and listen on it (seed Step 3)',
            fixable=any(_rewritable(ctx, hit) == name for hit in got.ports),
        )
    known = set(system.services) | set(system.fallback_ports)
    run_scripts = set(program_scripts(ctx).by_path)
    orphans = orphaned_scripts(ctx, run_scripts)
    for path, got in facts.items():
        for line, called in got.get_port:
            if called in known:
                continue
            if orphans.get(path) == called:
                yield orphan_finding(ctx, path, line, called)
                continue
            unrun = "" if path in run_scripts else f"delete {ctx.place(path)} if nothing uses it, "
            yield Finding(
                "code.unknown-service",
                "error",
                ctx.place(path, line),
                f'get_port("{called}"): no such service in the manifest or DEFAULT_PORTS',
                f"{unrun}add {called} with invoke service.add, or call get_port with a known name",
            )


def check_imports(ctx: Context) -> Iterator[Finding]:
    """``imports.no-backend-prefix`` and ``imports.sys-path-hack``."""
    package, folder = _package(ctx)
    scripts = program_scripts(ctx).by_path
    for path, facts in read_python(ctx).items():
        local = _local_for(ctx, path)
        for line, module in facts.imports:
            head = module.split(".", 1)[0]
            if head in local:
                inside = posixpath.relpath(posixpath.dirname(path), folder)
                sibling = head not in local_modules(ctx)[0] and not inside.startswith("..")
                prefix = ".".join([package, *([] if inside == "." else inside.split("/"))])
                full = f"{prefix if sibling else package}.{module}"
                yield Finding(
                    "imports.no-backend-prefix",
                    "error",
                    ctx.place(path, line),
                    f"import of {module} without the {package}. prefix",
                    f"import it as {full} (seed: all imports use the '{package}.' prefix)",
                )
        program = scripts.get(path)
        if path in orphaned_scripts(ctx, set(scripts)):
            continue  # kept by service.remove and run by nothing: code.orphaned-service says so
        run = ctx.runs.get(program) if program else None
        covered = run is not None and has_root_pythonpath(run, ctx.settings.root)
        for line, absolute in facts.sys_path:
            if covered and not absolute:
                continue  # a guard for manual runs; supervisor's PYTHONPATH already has the root
            if absolute:
                why = "adds a fixed absolute path to sys.path"
            elif program:
                why = f"changes sys.path and [program:{program}] sets no PYTHONPATH with the root"
            else:
                why = "changes sys.path (a module imported by services)"
            yield Finding(
                "imports.sys-path-hack",
                "warning",
                ctx.place(path, line),
                why,
                f'remove it: set PYTHONPATH="." in the program\'s environment= and import '
                f"through {package}.",
            )


HARDCODED_PYTHON = Check(("hardcoded.python", "code.syntax"), False, check_hardcoded_python)
CODE = Check(
    ("code.no-get-port", "code.unknown-service", "code.orphaned-service"), False, check_code
)
IMPORTS = Check(("imports.no-backend-prefix", "imports.sys-path-hack"), False, check_imports)
