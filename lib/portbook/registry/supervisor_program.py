"""The text of a new ``[program:NAME]`` section, and the rules its name and options obey."""

from __future__ import annotations

import re

from configobj import ConfigObj

from portbook.errors import InvalidInput
from portbook.registry.supervisor_lex import lex, split_lines
from portbook.registry.supervisor_values import read_values

__all__ = ["check_options", "check_program_name", "first_difference", "render_program"]

_BAD_NAME = re.compile(r"[\s:/\[\];#]")
_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]*")


def check_program_name(name: str) -> None:
    """Refuse a program name supervisor (or its web UI and event protocol) cannot carry."""
    if not name or _BAD_NAME.search(name):
        raise InvalidInput(f"invalid program name {name!r}: use no whitespace or : / [ ] ; #")


def check_options(section: str, options: dict[str, str]) -> None:
    """Refuse option names, line breaks and case-repeated keys no single line can carry."""
    for key, value in options.items():
        if not _KEY.fullmatch(key):
            raise InvalidInput(f"[{section}]: invalid option name {key!r}")
        if "\n" in value or "\r" in value:
            raise InvalidInput(f"[{section}] {key}: a value cannot contain a line break")
    if len({key.lower() for key in options}) != len(options):
        raise InvalidInput(f"[{section}]: option names repeat (supervisor ignores case)")


def first_difference(want: dict[str, str], got: dict[str, str], default: str) -> str:
    """The first key whose value ``got`` does not match ``want`` (``default`` if none)."""
    return next((key for key in want if got.get(key) != want[key]), default)


def render_program(name: str, options: dict[str, str]) -> str:
    """The text of a new ``[program:NAME]`` section (``key=value`` lines, key order kept).

    Built with configobj; raises InvalidInput if supervisor would not read back exactly
    ``options`` (e.g. a value holding an inline `` ;`` comment or edge whitespace).
    """
    section = f"program:{name}"
    check_program_name(name)
    check_options(section, options)
    config = ConfigObj(list_values=False, interpolation=False, write_empty_values=True)
    config[section] = {}
    for key, value in options.items():
        config[section][key] = value
    out: list[str] = []
    for line in config.write():
        key, sep, _written = line.partition(" = ")
        # configobj writes `key = value`; supervisor has no quoting, so the value stays raw.
        out.append(f"{key}={options[key]}" if sep and key in options else line)
    text = "".join(f"{line}\n" for line in out)
    lexed = lex(split_lines(text), f"[{section}]")
    got = read_values(lexed.sections.get(section, {}))
    want = {key.lower(): value for key, value in options.items()}
    if [n for _, n in lexed.headers] != [section] or got != want:
        bad = first_difference(want, got, name)
        raise InvalidInput(f"[{section}] {bad}: supervisor would not read this value as given")
    return text
