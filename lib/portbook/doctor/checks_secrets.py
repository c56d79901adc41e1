"""Plaintext credentials in supervisord config files. Only the key is ever shown, never a value.

Reported: in any section's ``environment=``, a ``KEY=value`` whose key names a secret
(``portbook.secrets.SECRET_KEY``: PASSWORD, TOKEN, KEY, ...) with a literal, non-empty value
(``%(ENV_X)s`` references are fine), and any value holding a URL with a password
(``postgres://user:pw@host``); outside ``environment=``, an option whose own name names a
secret (``password=`` in ``[inet_http_server]``) with a literal value (``{SHA}`` hashes and
``%(ENV_X)s`` references are fine).
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from portbook.errors import ParseError
from portbook.registry.system import ConfFile, parse_environment
from portbook.secrets import SECRET_KEY

from .checks_base import Check, Context
from .findings import Finding

__all__ = ["SECRETS", "plaintext_secrets"]

_URL_PASSWORD = re.compile(r"\b[A-Za-z][\w+.-]*://[^\s:/@\"']*:[^\s/@\"']+@")
_FIX_ENV = (
    'keep it out of the file: environment={key}="%(ENV_{key})s" with {key} exported to '
    "supervisord, or a file the service reads at start"
)
_FIX_OPTION = "write {key}=%(ENV_X)s with X exported to supervisord, or a {{SHA}} hash"


def _literal(value: str) -> bool:
    return bool(value.strip()) and "%(ENV_" not in value


def plaintext_secrets(options: dict[str, str], path: str) -> list[tuple[str, str]]:
    """``(option, key)`` of each plaintext credential in one section's raw options."""
    found: list[tuple[str, str]] = []
    for option, value in options.items():
        if option == "environment":
            try:
                pairs = parse_environment(value, path)
            except ParseError:
                continue  # supervisor.parse reports it
            for key, val in pairs.items():
                named = SECRET_KEY.search(key) and _literal(val)
                if named or _URL_PASSWORD.search(val):
                    found.append((option, key))
        elif SECRET_KEY.search(option) and _literal(value) and not value.startswith("{SHA}"):
            found.append((option, option))
    return found


def _sections(ctx: Context, conf: ConfFile) -> Iterator[tuple[str, dict[str, str]]]:
    """Each section's options (programs' from the context, already read once)."""
    for name in conf.conf.section_names():
        kind, _, program = name.partition(":")
        known = ctx.programs.get(program) if kind == "program" else None
        yield name, known[1] if known and known[0] is conf else conf.conf.section(name)


def check_secrets(ctx: Context) -> Iterator[Finding]:
    """``secrets.plaintext``: one warning per credential, naming the section and key only."""
    system = ctx.system
    if system is None:
        return
    for conf in system.confs:
        for name, options in _sections(ctx, conf):
            for option, key in plaintext_secrets(options, conf.path):
                where = f"{option}= holds {key}" if option == "environment" else f"{option}="
                yield Finding(
                    "secrets.plaintext",
                    "warning",
                    ctx.conf_place(conf, name, option),
                    f"[{name}] {where} in plain text",
                    (_FIX_ENV if option == "environment" else _FIX_OPTION).format(key=key),
                )


SECRETS = Check(("secrets.plaintext",), False, check_secrets)
