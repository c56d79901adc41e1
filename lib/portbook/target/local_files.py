"""The local host's files: the same file operations the SSH host runs (``ssh_remote_files``)."""

from __future__ import annotations

import glob as globmod

from . import ssh_remote_files as files
from .local_errors import translated

__all__ = ["LocalFiles"]


class LocalFiles:
    """File reads and writes on the machine portbook runs on (half of ``LocalTarget``)."""

    def read_optional(self, path: str) -> bytes | None:
        """The file's bytes, or None when it does not exist."""
        with translated(f"cannot read {path}"):
            return files.read_file(path)

    def write_atomic(self, path: str, data: bytes, mode: int | None = None) -> None:
        """Write a temp file beside ``path``, fsync it, rename it over; keep mode and owner."""
        with translated(f"cannot write {path}"):
            files.write_atomic(path, data, mode)

    def remove(self, path: str) -> None:
        """Delete a file; a missing file is not an error."""
        with translated(f"cannot remove {path}"):
            files.remove_file(path)

    def file_mode(self, path: str) -> int | None:
        """The permission bits of ``path``, or None when it does not exist."""
        with translated(f"cannot stat {path}"):
            return files.file_mode(path)

    def makedirs(self, path: str) -> None:
        """Create a folder and its parents; existing is fine."""
        with translated(f"cannot create {path}"):
            files.makedirs(path)

    def tree(
        self, root: str, skip_names: frozenset[str], skip_paths: frozenset[str], max_depth: int
    ) -> list[str]:
        """Every file under ``root`` (hidden names and the skipped folders left out), sorted."""
        return files.tree_files(root, sorted(skip_names), sorted(skip_paths), max_depth)

    def glob(self, pattern: str) -> list[str]:
        """Sorted paths matching a shell pattern."""
        return sorted(globmod.glob(pattern))

    def remove_empty_dir(self, path: str) -> None:
        """Remove a folder if it is empty; a missing or non-empty folder is left as it is."""
        files.remove_empty_dir(path)

    def append_bytes(self, path: str, data: bytes) -> None:
        """Append ``data`` to ``path`` (created 0640 when missing) in one write, then fsync."""
        with translated(f"cannot append to {path}"):
            files.append_bytes(path, data)
