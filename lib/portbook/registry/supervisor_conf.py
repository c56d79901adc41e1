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
  sections and ``[DEFAULT]``. Those decisions are all made here (in :mod:`.supervisor_lex`),
  not by configobj.
* configobj then reads the values (:mod:`.supervisor_values`) from a sanitised
  per-section text the layer builds (``key = '''line1`` / ``line2'''``): it parses that
  text and joins continuation lines. By then every decision where configobj and
  supervisor disagree has been made, so its part in reading is small. A key or value it
  cannot express (a value holding both ``'''`` and ``\"\"\"``) is taken from the lexer
  directly.
* New sections are built by configobj (:mod:`.supervisor_program`,
  ``ConfigObj(list_values=False, interpolation=False)``); the layer turns its
  ``key = value`` into ``key=value`` and keeps values raw (supervisor has no quoting),
  then reads the section back to prove supervisor will see the given values.
* In-place edits (``set_program_options``, ``rename_program``) are line edits of the raw
  lines (:mod:`.supervisor_edit`); the new text is re-read whole and adopted only if the
  edited section reads as intended and every other section reads as before.
* Lines are split on ``\\n`` only, as ``read_string`` does; a file using bare ``\\r`` line
  ends would be read by supervisor (universal newlines) differently. Not seen in practice.
"""

from __future__ import annotations

from portbook.errors import InvalidInput
from portbook.registry.supervisor_edit import (
    LOG_KEYS,
    append_options,
    rename_section,
    renamed_log_value,
    set_value,
)
from portbook.registry.supervisor_lex import DEFAULT as _DEFAULT
from portbook.registry.supervisor_lex import lex, split_lines
from portbook.registry.supervisor_program import (
    check_options,
    check_program_name,
    first_difference,
    render_program,
)
from portbook.registry.supervisor_validate import validate
from portbook.registry.supervisor_values import read_values

__all__ = ["SupervisorConf", "render_program", "validate"]

_GROUP_PREFIXES = ("program:", "fcgi-program:", "eventlistener:", "group:")


class SupervisorConf:
    """Round-tripping view of one supervisord config file."""

    path: str

    def __init__(self, text: str, path: str) -> None:
        """Lex ``text`` (the file at ``path``); use :meth:`parse`. Raises ParseError."""
        self.path = path
        self._lines = split_lines(text)
        lexed = lex(self._lines, path)
        self._headers, self._sections = lexed.headers, lexed.sections

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
        values = read_values(self._sections.get(_DEFAULT, {}))
        if name != _DEFAULT:
            values.update(read_values(self._sections[name]))
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

    def _replace(
        self,
        lines: list[str],
        touched: tuple[str, ...],
        expected: dict[str, dict[str, str]] | None = None,
    ) -> None:
        """Adopt ``lines`` if every section not ``touched`` reads as before, and each section
        in ``expected`` has exactly those own options (DEFAULT not merged); else InvalidInput.
        """
        after = SupervisorConf("".join(lines), self.path)
        names = set(self.section_names()) | set(after.section_names())
        for name in sorted(names - set(touched)):
            same = name in self._sections and name in after._sections
            if not same or self.section(name) != after.section(name):
                raise InvalidInput(f"{self.path}: editing [{touched[0]}] would change [{name}]")
        for name, want in (expected or {}).items():
            got = read_values(after._sections.get(name, {}))
            if got != want:
                bad = first_difference(want, got, "options")
                why = "supervisor would not read this value as given"
                raise InvalidInput(f"{self.path}: [{name}] {bad}: {why}")
        self._lines, self._headers, self._sections = after._lines, after._headers, after._sections

    def _refuse_existing_group(self, name: str) -> None:
        """InvalidInput naming the header if any group kind already uses ``name``."""
        for index, section in self._headers:
            kind, _, group = section.partition(":")
            if f"{kind}:" in _GROUP_PREFIXES and group == name:
                where = f"{self.path}:{index + 1}"
                raise InvalidInput(f"{where}: a group named {name!r} already exists ([{section}])")

    def add_program(self, name: str, options: dict[str, str]) -> None:
        """Append ``[program:NAME]`` after one blank line; InvalidInput if group NAME exists."""
        block = render_program(name, options)
        self._refuse_existing_group(name)
        terminated = [line for line in self._lines if line.endswith("\n")]
        ending = "\r\n" if terminated and terminated[0].endswith("\r\n") else "\n"
        lines = list(self._lines)
        unterminated = bool(lines) and not lines[-1].endswith("\n")
        if unterminated:
            lines[-1] += ending
        new = [ending] + [line[:-1] + ending for line in split_lines(block)]
        if unterminated:
            new[-1] = new[-1][: -len(ending)]
        self._replace(lines + new, (f"program:{name}",))

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
        self._replace(lines, (section,))

    def set_program_options(self, name: str, options: dict[str, str]) -> None:
        """Set each of ``options`` in ``[program:NAME]`` in place; append the absent ones.

        A present key (any case; the occurrence supervisor reads) keeps its line: only the
        value's bytes change, with the line's indentation, delimiter style and inline comment
        kept; a value continued on indented lines becomes that single key line. Absent keys
        are appended, ``key=value`` style as the section's last option writes it, after the
        section's last option and before its trailing blank/comment lines. No key is removed.

        InvalidInput if there is no such program, if a key or value breaks the rules of
        :func:`render_program`, if supervisor would read any value otherwise than given, or if
        the edit would change how any other section reads; nothing changes then.
        """
        section = f"program:{name}"
        if section not in self._sections:
            raise InvalidInput(f"{self.path}: no [{section}] section to edit")
        check_options(section, options)
        lines, absent = list(self._lines), dict[str, str]()
        for key, value in options.items():
            edited = set_value(lines, self.path, section, key, value)
            if edited is None:
                absent[key] = value
            else:
                lines = edited
        lines = append_options(lines, self.path, section, absent)
        want = read_values(self._sections[section])
        want.update((key.lower(), value) for key, value in options.items())
        self._replace(lines, (section,), {section: want})

    def rename_program(self, old: str, new: str) -> None:
        """Rename ``[program:OLD]`` (every occurrence) to ``[program:NEW]``, in place.

        Only the header's name changes (text after ``]``, e.g. a comment, stays), and in the
        section the ``stdout_logfile``/``stderr_logfile`` values where OLD is a path component
        or the file's stem (``logs/old.err.log`` -> ``logs/new.err.log``); values using
        ``%(program_name)s`` follow the rename by themselves and stay as written.

        InvalidInput if there is no ``[program:OLD]``, if NEW is not a valid program name or
        is already the name of any group (program, fcgi-program, eventlistener, group), or if
        a ``[group:X]`` lists OLD in ``programs=`` (groups are not edited, and supervisor
        would reject the file naming an unknown program).
        """
        old_section, new_section = f"program:{old}", f"program:{new}"
        if old_section not in self._sections:
            raise InvalidInput(f"{self.path}: no [{old_section}] section to rename")
        check_program_name(new)
        self._refuse_existing_group(new)
        for index, section in self._headers:
            listed = self.section(section).get("programs", "") if section[:6] == "group:" else ""
            if old in [program.strip() for program in listed.split(",")]:
                why = "groups are not renamed; edit its programs= by hand"
                raise InvalidInput(f"{self.path}:{index + 1}: [{section}] lists {old!r}: {why}")
        lines = rename_section(self._lines, self.path, old, new)
        want = {
            key: renamed_log_value(value, old, new) if key in LOG_KEYS else value
            for key, value in read_values(self._sections[old_section]).items()
        }
        self._replace(lines, (old_section, new_section), {new_section: want})
