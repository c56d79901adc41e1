"""Mask secrets in text portbook shows or logs: config files, diffs, command lines.

Masked, anywhere in the text (also in unified-diff lines, whose ``+``/``-``/`` `` marker is
looked past):

* in a supervisor ``environment=`` value, including its indented continuation lines, the
  value of every ``KEY=value`` pair whose KEY contains PASS, PASSWORD, PWD, SECRET, TOKEN,
  KEY, AUTH, CREDENTIAL, PRIVATE or DSN (any case): ``DB_PASSWORD="hunter2"`` becomes
  ``DB_PASSWORD="***"``; other pairs (``PATH``, ``PYTHONPATH``) are kept;
* the value of an option line whose own name matches (``password = 123`` in
  ``[inet_http_server]``), up to an inline `` ;``/`` #`` comment;
* the password of a URL: ``postgres://user:pw@host`` becomes ``postgres://user:***@host``.
"""

from __future__ import annotations

import re

__all__ = ["SECRET_KEY", "mask_output", "mask_secrets"]

SECRET_KEY = re.compile(r"PASS|PASSWORD|PWD|SECRET|TOKEN|KEY|AUTH|CREDENTIAL|PRIVATE|DSN", re.I)
"""Matches (anywhere in it) the name of a variable or option whose value is a secret."""

MASK = "***"

_ENV_LINE = re.compile(r"(?P<head>\s*environment\s*[=:])(?P<rest>.*)", re.I | re.S)
_OPTION_LINE = re.compile(
    r"(?P<head>\s*(?P<key>[A-Za-z_][\w.-]*)\s*[=:][ \t]*)(?P<value>.*?)"
    r"(?P<tail>[ \t]+[;#].*|[ \t]*)(?P<end>\r?\n?)",
    re.S,
)
_PAIR = re.compile(
    r"""(?<![^\s,])(?P<key>[A-Za-z_][\w.]*)(?P<eq>\s*=\s*)"""
    r"""(?P<value>"(?:[^"\\\n]|\\.)*"?|'[^'\n]*'?|[^\s,]*)"""
)
_URL_PASSWORD = re.compile(r"""(?P<head>\b[A-Za-z][\w+.-]*://[^\s:/@"']*:)[^\s/@"']+(?=@)""")


def _mask_value(value: str) -> str:
    """``value`` masked, keeping its quotes; empty values are left as they are."""
    quote = value[:1] if value[:1] in ("'", '"') else ""
    inner = value[len(quote) :]
    closed = quote and inner.endswith(quote)
    if not (inner[:-1] if closed else inner):
        return value
    return f"{quote}{MASK}{quote if closed else ''}"


def _mask_pairs(text: str) -> str:
    """Mask the secret ``KEY=value`` pairs of an ``environment=`` value (or continuation)."""

    def one(match: re.Match[str]) -> str:
        if not SECRET_KEY.search(match.group("key")):
            return match.group(0)
        return match.group("key") + match.group("eq") + _mask_value(match.group("value"))

    return _PAIR.sub(one, text)


def mask_secrets(text: str) -> str:
    """``text`` with secret values replaced by ``***`` (see the module docstring)."""
    out: list[str] = []
    in_environment = False
    for line in re.findall(r"[^\n]*\n|[^\n]+", text):
        marker = line[:1] if line[:1] in ("+", "-") and not line.startswith(("+++", "---")) else ""
        body = line[len(marker) :]
        env = _ENV_LINE.fullmatch(body)
        if env:
            in_environment = True
            body = env.group("head") + _mask_pairs(env.group("rest"))
        elif in_environment and (not body.strip() or body[:1] in (" ", "\t")):
            body = _mask_pairs(body)  # a continuation line of the environment= value
        else:
            in_environment = False
            option = _OPTION_LINE.fullmatch(body)
            if option and SECRET_KEY.search(option.group("key")) and option.group("value"):
                body = option.group("head") + MASK + option.group("tail") + option.group("end")
        out.append(marker + _URL_PASSWORD.sub(lambda m: m.group("head") + MASK, body))
    return "".join(out)


def mask_output(text: str) -> str:
    """A program's own output (a log tail) masked: also every secret ``KEY=value`` pair in it.

    A program may print its environment or a connection string anywhere in a line,
    not only in an ``environment=`` line, so every line is masked as one.
    """
    return "".join(_mask_pairs(line) for line in re.findall(r"[^\n]*\n|[^\n]+", mask_secrets(text)))
