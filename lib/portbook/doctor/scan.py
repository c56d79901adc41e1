"""Which source files doctor reads, and the cheap text tests that decide which to parse.

Discovery lists the root through ``Target.tree`` (one call, even over SSH), never
entering ``venv``, ``.venv``, ``node_modules``, ``.git``, ``logs`` (and the configured logs
folder), ``.portbook`` or ``__pycache__``; hidden entries are never listed. It keeps
``*.py``, ``*.sh`` and ``*.js``/``*.ts``/``*.jsx``/``*.tsx`` (not ``*.min.js`` bundles).

Parsing every Python file with a syntax tree would dominate doctor's time, so a file is
parsed (with Python's ``ast``) only when :func:`python_candidate` finds text any Python
check could report on: a word starting with ``port`` (``port=``, ``SERVICE_PORT``, a
``port`` parameter, ``--port``), ``run(``, ``bind(``, ``Server(`` (no space or one before the
parenthesis), ``uvicorn.Config``, ``localhost:``/``127.0.0.1:``/``0.0.0.0:``, ``sys.path``,
``addsitedir``, ``get_port``, a run of digits equal to a registered port, or an import of a
project-local module. A file without any of these cannot produce a Python finding.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Collection, Iterator
from dataclasses import dataclass

from portbook.target import Target

__all__ = [
    "SKIP_DIRS",
    "Sources",
    "discover",
    "import_roots",
    "python_candidate",
    "registry_number",
]

SKIP_DIRS = frozenset({"venv", ".venv", "node_modules", ".git", "logs", ".portbook", "__pycache__"})
"""Folder names doctor never enters."""

_JS = (".js", ".ts", ".jsx", ".tsx")
_MAX_DEPTH = 30

# One regex alternation with look-behinds costs ~0.1 ms per file: "port" words are found by
# finditer, everything else by plain substring tests.
_PORT_WORD = re.compile(r"port|Port|PORT")
_HINT_TOKENS = (
    "run(",
    "run (",
    "bind(",
    "bind (",
    "Server(",
    "Server (",
    "uvicorn.Config",
    "localhost:",
    "127.0.0.1:",
    "0.0.0.0:",
    "sys.path",
    "addsitedir",
)
_DIGITS = re.compile(r"\d\d+")
_IMPORT = re.compile(r"^[ \t]*(?:from|import)[ \t]+([\w., \t]+)", re.M)


@dataclass(frozen=True)
class Sources:
    """The files doctor scans, by kind, as absolute paths in sorted order."""

    python: tuple[str, ...] = ()
    shell: tuple[str, ...] = ()
    js: tuple[str, ...] = ()

    def __len__(self) -> int:
        """How many files in all."""
        return len(self.python) + len(self.shell) + len(self.js)


def discover(target: Target, root: str, logs: str | None = None) -> Sources:
    """Every Python, shell and JS/TS file under ``root`` outside the skipped folders."""
    skip_paths = frozenset({posixpath.normpath(logs)} if logs else set())
    python: list[str] = []
    shell: list[str] = []
    js: list[str] = []
    for path in target.tree(posixpath.normpath(root), SKIP_DIRS, skip_paths, _MAX_DEPTH):
        name = posixpath.basename(path)
        if name.endswith(".py"):
            python.append(path)
        elif name.endswith(".sh"):
            shell.append(path)
        elif name.endswith(_JS) and not name.endswith(".min.js"):
            js.append(path)
    return Sources(tuple(sorted(python)), tuple(sorted(shell)), tuple(sorted(js)))


def registry_number(text: str, ports: frozenset[str]) -> bool:
    """True when a run of digits in ``text`` spells one of ``ports`` (decimal strings)."""
    return bool(ports) and not ports.isdisjoint(_DIGITS.findall(text))


def import_roots(text: str) -> set[str]:
    """The first name of every module a line-leading ``import``/``from`` statement names."""
    names: set[str] = set()
    for group in _IMPORT.findall(text):
        for part in group.split(","):
            word = part.strip().split(".", 1)[0].split(" ", 1)[0]
            if word:
                names.add(word)
    return names


def _port_word(text: str) -> bool:
    """A word starting with ``port`` (any of three cases): not ``import``, ``report``..."""
    return any(i == 0 or not text[i - 1].isalpha() for i in _starts(_PORT_WORD, text))


def _starts(pattern: re.Pattern[str], text: str) -> Iterator[int]:
    return (match.start() for match in pattern.finditer(text))


def python_candidate(text: str, ports: frozenset[str], local: Collection[str]) -> bool:
    """Could any Python check report on ``text``? False only when none can (see above).

    ``ports`` are the registered ports as decimal strings.
    """
    if "get_port" in text or _port_word(text):
        return True
    if any(token in text for token in _HINT_TOKENS):
        return True
    if local and not import_roots(text).isdisjoint(local):
        return True
    return registry_number(text, ports)
