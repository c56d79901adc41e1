"""What every doctor check reads: one ``Context`` of lazily read, cached facts, and places.

A check is a probe: a function ``Context -> Iterable[Finding]`` that reads (through the
Target, via the context) and never changes anything. The context reads each fact once,
on first use, so ``--only policy`` never scans source files and no file is read twice.
Where a finding points is a *place*: ``file:line`` relative to the root (lines come from
the pure locators below), a service name, or ``pid N``.
"""

from __future__ import annotations

import ast
import bisect
import json
import re
import shlex
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from portbook.config import Settings
from portbook.errors import ParseError, PortbookError, TargetError
from portbook.registry import fallback, manifest
from portbook.registry.supervisor_lex import lex, split_lines
from portbook.registry.system import (
    ConfFile,
    ProgramRun,
    System,
    expand,
    parse_environment,
    read_system,
)
from portbook.target import Target

from .findings import Finding
from .scan import Sources, discover

__all__ = [
    "Check",
    "ConfLines",
    "Context",
    "bare_message",
    "fallback_lines",
    "manifest_lines",
]


_JSON_KEY = re.compile(r'("(?:[^"\\\n]|\\.)*")\s*:')


@dataclass(frozen=True)
class Check:
    """A family of checks: the ids it may report, whether it reads live state, its probe."""

    ids: tuple[str, ...]
    live: bool
    probe: Callable[[Context], Iterable[Finding]]


class ConfLines:
    """Where each section header and option of one supervisord config file sits (1-based)."""

    def __init__(self, text: str, path: str) -> None:
        """Lex ``text`` as supervisor does; later duplicate keys win, as they do for supervisor."""
        lexed = lex(split_lines(text), path)
        self.headers: dict[str, int] = {}
        for index, name in lexed.headers:
            self.headers.setdefault(name, index + 1)
        self.options: dict[tuple[str, str], int] = {}
        for option in lexed.options:
            self.options[(option.section, option.key)] = option.first + 1

    def line(self, section: str, key: str | None = None) -> int | None:
        """The line of ``key`` in ``section`` (else of the section's header), or None."""
        if key is not None and (section, key) in self.options:
            return self.options[(section, key)]
        return self.headers.get(section)


def bare_message(exc: PortbookError) -> str:
    """The message of ``exc`` without the ``path:line[:col]: `` a ParseError puts first."""
    if not isinstance(exc, ParseError):
        return exc.message
    where = exc.path + (f":{exc.line}" if exc.line else "") + (f":{exc.col}" if exc.col else "")
    return exc.message.removeprefix(where + ": ")


def manifest_lines(text: str, names: Iterable[tuple[str, str]]) -> dict[str, int]:
    """The line of each ``(category, name)`` service key in the manifest's JSON ``text``.

    A name is looked for after its category's key; one not found falls back to the
    category's line (and to line 1 when that is missing too).
    """
    where: dict[str, list[int]] = {}  # every JSON key -> its offsets, in order
    for match in _JSON_KEY.finditer(text):
        try:
            key = json.loads(match.group(1))
        except ValueError:
            continue
        where.setdefault(key, []).append(match.start())
    newlines = [m.start() for m in re.finditer("\n", text)]
    lines: dict[str, int] = {}
    for category, name in names:
        start = (where.get(category) or [0])[0]
        offsets = where.get(name, [])
        index = bisect.bisect_left(offsets, start)
        pos = offsets[index] if index < len(offsets) else start
        lines[name] = bisect.bisect_left(newlines, pos) + 1
    return lines


def fallback_lines(text: str) -> tuple[int, list[tuple[str, int, int]]]:
    """``(line of DEFAULT_PORTS, [(name, port, line), ...])`` read with Python's ``ast``.

    Entries are in file order and duplicates kept (``read_ports`` refuses those); a file
    without a literal ``DEFAULT_PORTS`` dict gives ``(1, [])``.
    """
    try:
        tree = ast.parse(text)
    except SyntaxError:
        return 1, []
    for stmt in tree.body:
        target: ast.expr | None = None
        value: ast.expr | None = None
        if isinstance(stmt, ast.Assign) and len(stmt.targets) == 1:
            target, value = stmt.targets[0], stmt.value
        elif isinstance(stmt, ast.AnnAssign):
            target, value = stmt.target, stmt.value
        if isinstance(target, ast.Name) and target.id == "DEFAULT_PORTS":
            entries = []
            if isinstance(value, ast.Dict):
                for key, port in zip(value.keys, value.values, strict=True):
                    if isinstance(key, ast.Constant) and isinstance(key.value, str):
                        number = port.value if isinstance(port, ast.Constant) else None
                        if isinstance(number, int) and not isinstance(number, bool):
                            entries.append((key.value, number, key.lineno))
            return stmt.lineno, entries
    return 1, []


class Context:
    """The system as doctor sees it: settings, target, and facts read once, on demand."""

    def __init__(self, target: Target, settings: Settings) -> None:
        """Nothing is read yet; each property reads its fact on first use."""
        self.target = target
        self.settings = settings
        self.read_error: PortbookError | None = None
        self.parsed = 0  # Python files parsed with ast (the prefilter's candidates)
        self._memo: dict[str, Any] = {}

    def memo(self, key: str, compute: Callable[[], Any]) -> Any:
        """A fact computed once per run (for facts built by the check modules themselves)."""
        if key not in self._memo:
            self._memo[key] = compute()
        return self._memo[key]

    def read_text(self, path: str) -> str | None:
        """A source file's text (undecodable bytes replaced); None when missing or unreadable
        (a file this user may not read is skipped, not a reason to stop every check)."""
        if path in self.prefetched:
            raw = self.prefetched[path]
        else:
            try:
                raw = self.target.read_optional(path)
            except TargetError:
                return None
        return None if raw is None else raw.decode("utf-8", "replace")

    def place(self, path: str, line: int | None = None) -> str:
        """``path[:line]`` relative to the root when inside it."""
        shown = self.settings.rel(path)
        return shown if line is None else f"{shown}:{line}"

    @cached_property
    def system(self) -> System | None:
        """The four places parsed, or None when one cannot be read (``read_error`` says why)."""
        try:
            return read_system(self.target, self.settings)
        except PortbookError as exc:
            self.read_error = exc
            return None

    @cached_property
    def manifest_path(self) -> str:
        """The manifest's absolute path."""
        return self.settings.path(self.settings.manifest)

    @cached_property
    def fallback_path(self) -> str:
        """The fallback module's absolute path."""
        return self.settings.path(self.settings.fallback)

    @cached_property
    def manifest_line(self) -> dict[str, int]:
        """The manifest line of every service's key."""
        system = self.system
        if system is None:
            return {}
        names = [(e.category, n) for n, e in system.services.items()]
        return manifest_lines(system.manifest_text, names)

    @cached_property
    def fallback_entries(self) -> tuple[int, list[tuple[str, int, int]]]:
        """DEFAULT_PORTS' own line and its ``(name, port, line)`` entries."""
        return fallback_lines(self.system.fallback_text) if self.system else (1, [])

    @cached_property
    def fallback_line(self) -> dict[str, int]:
        """The DEFAULT_PORTS line of every name (its first occurrence)."""
        lines: dict[str, int] = {}
        for name, _, line in self.fallback_entries[1]:
            lines.setdefault(name, line)
        return lines

    @cached_property
    def registry_ports(self) -> frozenset[int]:
        """Every port the manifest or DEFAULT_PORTS gives (what readable of them)."""
        if self.system is not None:
            ports = {e.port for e in self.system.services.values()}
            return frozenset(ports | set(self.system.fallback_ports.values()))
        found: set[int] = set()
        for path, read in ((self.manifest_path, _manifest_ports), (self.fallback_path, _fb_ports)):
            raw = self.target.read_optional(path)
            try:
                found |= read(raw.decode("utf-8"), path) if raw else set()
            except (PortbookError, UnicodeDecodeError):
                continue
        return frozenset(found)

    @cached_property
    def programs(self) -> dict[str, tuple[ConfFile, dict[str, str]]]:
        """Every ``[program:X]`` with its file and options (read once: it is not free)."""
        return self.system.programs() if self.system else {}

    @cached_property
    def conf_lines(self) -> dict[str, ConfLines]:
        """Line locators for every supervisord config file, by path."""
        confs = self.system.confs if self.system else ()
        return {conf.path: ConfLines(conf.text, conf.path) for conf in confs}

    def conf_place(self, conf: ConfFile, section: str, key: str | None = None) -> str:
        """``conf:line`` of an option (or of the section's header)."""
        return self.place(conf.path, self.conf_lines[conf.path].line(section, key))

    @cached_property
    def supervisord_cwd(self) -> str:
        """The folder supervisord resolves relative paths against (read once)."""
        return self.system.supervisord_cwd() if self.system else self.settings.root

    @cached_property
    def environ(self) -> dict[str, str]:
        """The environment supervisord would inherit on the target (for ``%(ENV_X)s``)."""
        return self.target.environ()

    @cached_property
    def runs(self) -> dict[str, ProgramRun]:
        """How supervisor would run each program; programs it could not expand are left out."""
        system = self.system
        if system is None:
            return {}
        cwd = self.supervisord_cwd
        runs: dict[str, ProgramRun] = {}
        for name, (conf, options) in self.programs.items():
            values = {"program_name": name, "group_name": name, "process_num": "0"}
            try:
                command = expand(options.get("command", ""), conf.path, self.environ, values)
                where = cwd
                if options.get("directory"):
                    directory = expand(options["directory"], conf.path, self.environ, values)
                    where = system.resolve(directory, cwd)
                raw_env = expand(options.get("environment", ""), conf.path, self.environ, values)
                env = parse_environment(raw_env, conf.path)
                argv = tuple(shlex.split(command))
            except (PortbookError, ValueError):
                continue  # supervisor's own parser reports it (supervisor.parse)
            runs[name] = ProgramRun(argv, where, env, options.get("user"))
        return runs

    @cached_property
    def sources(self) -> Sources:
        """Every source file doctor scans (Python, shell, JavaScript/TypeScript)."""
        return discover(self.target, self.settings.root, self.settings.path(self.settings.logs))

    @cached_property
    def prefetched(self) -> dict[str, bytes | None]:
        """Every source file's bytes, read at once (one round trip per batch over SSH)."""
        found = self.sources
        return self.target.read_many([*found.python, *found.shell, *found.js])


def _manifest_ports(text: str, path: str) -> set[int]:
    return {entry.port for entry in manifest.read_services(text, path).values()}


def _fb_ports(text: str, path: str) -> set[int]:
    return set(fallback.read_ports(text, path).values())
