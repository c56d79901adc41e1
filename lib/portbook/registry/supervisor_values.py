"""A lexed supervisord section's values, read by configobj (see :mod:`.supervisor_conf`).

The lexer (:mod:`.supervisor_lex`) has made every decision where configobj and supervisor
disagree; configobj then reads the values from a sanitised ``key = '''...'''`` text and
joins continuation lines. A value configobj cannot express keeps the lexer's value.
"""

from __future__ import annotations

from configobj import ConfigObj

__all__ = ["read_values"]


def _configobj_key(key: str) -> str | None:
    """``key`` as configobj must see it, or None if configobj cannot represent it."""
    if key[0] not in "'\"[":
        return key
    quote = next((q for q in "\"'" if q not in key), None)
    return None if quote is None else f"{quote}{key}{quote}"


def read_values(options: dict[str, list[str]]) -> dict[str, str]:
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
