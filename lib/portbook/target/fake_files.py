"""The files of an in-memory host (:class:`FakeTarget`'s half that is a filesystem).

Files are a dict ``path -> (bytes, mode)``; folders are implied by files or made with
``makedirs``, and writing into a missing folder fails as it would on disk. Paths in
``fail_writes`` raise ``TargetError`` on write, append or remove; every write and append
is recorded in ``writes``.
"""

from __future__ import annotations

import fnmatch
import posixpath
from dataclasses import dataclass, field

from ..errors import TargetError

__all__ = ["FakeFiles"]


@dataclass
class FakeFiles:
    """A filesystem held in memory: ``files`` maps absolute paths to ``(bytes, mode)``."""

    files: dict[str, tuple[bytes, int]] = field(default_factory=dict)
    dirs: set[str] = field(default_factory=set)
    fail_writes: set[str] = field(default_factory=set)
    writes: list[str] = field(default_factory=list)

    def put(self, path: str, data: bytes | str, mode: int = 0o644) -> None:
        """Create or replace a file directly (not recorded in ``writes``)."""
        raw = data.encode() if isinstance(data, str) else data
        self.files[posixpath.normpath(path)] = (raw, mode)

    def text(self, path: str) -> str | None:
        """A file's contents as UTF-8 text, or None when it does not exist."""
        raw = self.read_optional(path)
        return None if raw is None else raw.decode("utf-8")

    def snapshot(self) -> dict[str, tuple[bytes, int]]:
        """A copy of every file and its mode, to compare before and after."""
        return dict(self.files)

    def read_optional(self, path: str) -> bytes | None:
        """The file's bytes, or None when it does not exist."""
        found = self.files.get(posixpath.normpath(path))
        if found is None and self._is_dir(path):
            raise TargetError(f"cannot read {path}: Is a directory")
        return None if found is None else found[0]

    def write_atomic(self, path: str, data: bytes, mode: int | None = None) -> None:
        """Replace the file in one step, keeping its mode unless ``mode`` is given (new: 0644)."""
        path = posixpath.normpath(path)
        if path in self.fail_writes:
            raise TargetError(f"cannot write {path}: injected failure")
        if not self._is_dir(posixpath.dirname(path)):
            raise TargetError(f"cannot write {path}: No such file or directory")
        if mode is None:
            old = self.files.get(path)
            mode = old[1] if old is not None else 0o644
        self.files[path] = (bytes(data), mode)
        self.writes.append(path)

    def remove(self, path: str) -> None:
        """Delete a file; a missing file is not an error."""
        path = posixpath.normpath(path)
        if path in self.fail_writes:
            raise TargetError(f"cannot remove {path}: injected failure")
        self.files.pop(path, None)

    def file_mode(self, path: str) -> int | None:
        """The permission bits of ``path``, or None when it does not exist."""
        found = self.files.get(posixpath.normpath(path))
        return None if found is None else found[1]

    def makedirs(self, path: str) -> None:
        """Create a folder and its parents; existing is fine."""
        path = posixpath.normpath(path)
        if path in self.files:
            raise TargetError(f"cannot create {path}: File exists")
        self.dirs.add(path)

    def tree(
        self, root: str, skip_names: frozenset[str], skip_paths: frozenset[str], max_depth: int
    ) -> list[str]:
        """Every file under ``root`` (hidden names and the skipped folders left out), sorted."""
        root = posixpath.normpath(root)
        found = []
        for path in self.files:
            if not path.startswith(root.rstrip("/") + "/"):
                continue
            parts = path[len(root.rstrip("/")) + 1 :].split("/")
            folders = [
                root.rstrip("/") + "/" + "/".join(parts[: i + 1]) for i in range(len(parts) - 1)
            ]
            if (
                any(part.startswith(".") for part in parts)
                or any(part in skip_names for part in parts[:-1])
                or any(folder in skip_paths for folder in folders)
                or len(parts) - 1 > max_depth
            ):
                continue
            found.append(path)
        return sorted(found)

    def glob(self, pattern: str) -> list[str]:
        """Sorted files matching a shell pattern (``*`` does not cross ``/``)."""
        parts = posixpath.normpath(pattern).split("/")
        return sorted(
            path
            for path in self.files
            if len(path.split("/")) == len(parts)
            and all(fnmatch.fnmatchcase(p, q) for p, q in zip(path.split("/"), parts, strict=True))
        )

    def remove_empty_dir(self, path: str) -> None:
        """Forget a folder made with ``makedirs`` if no file or folder lies inside it."""
        path = posixpath.normpath(path)
        prefix = path.rstrip("/") + "/"
        if not any(name.startswith(prefix) for name in (*self.files, *self.dirs)):
            self.dirs.discard(path)

    def append_bytes(self, path: str, data: bytes) -> None:
        """Append to a file (created 0640 when missing); ``fail_writes`` paths raise."""
        path = posixpath.normpath(path)
        if path in self.fail_writes:
            raise TargetError(f"cannot append to {path}: injected failure")
        if not self._is_dir(posixpath.dirname(path)):
            raise TargetError(f"cannot append to {path}: No such file or directory")
        old, mode = self.files.get(path, (b"", 0o640))
        self.files[path] = (old + bytes(data), mode)
        self.writes.append(path)

    def _is_dir(self, path: str) -> bool:
        path = posixpath.normpath(path)
        if path == "/" or path in self.dirs:
            return True
        prefix = path.rstrip("/") + "/"
        return any(name.startswith(prefix) for name in (*self.files, *self.dirs))
