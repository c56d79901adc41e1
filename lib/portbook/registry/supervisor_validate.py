"""Check a supervisord config text with supervisor's own parser, without touching the host.

``validate(text, path)`` runs ``supervisor.options.ServerOptions().realize(['-c', path])`` with
the file's bytes served from memory (``ServerOptions.exists``/``open`` are overridden on the
one instance), so supervisor itself computes ``here = dirname(abspath(path))`` and names
``path`` in its messages, and nothing is written anywhere.

Leniency, as in the corpus checker (``shared/corpus/tools/check.py``): host-specific checks
are stubbed (existing directories, user/group names, importable plugins), each
``%(ENV_X)s`` the text uses and the environment lacks gets a plausible stand-in, and a
program-only file (no ``[supervisord]``) gets an empty ``[supervisord]`` appended, which keeps
its line numbers. ``[include]`` patterns are expanded (bad ``%(...)s`` fails) but match no
file: the text is judged alone. Every patch, and ``os.environ``, is restored afterwards;
a lock serialises calls because the patches are process-global.
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import threading
import types
from collections.abc import Callable, Iterator
from typing import Any

from portbook.errors import ParseError

__all__ = ["validate"]

_LOCK = threading.Lock()
_NUMERIC = re.compile(
    r"numprocs|priority|secs|retries|backups|minfds|minprocs|port|bytes|buffer_size"
)
_BOOLEAN = re.compile(r"^auto|nodaemon|redirect|enabled|asgroup|strip_ansi|silent|nocleanup")


class _Rejected(Exception):
    """supervisor called ``usage()``: it rejects the configuration."""


def _stand_ins(text: str) -> dict[str, str]:
    """A type-plausible value for every ``%(ENV_X)s`` in ``text``, from the option it is in."""
    out: dict[str, str] = {}
    for line in text.splitlines():
        match = re.match(r"\s*([^=:;#\s][^=:]*?)\s*[=:]", line)
        key = match.group(1).strip().lower() if match else ""
        for var in re.findall(r"%\(ENV_(\w+)\)", line):
            if key == "umask":
                value = "022"
            elif _NUMERIC.search(key):
                value = "1"
            elif key == "loglevel":
                value = "info"
            elif _BOOLEAN.search(key):
                value = "true"
            elif key == "user":
                value = "root"
            else:
                value = f"dummy_{var.lower()}"
            out.setdefault(var, value)
    return out


@contextlib.contextmanager
def _lenient(text: str) -> Iterator[None]:
    """Stub supervisor's host checks and fill missing ENV_ variables; undo it all on exit."""
    from supervisor import datatypes, options

    saved: list[tuple[Any, str, Any]] = []

    def patch(module: Any, name: str, value: Any) -> None:
        saved.append((module, name, getattr(module, name)))
        setattr(module, name, value)

    real_import_spec: Callable[[str], Any] = options.import_spec

    def import_spec(spec: str) -> Any:
        try:
            return real_import_spec(spec)
        except Exception:
            return lambda *args, **kwargs: None

    environ = dict(os.environ)
    try:
        for module in (options, datatypes):
            patch(module, "existing_dirpath", lambda value: value)
            patch(module, "existing_directory", lambda value: value)
            patch(module, "name_to_uid", lambda name: 0)
            patch(module, "gid_for_uid", lambda uid: 0)
        patch(datatypes, "name_to_gid", lambda name: 0)
        patch(options, "import_spec", import_spec)
        patch(options, "glob", types.SimpleNamespace(glob=lambda pattern: []))
        for var, value in _stand_ins(text).items():
            os.environ.setdefault(var, value)
        yield
    finally:
        for module, name, value in reversed(saved):
            setattr(module, name, value)
        os.environ.clear()
        os.environ.update(environ)


def _located(message: str, text: str) -> tuple[int | None, str]:
    """The line supervisor's message points at (or the named section's header) and its text."""
    bad_line = re.search(r"\[line\s+(\d+)\]: (.*)", message)
    if bad_line:
        return int(bad_line.group(1)), f"cannot parse line {bad_line.group(2)}"
    first = re.sub(r" \(file: [^)]*\)$", "", message.strip().splitlines()[0])
    first = re.sub(r" Available names: .*?(?= in section '|$)", "", first)
    line = re.search(r"\bline:? (\d+)", message)
    if line:
        return int(line.group(1)), first
    section = re.search(r"in section '([^']*)'", message)
    if section:
        header = re.compile(r"\s*\[" + re.escape(section.group(1)) + r"\]")
        for number, text_line in enumerate(text.split("\n"), start=1):
            if header.match(text_line):
                return number, first
    return None, first


def validate(text: str, path: str) -> None:
    """Run supervisor's own parser on ``text`` as the file at ``path``; ParseError if rejected.

    The error names ``path``, the line when supervisor gives one (or the header of the
    section it names), and supervisor's first message line.
    """
    from supervisor import options

    if not re.search(r"^\s*\[supervisord\]", text, re.M):
        text += "\n[supervisord]\n"  # program-only (conf.d) file: appended, lines unchanged

    def usage(message: object) -> None:
        raise _Rejected(str(message))

    def exists(name: str) -> bool:
        return name == path or os.path.exists(name)

    def open_config(name: str, mode: str = "r") -> Any:
        if name != path:
            return open(name, mode)  # supervisor closes it
        stream = io.StringIO(text)
        stream.name = path  # read by configparser and [include] base
        return stream

    with _LOCK, _lenient(text):
        server = options.ServerOptions()
        server.usage, server.exists, server.open = usage, exists, open_config
        sink = io.StringIO()
        try:
            with contextlib.redirect_stdout(sink), contextlib.redirect_stderr(sink):
                server.realize(["-c", path], doc="")
        except Exception as error:  # supervisor's own rejection, whatever its type
            message = str(error) or type(error).__name__
            line, first = _located(message, text)
            raise ParseError(path, line, f"supervisor rejects it: {first[:300]}") from None
