"""Line-level edits of a supervisord config: set a value in place, append options, rename.

Each function takes the file's lines (with terminators) and returns new lines; every line it
does not name stays as it was, byte for byte. None of them checks how supervisor reads the
result: :class:`~portbook.registry.supervisor_conf.SupervisorConf` re-reads the new text and
refuses it unless the edited section reads as intended and every other section as before.

Layout rules:

* A value is replaced inside its key line: indentation, key spelling, delimiter and its
  spacing (``key=value``, ``key = value``, ``key: value``) and any inline comment stay.
  A value continued on indented lines becomes one line: the continuation lines (and the
  blank or comment lines between them) are dropped with the old value; the key line's own
  inline comment is kept.
* An empty value before an inline comment (``key=   ; note``) takes the new value after the
  delimiter's spacing minus one blank, so the comment still starts after whitespace and
  setting the value back to ``""`` restores the line.
* An appended option goes after the last line of the section's last option (before the
  section's trailing blank and comment lines), with that option's indentation and delimiter
  style (``=``, `` = ``, ``:``), and the line ending of the line it follows.
"""

from __future__ import annotations

from portbook.registry.supervisor_lex import OPTCRE, comment_start, ending, lex

__all__ = ["LOG_KEYS", "append_options", "rename_section", "renamed_log_value", "set_value"]

LOG_KEYS = ("stdout_logfile", "stderr_logfile")
_PROGRAM_NAME = "%(program_name)s"
_SPECIAL = ("auto", "none", "syslog")


def _content(line: str) -> str:
    """``line`` without its terminator."""
    return line[: len(line) - len(ending(line))]


def _key_line(content: str) -> tuple[str, str, int, int]:
    """Indentation, delimiter style and value span ``[start, end)`` of a lexed key line."""
    cut = comment_start(content)
    body = content if cut is None else content[:cut]
    match = OPTCRE.match(body)
    assert match is not None, "not a lexed key line"
    option = match.group("option")
    indent = option[: len(option) - len(option.lstrip())]
    before, _, after = body[match.end("option") : match.start("value")].partition(match.group("vi"))
    delimiter = (" " if before else "") + match.group("vi") + (" " if after else "")
    start = match.start("value")
    end = start + len(match.group("value").rstrip())
    if start == end and cut is not None:
        start = end = cut - 1  # an empty value before a comment: keep one blank before it
    return indent, delimiter, start, end


def set_value(lines: list[str], path: str, section: str, key: str, value: str) -> list[str] | None:
    """``lines`` with the value of ``key`` in ``section`` (the one supervisor reads) set to
    ``value``, or None if the section has no such key (any case)."""
    found = [o for o in lex(lines, path).options if o.section == section and o.key == key.lower()]
    if not found:
        return None
    span = found[-1]  # a later duplicate (also in a repeated section) wins
    content = _content(lines[span.first])
    _, _, start, end = _key_line(content)
    new = content[:start] + value + content[end:] + ending(lines[span.last])
    return [*lines[: span.first], new, *lines[span.last + 1 :]]


def append_options(lines: list[str], path: str, section: str, options: dict[str, str]) -> list[str]:
    """``lines`` with ``key<delimiter>value`` lines added at the end of the body of the last
    ``[section]`` (before its trailing blank and comment lines)."""
    if not options:
        return list(lines)
    lexed = lex(lines, path)
    starts = [index for index, _ in lexed.headers] + [len(lines)]
    k = max(k for k, (_, name) in enumerate(lexed.headers) if name == section)
    own = [o for o in lexed.options if starts[k] < o.first < starts[k + 1]]
    anchor = max((o.last for o in own), default=starts[k])
    indent, delimiter = _key_line(_content(lines[own[-1].first]))[:2] if own else ("", "=")
    out = list(lines)
    term = ending(out[anchor])
    line_end = term or next((ending(line) for line in lines if ending(line)), "\n")
    new = [
        f"{indent}{key}{delimiter if value else delimiter.rstrip()}{value}{line_end}"
        for key, value in options.items()
    ]
    if not term:  # the anchor ends the file unterminated: so does the new last line
        out[anchor] += line_end
        new[-1] = _content(new[-1])
    return [*out[: anchor + 1], *new, *out[anchor + 1 :]]


def renamed_log_value(value: str, old: str, new: str) -> str:
    """``value`` (a log path) with ``old`` replaced by ``new`` where it is a whole path
    component or the stem of the file name (``logs/old.err.log`` -> ``logs/new.err.log``).

    Returned unchanged: a value using ``%(program_name)s`` (it follows the rename by itself),
    spanning several lines, naming a device (``/dev/stdout``) or one of supervisor's special
    values (``AUTO``, ``NONE``, ``syslog``).
    """
    special = value.lower() in _SPECIAL or value.startswith("/dev/")
    if special or _PROGRAM_NAME in value or "\n" in value:
        return value
    parts = value.split("/")
    for index, part in enumerate(parts):
        is_file = index == len(parts) - 1
        if part == old or (is_file and part.startswith(f"{old}.")):
            parts[index] = new + part[len(old) :]
    return "/".join(parts)


def rename_section(lines: list[str], path: str, old: str, new: str) -> list[str]:
    """``lines`` with every ``[program:OLD]`` header naming ``program:NEW`` (text after the
    ``]`` kept) and, in those sections, single-line ``stdout_logfile``/``stderr_logfile``
    values passed through :func:`renamed_log_value`."""
    old_section, new_section = f"program:{old}", f"program:{new}"
    lexed = lex(lines, path)
    out = list(lines)
    for index, name in lexed.headers:
        if name == old_section:
            at = out[index].index("[") + 1
            out[index] = out[index][:at] + new_section + out[index][at + len(old_section) :]
    for option in lexed.options:
        if option.section != old_section or option.key not in LOG_KEYS:
            continue
        if option.first != option.last:
            continue  # a multi-line value is left alone (renamed_log_value skips it too)
        content = _content(out[option.first])
        _, _, start, end = _key_line(content)
        value = renamed_log_value(content[start:end], old, new)
        out[option.first] = content[:start] + value + content[end:] + ending(out[option.first])
    return out
