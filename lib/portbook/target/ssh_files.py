"""File operations on the host over one SFTP session: no shell, a few SFTP requests each.

``write_atomic`` is the local recipe done remotely: a temp file beside the
target (``.portbook-XXXX``, created exclusively); its mode, and the old file's
owner, set before any byte lands in it; the data written and fsynced (the
``fsync@openssh.com`` extension OpenSSH's sftp-server offers, else a remote
``os.fsync`` call); then ``posix-rename`` over the target: seven SFTP requests,
no command. SFTP cannot fsync a folder, so after a host crash right after the
rename the previous version of the file may be what is found: whole, never torn.

Errors are paramiko's (``OSError`` with an errno where the server gave one);
``ssh.py`` translates them.
"""

from __future__ import annotations

import contextlib
import errno
import fnmatch
import posixpath
import secrets
import stat
from collections.abc import Callable
from typing import Any

import paramiko
from paramiko.sftp import CMD_EXTENDED, CMD_FSETSTAT

__all__ = ["CountingSFTP", "SftpFiles", "unescape"]

_ESCAPES = {"[*]": "*", "[?]": "?", "[[]": "["}


class CountingSFTP(paramiko.SFTPClient):  # type: ignore[misc]  # paramiko is untyped
    """An SFTP client that counts the requests it sends (each one waits for the host)."""

    requests = 0

    def _async_request(self, fileobj: Any, t: int, *args: Any) -> Any:
        self.requests += 1
        return super()._async_request(fileobj, t, *args)


class SftpFiles:
    """read, write_atomic, remove, stat, mkdir and append over ``sftp`` (a CountingSFTP).

    ``fsync_paths`` fsyncs files through a remote command, for servers without
    ``fsync@openssh.com``.
    """

    def __init__(self, sftp: Any, fsync_paths: Callable[[list[str]], None]) -> None:
        self.sftp = sftp
        self.fsync_paths = fsync_paths
        self.fsync_extension = True

    def read_optional(self, path: str) -> bytes | None:
        """The file's bytes, or None when it does not exist."""
        try:
            handle = self.sftp.open(path, "rb")
        except FileNotFoundError:
            return None
        with handle:
            return bytes(handle.read())

    def stat(self, path: str) -> Any:
        """paramiko's SFTPAttributes for ``path`` (symlinks followed), or None when missing."""
        try:
            return self.sftp.stat(path)
        except FileNotFoundError:
            return None

    def file_mode(self, path: str) -> int | None:
        """The permission bits of ``path``, or None when it does not exist."""
        attrs = self.stat(path)
        return None if attrs is None else stat.S_IMODE(attrs.st_mode)

    def write_atomic(self, path: str, data: bytes, mode: int | None) -> None:
        """Temp file beside ``path``, mode first, data, fsync, owner, rename over ``path``."""
        old = self.stat(path)
        if mode is None:
            mode = stat.S_IMODE(old.st_mode) if old is not None else 0o644
        tmp = posixpath.join(posixpath.dirname(path) or ".", f".portbook-{secrets.token_hex(4)}")
        handle = self.sftp.open(tmp, "wbx")
        try:
            with handle:
                self._set_mode_and_owner(handle, mode, old)
                handle.write(data)
                handle.flush()
                synced = self._fsync(handle)
            if not synced:
                self.fsync_paths([tmp])
            self.sftp.posix_rename(tmp, path)
        except BaseException:
            with contextlib.suppress(OSError, paramiko.SSHException):
                self.sftp.remove(tmp)
            raise

    def append_bytes(self, path: str, data: bytes) -> None:
        """Append in one write (O_APPEND on the host), fsync; a new file gets mode 0640."""
        new = self.stat(path) is None
        with self.sftp.open(path, "ab") as handle:
            if new:
                handle.chmod(0o640)
            handle.write(data)
            handle.flush()
            synced = self._fsync(handle)
        if not synced:
            self.fsync_paths([path])

    def remove(self, path: str) -> None:
        """Delete a file; a missing file is not an error."""
        with contextlib.suppress(FileNotFoundError):
            self.sftp.remove(path)

    def makedirs(self, path: str) -> None:
        """Create a folder and its missing parents; an existing folder is fine."""
        missing: list[str] = []
        current = posixpath.normpath(path)
        while True:
            attrs = self.stat(current)
            if attrs is not None:
                if not stat.S_ISDIR(attrs.st_mode):
                    raise FileExistsError(errno.EEXIST, "File exists", current)
                break
            missing.append(current)
            parent = posixpath.dirname(current)
            if parent == current:
                break
            current = parent
        for folder in reversed(missing):
            try:
                self.sftp.mkdir(folder)
            except OSError:
                attrs = self.stat(folder)  # made meanwhile by someone else?
                if attrs is None or not stat.S_ISDIR(attrs.st_mode):
                    raise

    def remove_empty_dir(self, path: str) -> None:
        """Remove a folder if it is empty; missing or not empty is left as it is."""
        with contextlib.suppress(OSError):
            self.sftp.rmdir(path)

    def glob(self, pattern: str) -> list[str] | None:
        """``glob.glob`` of ``FOLDER/WILDCARDS`` or ``FOLDER/WILDCARDS/`` from one listing.

        FOLDER must be absolute and literal (``glob.escape`` escapes allowed);
        as Python's glob, ``*`` skips hidden names and a trailing ``/`` keeps
        folders (symlinks to folders too) and ends each path with ``/``.
        Returns None for any other pattern: the host's Python globs those.
        """
        dironly = pattern.endswith("/") and not pattern.endswith("//")
        folder, _, leaf = (pattern[:-1] if dironly else pattern).rpartition("/")
        literal = unescape(folder) if pattern.startswith("/") else None
        if literal is None or unescape(leaf) is not None:
            return None
        try:
            entries = self.sftp.listdir_attr(literal or "/")
        except OSError:
            return []
        found = []
        for entry in entries:
            name = entry.filename
            if (name.startswith(".") and not leaf.startswith(".")) or not fnmatch.fnmatchcase(
                name, leaf
            ):
                continue
            path = posixpath.join(literal or "/", name)
            if dironly and not self._is_dir(path, entry):
                continue
            found.append(path + "/" if dironly else path)
        return found

    def _is_dir(self, path: str, entry: Any) -> bool:
        if stat.S_ISLNK(entry.st_mode or 0):
            entry = self.stat(path)
        return entry is not None and stat.S_ISDIR(entry.st_mode or 0)

    def _set_mode_and_owner(self, handle: Any, mode: int, old: Any) -> None:
        """Mode, and the old file's owner, in one request, before any data is written.

        Not allowed to give the file away (not root), it stays ours, as locally.
        """
        attrs = paramiko.SFTPAttributes()
        attrs.st_mode = mode
        if old is not None:
            attrs.st_uid, attrs.st_gid = old.st_uid, old.st_gid
        try:
            self.sftp._request(CMD_FSETSTAT, handle.handle, attrs)
        except PermissionError:
            if old is None:
                raise
            handle.chmod(mode)

    def _fsync(self, handle: Any) -> bool:
        """fsync an open file through the OpenSSH extension; False when the server lacks it."""
        if not self.fsync_extension:
            return False
        try:
            self.sftp._request(CMD_EXTENDED, "fsync@openssh.com", handle.handle)
        except OSError as exc:
            if exc.errno is None and "unsupported" in str(exc).lower():
                self.fsync_extension = False
                return False
            raise
        return True


def unescape(part: str) -> str | None:
    """``part`` with ``glob.escape``'s escapes undone, or None when it holds real wildcards."""
    out, i = [], 0
    while i < len(part):
        if part[i : i + 3] in _ESCAPES:
            out.append(_ESCAPES[part[i : i + 3]])
            i += 3
        elif part[i] in "*?[":
            return None
        else:
            out.append(part[i])
            i += 1
    return "".join(out)
