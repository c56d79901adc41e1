"""File operations, run ON THE HOST by the serving Python, and by LocalTarget on this machine.

One implementation for both: a write is a temp file in the same folder, written,
fsynced, given the old file's mode and owner (or ``mode``), renamed over the path,
then the folder fsynced. Over SSH each operation is one request to the serving
Python (bytes travel base64 in the JSON line), where SFTP needed about seven
round trips for a write (stat, open, setstat, write, fsync, close, rename).

Standard library only, Python 3.7 or later, no imports from portbook: on the host
this file is executed on its own (``ssh_exec.program``).
"""

from __future__ import annotations

import base64
import contextlib
import errno
import os
import tempfile
from collections.abc import Callable
from typing import Any

__all__ = [
    "OPS",
    "append_bytes",
    "file_mode",
    "makedirs",
    "read_file",
    "remove_empty_dir",
    "remove_file",
    "tree_files",
    "write_atomic",
]


def read_file(path: str) -> bytes | None:
    """The file's bytes, or None when it does not exist (other errors raise OSError)."""
    try:
        with open(path, "rb") as handle:
            return handle.read()
    except FileNotFoundError:
        return None


def write_atomic(path: str, data: bytes, mode: int | None = None) -> None:
    """Temp file beside ``path``, fsync, mode and owner kept (or ``mode``), rename, fsync dir."""
    folder = os.path.dirname(path) or "."
    old = _stat_or_none(path)
    fd, tmp = tempfile.mkstemp(prefix=".portbook-", dir=folder)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        if mode is None:
            mode = old.st_mode & 0o7777 if old is not None else 0o644
        os.chmod(tmp, mode)
        if old is not None:
            with contextlib.suppress(PermissionError):
                os.chown(tmp, old.st_uid, old.st_gid)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    _fsync_dir(folder)


def remove_file(path: str) -> None:
    """Delete a file; a missing file is not an error."""
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)


def file_mode(path: str) -> int | None:
    """The permission bits of ``path``, or None when it does not exist."""
    found = _stat_or_none(path)
    return None if found is None else found.st_mode & 0o7777


def makedirs(path: str) -> None:
    """Create a folder and its parents; existing is fine."""
    os.makedirs(path, exist_ok=True)


def remove_empty_dir(path: str) -> None:
    """Remove a folder if it is empty; a missing or non-empty folder is left as it is."""
    with contextlib.suppress(OSError):
        os.rmdir(path)


def append_bytes(path: str, data: bytes) -> None:
    """Append ``data`` in one write (O_APPEND; a new file is 0640), then fsync."""
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)
    try:
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)


def tree_files(
    root: str, skip_names: list[str], skip_paths: list[str], max_depth: int
) -> list[str]:
    """Every file under ``root``, sorted: hidden names skipped (as glob's ``*``), folders in
    ``skip_names`` or ``skip_paths`` not entered, at most ``max_depth`` folders deep.

    Symlinks to folders are followed like folders; anything else that is not a folder
    (files, sockets, dangling links) is listed. LocalTarget runs this same function.
    """
    names, paths = set(skip_names), set(skip_paths)
    found: list[str] = []
    stack = [(os.path.normpath(root), 0)]
    while stack:
        folder, depth = stack.pop()
        try:
            entries = list(os.scandir(folder))
        except OSError:
            continue
        for entry in entries:
            if entry.name.startswith("."):
                continue
            path = folder.rstrip("/") + "/" + entry.name
            try:
                is_dir = entry.is_dir()
            except OSError:
                is_dir = False
            if not is_dir:
                found.append(path)
            elif entry.name not in names and path not in paths and depth < max_depth:
                stack.append((path, depth + 1))
    return sorted(found)


def op_tree(req: dict[str, Any]) -> list[str]:
    """``tree_files`` of the request's root."""
    return tree_files(req["root"], req["skip_names"], req["skip_paths"], int(req["max_depth"]))


def op_read_many(req: dict[str, Any]) -> dict[str, Any]:
    """Each path's bytes (base64), or None when it is missing or cannot be read."""
    out: dict[str, Any] = {}
    for path in req["paths"]:
        try:
            data = read_file(path)
        except OSError:
            data = None
        out[path] = None if data is None else base64.b64encode(data).decode("ascii")
    return out


def _stat_or_none(path: str) -> os.stat_result | None:
    try:
        return os.stat(path)
    except FileNotFoundError:
        return None


def _fsync_dir(folder: str) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError as exc:
        if exc.errno in (errno.EACCES, errno.EISDIR):
            return
        raise
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _bytes(req: dict[str, Any]) -> bytes:
    return base64.b64decode(req["data"])


def _read(req: dict[str, Any]) -> str | None:
    data = read_file(req["path"])
    return None if data is None else base64.b64encode(data).decode("ascii")


OPS: dict[str, Callable[[dict[str, Any]], Any]] = {
    "read": _read,
    "write": lambda req: write_atomic(req["path"], _bytes(req), req.get("mode")),
    "remove": lambda req: remove_file(req["path"]),
    "file_mode": lambda req: file_mode(req["path"]),
    "makedirs": lambda req: makedirs(req["path"]),
    "remove_empty_dir": lambda req: remove_empty_dir(req["path"]),
    "append": lambda req: append_bytes(req["path"], _bytes(req)),
    "tree": op_tree,
    "read_many": op_read_many,
}
"""The requests the serving Python answers with these functions (bytes as base64)."""
