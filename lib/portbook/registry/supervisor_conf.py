"""Round-tripping view of a supervisord config file.

What configobj can and cannot do here, and what this layer does instead:

* configobj cannot *read* real supervisor files. It only knows ``#`` comments, cuts values
  at any ``#``, keeps inline `` ;`` comments inside values, rejects ``;`` comment lines,
  comments after ``[headers]``, indented continuation lines, ``key:value`` delimiters and
  duplicate keys/sections; and it re-formats every line it writes.
* So this layer keeps the file as its raw lines (exact bytes, line endings, the preamble
  before the first header) and never asks configobj to write them back. ``render()`` is the
  concatenation of those lines, so ``parse(x).render() == x`` always.
* The layer lexes each line exactly as supervisor's ``UnhosedConfigParser`` (configparser
  with ``inline_comment_prefixes=(';', '#')``, ``strict=False``, ``empty_lines_in_values``)
  does: its odd inline-comment loop, full-line comments, indentation-based continuation,
  ``=``/``:`` delimiters, lower-cased keys, later duplicates winning, merged duplicate
  sections and ``[DEFAULT]``. Those decisions are all made here, not by configobj.
* configobj then reads the values from a sanitised per-section text the layer builds
  (``key = '''line1`` / ``line2'''``): it parses that text and joins continuation lines.
  By then every decision where configobj and supervisor disagree has been made, so its part
  in reading is small. A key or value it cannot express (a value holding both ``'''`` and
  ``\"\"\"``) is taken from the lexer directly.
* New sections are built by configobj (``ConfigObj(list_values=False, interpolation=False)``);
  the layer turns its ``key = value`` into ``key=value`` and keeps values raw (supervisor has
  no quoting), then reads the section back to prove supervisor will see the given values.
* Lines are split on ``\\n`` only, as ``read_string`` does; a file using bare ``\\r`` line
  ends would be read by supervisor (universal newlines) differently. Not seen in practice.
"""

from __future__ import annotations

import configparser
import re

from configobj import ConfigObj

from portbook.errors import InvalidInput, ParseError
from portbook.registry.supervisor_validate import validate

__all__ = ["SupervisorConf", "render_program", "validate"]

_SECTCRE = configparser.RawConfigParser.SECTCRE
_OPTCRE = configparser.RawConfigParser.OPTCRE
_NONSPACE = re.compile(r"\S")
_DEFAULT = configparser.DEFAULTSECT
_GROUP_PREFIXES = ("program:", "fcgi-program:", "eventlistener:", "group:")
_BAD_NAME = re.compile(r"[\s:/\[\];#]")
_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]*")

_Sections = dict[str, dict[str, list[str]]]


def _split_lines(text: str) -> list[str]:
    """Lines with their terminators, split on ``\\n`` only (as ``read_string`` does)."""
    return re.findall(r"[^\n]*\n|[^\n]+", text)


def _strip_comment(line: str) -> tuple[str, bool]:
    """``line`` cut at its comment and stripped, and whether a comment was cut (configparser)."""
    comment_start: int | None = None
    prefixes = {";": -1, "#": -1}
    while comment_start is None and prefixes:  # configparser's own round-by-round search
        found: dict[str, int] = {}
        for prefix, index in prefixes.items():
            index = line.find(prefix, index + 1)
            if index == -1:
                continue
            found[prefix] = index
            if index == 0 or line[index - 1].isspace():
                comment_start = index if comment_start is None else min(comment_start, index)
        prefixes = found
    if line.strip().startswith(("#", ";")):
        comment_start = 0
    return line[:comment_start].strip(), comment_start is not None


def _lex(lines: list[str], path: str) -> tuple[list[tuple[int, str]], _Sections]:
    """Header positions and raw option parts per section, the way configparser reads them."""
    headers: list[tuple[int, str]] = []
    sections: _Sections = {}
    cursect: dict[str, list[str]] | None = None
    optname: str | None = None
    indent_level = 0
    for index, line in enumerate(lines):
        value, commented = _strip_comment(line)
        if not value:
            if not commented and cursect is not None and optname:
                cursect[optname].append("")
            continue
        first = _NONSPACE.search(line)
        indent = first.start() if first else 0
        if cursect is not None and optname and indent > indent_level:
            cursect[optname].append(value)
            continue
        indent_level = indent
        header = _SECTCRE.match(value)
        if header:
            name = header.group("header")
            cursect = sections.setdefault(name, {})
            headers.append((index, name))
            optname = None
            continue
        if cursect is None:
            raise ParseError(path, index + 1, f"text before the first [section]: {line.rstrip()!r}")
        option = _OPTCRE.match(value)
        if option is None or not option.group("option"):
            why = "not a key=value, comment or continuation line"
            raise ParseError(path, index + 1, f"{why}: {line.rstrip()!r}")
        optname = option.group("option").rstrip().lower()
        cursect[optname] = [option.group("value").strip()]
    return headers, sections


def _configobj_key(key: str) -> str | None:
    """``key`` as configobj must see it, or None if configobj cannot represent it."""
    if key[0] not in "'\"[":
        return key
    quote = next((q for q in "\"'" if q not in key), None)
    return None if quote is None else f"{quote}{key}{quote}"


def _read_values(options: dict[str, list[str]]) -> dict[str, str]:
    """Values of one section, read by configobj from a sanitised ``key = '''...'''`` text."""
    lines = ["[s]"]
    joined: dict[str, str] = {}
    for key, raw_parts in options.items():
        parts = list(raw_parts)
        while len(parts) > 1 and not parts[-1]:
            parts.pop()  # configparser rstrips the joined value
        joined[key] = "\n".join(parts)
        quote = next((q for q in ("'''", '"""') if q not in joined[key]), None)
        written_key = _configobj_key(key)
        if quote is None or written_key is None:
            continue  # configobj cannot express it: the lexer's value stands
        parts[0] = f"{written_key} = {quote}{parts[0]}"
        parts[-1] += quote
        lines.extend(parts)
    read = ConfigObj(lines, list_values=False, interpolation=False)["s"]
    return {key: read.get(key, value) for key, value in joined.items()}


def _check_program(name: str, options: dict[str, str]) -> None:
    """Refuse a program name or option that supervisor could not read back as given."""
    if not name or _BAD_NAME.search(name):
        raise InvalidInput(f"invalid program name {name!r}: use no whitespace or : / [ ] ; #")
    for key, value in options.items():
        if not _KEY.fullmatch(key):
            raise InvalidInput(f"[program:{name}]: invalid option name {key!r}")
        if "\n" in value or "\r" in value:
            raise InvalidInput(f"[program:{name}] {key}: a value cannot contain a line break")
    if len({key.lower() for key in options}) != len(options):
        raise InvalidInput(f"[program:{name}]: option names repeat (supervisor ignores case)")


def render_program(name: str, options: dict[str, str]) -> str:
    """The text of a new ``[program:NAME]`` section (``key=value`` lines, key order kept).

    Built with configobj; raises InvalidInput if supervisor would not read back exactly
    ``options`` (e.g. a value holding an inline `` ;`` comment or edge whitespace).
    """
    _check_program(name, options)
    section = f"program:{name}"
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
    headers, sections = _lex(_split_lines(text), f"[{section}]")
    got = _read_values(sections.get(section, {}))
    want = {key.lower(): value for key, value in options.items()}
    if [n for _, n in headers] != [section] or got != want:
        bad = next((k for k in want if got.get(k) != want[k]), name)
        raise InvalidInput(f"[{section}] {bad}: supervisor would not read this value as given")
    return text


class SupervisorConf:
    """Round-tripping view of one supervisord config file."""

    path: str

    def __init__(self, text: str, path: str) -> None:
        """Lex ``text`` (the file at ``path``); use :meth:`parse`. Raises ParseError."""
        self.path = path
        self._lines = _split_lines(text)
        self._headers, self._sections = _lex(self._lines, path)

    @classmethod
    def parse(cls, text: str, path: str) -> SupervisorConf:
        """Parse ``text``; raises ParseError(path, line, ...) on a line supervisor cannot place."""
        return cls(text, path)

    def render(self) -> str:
        """The file text: the input byte for byte, plus or minus whole added/removed sections."""
        return "".join(self._lines)

    def section_names(self) -> list[str]:
        """Section names as written, first appearance order, no duplicates and no DEFAULT."""
        return [name for name in self._sections if name != _DEFAULT]

    def group_names(self) -> list[str]:
        """Names X of every ``program:X``, ``fcgi-program:X``, ``eventlistener:X``, ``group:X``."""
        names: list[str] = []
        for section in self.section_names():
            kind, sep, name = section.partition(":")
            if sep and f"{kind}:" in _GROUP_PREFIXES and name not in names:
                names.append(name)
        return names

    def section(self, name: str) -> dict[str, str]:
        """``{key: raw value}`` of a section as supervisor reads it (DEFAULT merged in).

        Raises KeyError if there is no such section.
        """
        if name not in self._sections and name != _DEFAULT:
            raise KeyError(name)
        values = _read_values(self._sections.get(_DEFAULT, {}))
        if name != _DEFAULT:
            values.update(_read_values(self._sections[name]))
        return values

    def programs(self) -> dict[str, dict[str, str]]:
        """``{X: section("program:X")}`` for every ``[program:X]``."""
        return {
            name.partition(":")[2]: self.section(name)
            for name in self.section_names()
            if name.startswith("program:")
        }

    def include_patterns(self) -> list[str]:
        """``[include] files=`` split on whitespace, unexpanded; [] without [include]."""
        if "include" not in self._sections:
            return []
        return self.section("include").get("files", "").split()

    def _replace(self, lines: list[str], touched: str) -> None:
        """Adopt ``lines`` if every section other than ``touched`` reads the same as before."""
        after = SupervisorConf("".join(lines), self.path)
        names = set(self.section_names()) | set(after.section_names())
        for name in sorted(names - {touched}):
            same = name in self._sections and name in after._sections
            if not same or self.section(name) != after.section(name):
                raise InvalidInput(f"{self.path}: editing [{touched}] would change [{name}]")
        self._lines, self._headers, self._sections = after._lines, after._headers, after._sections

    def add_program(self, name: str, options: dict[str, str]) -> None:
        """Append ``[program:NAME]`` after one blank line; InvalidInput if group NAME exists."""
        block = render_program(name, options)
        for index, section in self._headers:
            kind, _, group = section.partition(":")
            if f"{kind}:" in _GROUP_PREFIXES and group == name:
                where = f"{self.path}:{index + 1}"
                raise InvalidInput(f"{where}: a group named {name!r} already exists ([{section}])")
        terminated = [line for line in self._lines if line.endswith("\n")]
        ending = "\r\n" if terminated and terminated[0].endswith("\r\n") else "\n"
        lines = list(self._lines)
        unterminated = bool(lines) and not lines[-1].endswith("\n")
        if unterminated:
            lines[-1] += ending
        new = [ending] + [line[:-1] + ending for line in _split_lines(block)]
        if unterminated:
            new[-1] = new[-1][: -len(ending)]
        self._replace(lines + new, f"program:{name}")

    def remove_program(self, name: str) -> None:
        """Delete every ``[program:NAME]`` section; InvalidInput if there is none.

        A section that ends the file also takes one blank line before it, and if it had no
        final line terminator the new last line loses its terminator: this undoes add_program.
        """
        section = f"program:{name}"
        if section not in self._sections:
            raise InvalidInput(f"{self.path}: no [{section}] section to remove")
        lines = list(self._lines)
        starts = [index for index, _ in self._headers] + [len(lines)]
        for k in reversed(range(len(self._headers))):  # back to front: earlier indices hold
            if self._headers[k][1] != section:
                continue
            start, end = starts[k], min(starts[k + 1], len(lines))
            ends_file, unterminated = end == len(lines), not lines[end - 1].endswith("\n")
            del lines[start:end]
            if ends_file:
                if start and not lines[start - 1].strip():
                    del lines[start - 1]
                if unterminated and lines:
                    lines[-1] = lines[-1][: -2 if lines[-1].endswith("\r\n") else -1]
        self._replace(lines, section)
