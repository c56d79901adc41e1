"""The one exception tree of portbook, and the exit code each branch maps to.

::

    PortbookError                 any failure portbook reports; ``code`` is the exit code
    ├── Refused            (2)    bad input or a conflict, found before anything changed
    │   ├── InvalidInput          a name, port or option the operator gave is unusable
    │   ├── PortConflict          the port is taken (registry or a live listener)
    │   ├── ParseError            a managed file cannot be read as it must be (file:line:col)
    │   ├── Locked                another portbook run holds the root's lock
    │   └── CollateralChange      applying would touch supervisor programs other than NAME
    ├── StepFailed         (1)    a step failed; the runner rolled everything back
    │   └── DemoStartFailed       a demo program did not come up (sim.demo; log path and tail)
    ├── RollbackIncomplete (3)    undo itself failed; the journal is kept for a human
    └── TargetError        (1)    the host seam failed (I/O, a command, XML-RPC), translated once
        ├── SupervisorFault       supervisord answered XML-RPC with a fault (target.base)
        └── HostUnavailable       this machine cannot build a namespace host (sim.hosts)

Three exceptions are signals inside one module, never raised past it, and so
outside the tree: ``Fail`` (target.ssh_remote, which runs alone on the host
without portbook) and ``RemoteError`` (target.ssh_exec) both become a
TargetError naming the host at the SSH seam; ``_Rejected``
(registry.supervisor_validate) becomes a ParseError.

Every message is one line meant for the operator: it names the file, line,
value or process concerned. ``PortbookError`` keeps it so: a newline or other
control character in it (a foreign process started as ``python3 -c "...\n..."``)
is shown escaped (``\n``), see :func:`one_line`.
"""

from __future__ import annotations

import unicodedata

__all__ = [
    "CollateralChange",
    "InvalidInput",
    "Locked",
    "ParseError",
    "PortConflict",
    "PortbookError",
    "Refused",
    "RollbackIncomplete",
    "StepFailed",
    "TargetError",
    "one_line",
]

_ESCAPES = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def one_line(text: str) -> str:
    """``text`` on one line: newlines, tabs and other control characters escaped
    (``\\n``, ``\\t``, ``\\x1b``), trailing whitespace dropped; printable text unchanged."""
    return "".join(_escape(ch) for ch in text.rstrip())


def _escape(ch: str) -> str:
    if ch in _ESCAPES:
        return _ESCAPES[ch]
    if unicodedata.category(ch) in ("Cc", "Zl", "Zp"):
        return f"\\x{ord(ch):02x}" if ord(ch) < 0x100 else f"\\u{ord(ch):04x}"
    return ch


class PortbookError(Exception):
    """Base of every error portbook reports; ``code`` is the process exit code."""

    code = 1

    def __init__(self, message: str) -> None:
        message = one_line(message)
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class Refused(PortbookError):
    """Refused before any change: the operator's input or the system's state forbids it."""

    code = 2


class InvalidInput(Refused):
    """A value the operator gave (name, port, path, option) is not acceptable."""


class PortConflict(Refused):
    """The requested port is already used by the registry or by a live process."""


class ParseError(Refused):
    """A managed file cannot be parsed; the message carries ``file:line[:col]``."""

    def __init__(self, path: str, line: int | None, message: str, col: int | None = None) -> None:
        where = path if line is None else f"{path}:{line}" + (f":{col}" if col else "")
        super().__init__(f"{where}: {message}")
        self.path = path
        self.line = line
        self.col = col


class Locked(Refused):
    """Another portbook run holds the lock on this root."""


class CollateralChange(Refused):
    """Applying the change would add, change or remove supervisor groups other than NAME."""


class StepFailed(PortbookError):
    """A step failed while applying; everything done so far was undone."""

    code = 1


class RollbackIncomplete(PortbookError):
    """Undo failed part-way; the journal is kept and a human must finish the rollback."""

    code = 3


class TargetError(PortbookError):
    """A host operation failed (file I/O, a command, XML-RPC); translated at the seam."""

    code = 1
