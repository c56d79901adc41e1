"""Which files ``doctor --fix`` looks at, read through the Target seam.

:func:`source_files` lists files by suffix under the root with one ``find`` command on the
target (so it works the same on a remote host), pruning folders that are not the system's
own code; the parser of its output is pure and filters again, so a target that lists more
than asked (a fake) gets the same answer.
"""

from __future__ import annotations

import glob as globmod
import posixpath
from collections.abc import Sequence

from ..errors import TargetError
from ..model import FileChange
from ..target import Target

__all__ = ["SKIP_DIRS", "journal_safe", "parse_find_output", "read_text", "source_files"]

SKIP_DIRS = frozenset({".git", ".portbook", ".venv", "__pycache__", "logs", "node_modules", "venv"})
"""Folders never scanned or edited, at any depth below the root; nor is any hidden entry
(``.name``), nor the configured logs folder: the same files doctor's checks read."""


def source_files(target: Target, root: str, suffix: str, logs: str | None = None) -> list[str]:
    """Sorted absolute paths of files named ``*SUFFIX`` under ``root``, outside skipped folders.

    ``logs`` is the configured logs folder (absolute), also skipped.
    """
    prune = ["-name", ".*"]
    for name in sorted(SKIP_DIRS):
        prune += ["-o", "-name", name]
    if logs:
        prune += ["-o", "-path", globmod.escape(posixpath.normpath(logs))]
    argv = [
        *("find", root, "-mindepth", "1"),
        *("(", "-type", "d", "(", *prune, ")", ")", "-prune"),
        *("-o", "-type", "f", "-name", f"*{suffix}", "!", "-name", ".*", "-print0"),
    ]
    result = target.run(argv, timeout=120.0)
    if result.code != 0 and not result.stdout:
        detail = (result.stderr.strip().splitlines() or [f"exit {result.code}"])[0]
        raise TargetError(f"cannot list the files under {root}: {detail}")
    return parse_find_output(result.stdout, root, suffix, logs)


def parse_find_output(output: str, root: str, suffix: str, logs: str | None = None) -> list[str]:
    """The NUL-separated paths of ``output`` named ``*SUFFIX`` in ``root``, none skipped."""
    skipped = posixpath.relpath(posixpath.normpath(logs), root) if logs else None
    found: set[str] = set()
    for line in output.split("\0"):
        path = posixpath.normpath(posixpath.join(root, line)) if line else ""
        rel = posixpath.relpath(path, root) if path else ".."
        if rel == ".." or rel.startswith("../") or not path.endswith(suffix):
            continue
        parts = rel.split("/")
        inside_logs = skipped is not None and (rel + "/").startswith(skipped + "/")
        hidden = any(part.startswith(".") for part in parts)
        if not inside_logs and not hidden and not any(p in SKIP_DIRS for p in parts[:-1]):
            found.add(path)
    return sorted(found)


def read_text(raw: bytes | None) -> str | None:
    """``raw`` as UTF-8 text; None when absent or not UTF-8 (such a file is left alone)."""
    if raw is None:
        return None
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return None


def journal_safe(changes: Sequence[FileChange]) -> tuple[list[FileChange], list[FileChange]]:
    """Split ``changes`` into those one journal entry can back up, and those to defer.

    The journal names a backup ``NN-BASENAME`` with NN the entry's index, so two files of
    one step sharing a basename would share a backup and undo would restore the wrong bytes.
    The first file of each basename is kept; the others wait for the next run.
    """
    kept: list[FileChange] = []
    deferred: list[FileChange] = []
    names: set[str] = set()
    for change in changes:
        name = posixpath.basename(change.path)
        (deferred if name in names else kept).append(change)
        names.add(name)
    return kept, deferred
