"""Host variables of the inventory: each name with the function that validates and converts it.

A validator returns the converted value or raises ``ValueError`` with the reason;
the inventory reader turns that into a one-line error naming file, host and key.
"""

from __future__ import annotations

import os
import posixpath
import re
from collections.abc import Callable, Mapping
from typing import Any

from portbook.config import DEFAULTS

__all__ = ["HOST_VARIABLES", "show"]

_ADDRESS = re.compile(r"[A-Za-z0-9_.:-]{1,253}")
_USER = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]{0,31}")
_SETTINGS = {key: value for key, value in DEFAULTS.items() if key != "root"}


def show(value: Any) -> str:
    """A value for an error message, cut at 60 characters."""
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _bad(reason: str, value: Any) -> ValueError:
    return ValueError(f"{reason}, got {show(value)}")


def _text(value: Any) -> str:
    if not isinstance(value, str) or not value:
        raise _bad("must be a non-empty string", value)
    if "\0" in value or "\n" in value or "\r" in value:
        raise _bad("must not contain NUL or a line break", value)
    return value


def _address(value: Any) -> str:
    if not isinstance(value, str) or not _ADDRESS.fullmatch(value) or value[0] == "-":
        raise _bad("must be a hostname or IP address", value)
    return value


def _port(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 65535:
        raise _bad("must be an integer 1-65535", value)
    return value


def _user(value: Any) -> str:
    if not isinstance(value, str) or not _USER.fullmatch(value):
        raise _bad("must be a user name (a letter or '_', then letters, digits, '_.-')", value)
    return value


def _file(value: Any) -> str:
    return os.path.expanduser(_text(value))


def _root(value: Any) -> str:
    if not _text(value).startswith("/"):
        raise _bad("must be an absolute path", value)
    return posixpath.normpath(str(value))


def _flag(value: Any) -> bool:
    if not isinstance(value, bool):
        raise _bad("must be true or false", value)
    return value


def _overrides(value: Any) -> dict[str, Any]:
    if not isinstance(value, Mapping):
        raise _bad("must be a mapping of portbook settings", value)
    for key, item in value.items():
        if key not in _SETTINGS:
            known = ", ".join(sorted(_SETTINGS))
            raise ValueError(f"has unknown setting {show(key)} (known: {known})")
        default = _SETTINGS[key]
        number = isinstance(item, int | float) and not isinstance(item, bool)
        if not (number if isinstance(default, float) else isinstance(item, type(default))):
            kind = {float: "a number", list: "a list", dict: "a mapping"}.get(type(default))
            raise _bad(f"setting {key!r} must be {kind or 'a string'}", item)
    return dict(value)


HOST_VARIABLES: dict[str, Callable[[Any], Any]] = {
    "address": _address,
    "port": _port,
    "user": _user,
    "key": _file,
    "known_hosts": _file,
    "root": _root,
    "python": _text,
    "remote_python": _text,
    "accept_new_keys": _flag,
    "portbook": _overrides,
}
"""The native host variables, each with the function that validates and converts it."""
