"""Lexing of supervisord config lines exactly as supervisor's ``UnhosedConfigParser`` reads them.

Used by :mod:`portbook.registry.supervisor_conf` (reading) and
:mod:`portbook.registry.supervisor_edit` (in-place edits). Besides what configparser keeps
(header names and raw option parts), :func:`lex` records where each option sits: the line of
its key and the last line that added text to its value, so an edit can replace just that
logical line.
"""

from __future__ import annotations

import configparser
import re
from dataclasses import dataclass

from portbook.errors import ParseError

__all__ = [
    "DEFAULT",
    "OPTCRE",
    "SECTCRE",
    "Lexed",
    "OptionLines",
    "comment_start",
    "ending",
    "lex",
    "split_lines",
    "strip_comment",
]

SECTCRE = configparser.RawConfigParser.SECTCRE
OPTCRE = configparser.RawConfigParser.OPTCRE
DEFAULT = configparser.DEFAULTSECT
_NONSPACE = re.compile(r"\S")

Sections = dict[str, dict[str, list[str]]]


@dataclass
class OptionLines:
    """One ``key = value`` as written: its section, lower-cased key and 0-based line span.

    ``first`` is the key line; ``last`` the last line that added non-empty text to the value
    (``first`` for a single-line value). Blank and comment lines after ``last`` are not in it.
    """

    section: str
    key: str
    first: int
    last: int


@dataclass
class Lexed:
    """What :func:`lex` found: headers ``(line index, name)``, raw parts, option spans."""

    headers: list[tuple[int, str]]
    sections: Sections
    options: list[OptionLines]


def split_lines(text: str) -> list[str]:
    """Lines with their terminators, split on ``\\n`` only (as ``read_string`` does)."""
    return re.findall(r"[^\n]*\n|[^\n]+", text)


def ending(line: str) -> str:
    """The terminator of ``line``: ``\\r\\n``, ``\\n`` or ``""``."""
    if line.endswith("\r\n"):
        return "\r\n"
    return "\n" if line.endswith("\n") else ""


def comment_start(line: str) -> int | None:
    """Index where configparser cuts ``line`` as a comment, or None (its own search)."""
    start: int | None = None
    prefixes = {";": -1, "#": -1}
    while start is None and prefixes:  # configparser's own round-by-round search
        found: dict[str, int] = {}
        for prefix, index in prefixes.items():
            index = line.find(prefix, index + 1)
            if index == -1:
                continue
            found[prefix] = index
            if index == 0 or line[index - 1].isspace():
                start = index if start is None else min(start, index)
        prefixes = found
    if line.strip().startswith(("#", ";")):
        start = 0
    return start


def strip_comment(line: str) -> tuple[str, bool]:
    """``line`` cut at its comment and stripped, and whether a comment was cut (configparser)."""
    start = comment_start(line)
    return line[:start].strip(), start is not None


def lex(lines: list[str], path: str) -> Lexed:
    """Headers, raw option parts per section and option spans, as configparser reads them."""
    out = Lexed([], {}, [])
    cursect: dict[str, list[str]] | None = None
    sectname = ""
    optname: str | None = None
    indent_level = 0
    for index, line in enumerate(lines):
        value, commented = strip_comment(line)
        if not value:
            if not commented and cursect is not None and optname:
                cursect[optname].append("")
            continue
        first = _NONSPACE.search(line)
        indent = first.start() if first else 0
        if cursect is not None and optname and indent > indent_level:
            cursect[optname].append(value)
            out.options[-1].last = index
            continue
        indent_level = indent
        header = SECTCRE.match(value)
        if header:
            sectname = header.group("header")
            cursect = out.sections.setdefault(sectname, {})
            out.headers.append((index, sectname))
            optname = None
            continue
        if cursect is None:
            raise ParseError(path, index + 1, f"text before the first [section]: {line.rstrip()!r}")
        option = OPTCRE.match(value)
        if option is None or not option.group("option"):
            why = "not a key=value, comment or continuation line"
            raise ParseError(path, index + 1, f"{why}: {line.rstrip()!r}")
        optname = option.group("option").rstrip().lower()
        cursect[optname] = [option.group("value").strip()]
        out.options.append(OptionLines(sectname, optname, index, index))
    return out
