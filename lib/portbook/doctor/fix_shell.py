"""Rewrite shell port lists from the manifest: ``PORTS=(3000 4000)`` or ``PORTS="3000 4000"``.

A pure function of script text (no host access). An assignment is a port list when:

* its variable's name contains ``PORT`` (any case) not preceded by a letter (``PORTS``,
  ``SERVICE_PORTS``, ``port_list``; not ``SUPPORTED``);
* it is a bash array ``NAME=(...)`` with at least one element, or a quoted string
  ``NAME="..."`` / ``NAME='...'`` with at least two (``MAIN_PORT="8001"`` is one port,
  not a list); ``export``/``local``/``declare -a`` before it are fine, ``+=`` is not;
* every element is a plain decimal integer (no ``$VAR``, quotes, comments, expansions);
* no ``#`` precedes it on its line (commented-out examples stay as they are).

Such a list is replaced by the manifest's ports in manifest order, each once, keeping the
quoting or array style, the spacing inside the brackets or quotes and the separator between
the first two elements (a multi-line array stays multi-line). Every other byte is kept.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

__all__ = ["ShellPortList", "rewrite_port_lists"]

_ASSIGNMENT = re.compile(
    r"(?<![^\s;])(?P<name>[A-Za-z_][A-Za-z0-9_]*)="
    r"""(?:\((?P<array>[^()]*)\)|"(?P<double>[^"$`\\]*)"|'(?P<single>[^']*)')"""
)
_PORT_NAME = re.compile(r"(?<![A-Za-z])PORT", re.I)
_INTEGER = re.compile(r"[0-9]+")
_GAP = re.compile(r"\s+")


@dataclass(frozen=True)
class ShellPortList:
    """A port list found in a script: its 1-based line, variable, and ports before and after."""

    line: int
    name: str
    old: tuple[int, ...]
    new: tuple[int, ...]


def rewrite_port_lists(text: str, ports: Sequence[int]) -> tuple[str, list[ShellPortList]]:
    """``text`` with every port list set to ``ports`` (deduplicated), and the lists changed."""
    want = tuple(dict.fromkeys(ports))
    out: list[str] = []
    changed: list[ShellPortList] = []
    done = 0
    for match in _ASSIGNMENT.finditer(text):
        kind = next(k for k in ("array", "double", "single") if match.group(k) is not None)
        inner, name = match.group(kind), match.group("name")
        items = inner.split()
        line_start = text.rfind("\n", 0, match.start()) + 1
        if (
            not _PORT_NAME.search(name)
            or "#" in text[line_start : match.start()]
            or len(items) < (1 if kind == "array" else 2)
            or not all(_INTEGER.fullmatch(item) for item in items)
        ):
            continue
        new_inner = _respaced(inner, want)
        if new_inner == inner:
            continue
        start, end = match.span(kind)
        out += [text[done:start], new_inner]
        done = end
        line = text.count("\n", 0, match.start()) + 1
        changed.append(ShellPortList(line, name, tuple(int(item) for item in items), want))
    out.append(text[done:])
    return "".join(out), changed


def _respaced(inner: str, ports: tuple[int, ...]) -> str:
    """``ports`` laid out like ``inner``: same leading/trailing space, same first separator."""
    body = inner.strip()
    lead = inner[: len(inner) - len(inner.lstrip())]
    trail = inner[len(inner.rstrip()) :]
    gap = _GAP.search(body)
    return lead + (gap.group(0) if gap else " ").join(str(port) for port in ports) + trail
