"""Hardcoded ports in shell scripts and JavaScript/TypeScript (pure regex finders + checks).

Comments are blanked first (line numbers kept).

Shell *port lists* are reported one per list, by the rules ``doctor --fix`` rewrites them
by: a variable whose name holds ``PORT`` not preceded by a letter (``PORTS``,
``SERVICE_PORTS``, not ``SUPPORTED``), set to a bash array ``NAME=(...)`` of one or more
plain integers or a quoted string of two or more. A list whose ports are not exactly the
manifest's is an error (stale), one that is a warning (it will go stale). Other shell
numbers: ``PORT=8001``, ``${PORT:-8001}``, ``lsof -i :N``, ``fuser N/tcp``, ``--port N``,
``localhost:N`` (``127.0.0.1``, ``0.0.0.0``), and a registered port in a
``for x in 3000 4000`` list. JavaScript: ``port:``/``port =`` with a number (``apiPort``,
``"port"`` too), ``.listen(N``, ``PORT || N``/``?? N`` and ``localhost:N`` in URLs. For
these, a registered port is an error and any other number a warning.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Iterator
from dataclasses import dataclass

from .checks_base import Check, Context
from .findings import Finding

__all__ = ["HARDCODED_TEXT", "PortList", "TextHit", "js_ports", "shell_port_lists", "shell_ports"]

_HOST = r"(?:localhost|127\.0\.0\.1|0\.0\.0\.0|\[::1\])"
_SH_NAME = r"\b(?:[A-Za-z_]\w*_)?(?:PORTS?|[Pp]orts?)(?:_\w*)?"
_LIST = re.compile(
    r"(?<![^\s;])(?P<name>[A-Za-z_][A-Za-z0-9_]*)="
    r"""(?:\((?P<array>[^()]*)\)|"(?P<double>[^"$`\\]*)"|'(?P<single>[^']*)')"""
)
_LIST_NAME = re.compile(r"(?<![A-Za-z])PORT", re.I)
_SHELL: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(rf"({_SH_NAME})=\(([^)]*)\)"), "in the port array {name}=(...)"),
    (re.compile(rf"({_SH_NAME})=([\"']?[\d ,]+[\"']?)(?=[\s;]|$)", re.M), "assigned to {name}"),
    (re.compile(rf"\$\{{({_SH_NAME}):?-(\d+)\}}"), "the default of ${{{name}}}"),
    (
        re.compile(r"(lsof)\b[^\n;|&]*?-[a-zA-Z]*i\s*(?:tcp|udp|4|6)?(?:@[^\s:]*)?:(\d+)", re.I),
        "in `lsof -i :N`",
    ),
    (re.compile(r"(fuser)\b[^\n;|&]*?\b(\d+)/(?:tcp|udp)"), "in `fuser N/tcp`"),
    (re.compile(r"(--port)[= ]+(\d+)"), "given as --port"),
    (re.compile(rf"({_HOST}):(\d+)"), "in {name}:N"),
)
_SH_FOR = re.compile(r"^[ \t]*for[ \t]+\w+[ \t]+in[ \t]+([\d \t]+?)[ \t]*(?:;|$)", re.M)
_JS_NAME = r"(?<![\w$])((?:\w*(?<!im)(?<!ex)(?<!re)(?<!sup)(?<!trans))[Pp]orts?|PORTS?|\w+_PORTS?)"
_JS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(rf"[\"']?{_JS_NAME}[\"']?\s*[:=]\s*(\d+)\b"), "given as {name}"),
    (re.compile(r"\.(listen)\s*\(\s*(\d+)\b"), "passed to .listen()"),
    (re.compile(r"(?i)(port)\s*(?:\|\||\?\?)\s*(\d+)\b"), "the fallback for a PORT variable"),
    (re.compile(rf"({_HOST}):(\d+)"), "in a URL to {name}:N"),
)
_NUMBER = re.compile(r"\d+")
_FIX = {
    "shell": "read the ports from MASTER_PORT_MANIFEST.json (e.g. with jq), not a literal",
    "js": "take the port from configuration generated from the manifest (seed Rule 1)",
}


@dataclass(frozen=True)
class PortList:
    """A shell port list: 1-based line, variable name and its ports in order."""

    line: int
    name: str
    ports: tuple[int, ...]


@dataclass(frozen=True)
class TextHit:
    """A hardcoded port in a script: 1-based line, value and why it is one."""

    line: int
    value: int
    reason: str


def _blank(text: str, pattern: re.Pattern[str]) -> str:
    """``text`` with every match of ``pattern`` replaced by spaces (newlines kept)."""
    return pattern.sub(lambda m: re.sub(r"[^\n]", " ", m.group(0)), text)


_SH_COMMENT = re.compile(r"(?:^|(?<=\s))#[^\n]*")
_JS_COMMENT = re.compile(r"/\*.*?\*/|(?<![:\"'\w\\])//[^\n]*", re.S)


class _Lines:
    def __init__(self, text: str) -> None:
        self.starts = [m.start() for m in re.finditer("\n", text)]

    def line(self, offset: int) -> int:
        return bisect.bisect_left(self.starts, offset) + 1


def _hits(
    text: str, rules: tuple[tuple[re.Pattern[str], str], ...], lines: _Lines
) -> Iterator[TextHit]:
    for pattern, reason in rules:
        for match in pattern.finditer(text):
            name, values = match.group(1), match.group(2)
            for number in _NUMBER.finditer(values):
                offset = match.start(2) + number.start()
                yield TextHit(lines.line(offset), int(number.group()), reason.format(name=name))


def _unique(hits: Iterator[TextHit]) -> list[TextHit]:
    seen: dict[tuple[int, int], TextHit] = {}
    for hit in hits:
        seen.setdefault((hit.line, hit.value), hit)
    return sorted(seen.values(), key=lambda h: (h.line, h.value))


def _lists(code: str) -> list[tuple[PortList, tuple[int, int]]]:
    found = []
    for match in _LIST.finditer(code):
        kind = next(k for k in ("array", "double", "single") if match.group(k) is not None)
        items = match.group(kind).split()
        if not _LIST_NAME.search(match.group("name")) or len(items) < (kind != "array") + 1:
            continue
        if all(item.isdigit() and item.isascii() for item in items):
            line = code.count("\n", 0, match.start()) + 1
            port_list = PortList(line, match.group("name"), tuple(int(i) for i in items))
            found.append((port_list, match.span()))
    return found


def shell_port_lists(text: str) -> list[PortList]:
    """The port lists of a shell script (see the module docstring), in order."""
    return [port_list for port_list, _ in _lists(_blank(text, _SH_COMMENT))]


def shell_ports(text: str, registry_ports: frozenset[int]) -> list[TextHit]:
    """Hardcoded ports in a shell script outside its port lists (one per line and value)."""
    code = _blank(text, _SH_COMMENT)
    for _, (start, end) in _lists(code):
        code = code[:start] + re.sub(r"[^\n]", " ", code[start:end]) + code[end:]
    lines = _Lines(code)
    hits = list(_hits(code, _SHELL, lines))
    for match in _SH_FOR.finditer(code):
        for number in _NUMBER.finditer(match.group(1)):
            if int(number.group()) in registry_ports:
                line = lines.line(match.start(1) + number.start())
                hits.append(TextHit(line, int(number.group()), "in a for-loop over ports"))
    return _unique(iter(hits))


def js_ports(text: str) -> list[TextHit]:
    """Hardcoded ports in JavaScript/TypeScript, in line order (one per line and value)."""
    code = _blank(text, _JS_COMMENT)
    return _unique(_hits(code, _JS, _Lines(code)))


def _list_findings(ctx: Context, path: str, text: str) -> Iterator[Finding]:
    system = ctx.system
    manifest = {e.port for e in system.services.values()} if system else set()
    for found in shell_port_lists(text):
        place, listed = ctx.place(path, found.line), set(found.ports)
        if listed == manifest:
            yield Finding(
                "hardcoded.shell",
                "warning",
                place,
                f"{found.name}=(...) lists the manifest's {len(listed)} ports by hand: "
                "it goes stale when one changes",
                _FIX["shell"],
            )
            continue
        missing = ", ".join(map(str, sorted(manifest - listed))) or "none"
        extra = ", ".join(map(str, sorted(listed - manifest))) or "none"
        yield Finding(
            "hardcoded.shell",
            "error",
            place,
            f"{found.name}=(...) does not match the manifest: missing {missing}; "
            f"not in the manifest {extra}",
            f"{_FIX['shell']}; or set it to the manifest's ports",
            fixable=bool(manifest),
        )


def check_hardcoded_text(ctx: Context) -> Iterator[Finding]:
    """``hardcoded.shell`` and ``hardcoded.js``: error for a registered port, else warning."""
    ports = ctx.registry_ports
    files = [(p, "shell") for p in ctx.sources.shell] + [(p, "js") for p in ctx.sources.js]
    for path, kind in files:
        text = ctx.read_text(path)
        if text is None:
            continue
        if kind == "shell":
            yield from _list_findings(ctx, path, text)
        hits = shell_ports(text, ports) if kind == "shell" else js_ports(text)
        for hit in hits:
            registered = hit.value in ports
            what = "a registered port" if registered else "a port"
            yield Finding(
                f"hardcoded.{kind}",
                "error" if registered else "warning",
                ctx.place(path, hit.line),
                f"hardcoded {what} {hit.value}: {hit.reason}",
                _FIX[kind],
            )


HARDCODED_TEXT = Check(("hardcoded.shell", "hardcoded.js"), False, check_hardcoded_text)
