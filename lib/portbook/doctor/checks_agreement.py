"""Do the four places agree? Manifest, DEFAULT_PORTS and supervisord.conf, read statically.

The manifest is the primary: a DEFAULT_PORTS value that differs is reported at its line
in the fallback module; a name one place has and another lacks is reported where it is;
a port two names claim is reported at the later claim. What actually listens is compared
by the live checks (:mod:`.checks_live`).
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from portbook.registry.system import System, section

from .checks_base import Check, Context
from .findings import Finding

__all__ = ["AGREEMENT", "command_ports"]

_COMMAND_PORT = re.compile(
    r"(?:--port[= ]|-p |--bind[= ]\S*:|\b(?:\d{1,3}\.){3}\d{1,3}:|localhost:)(\d{2,5})\b"
)
_ENV_PORT = re.compile(r"(?:^|_)PORT$", re.I)


def command_ports(command: str, environment: dict[str, str]) -> list[tuple[str, int]]:
    """Ports a program's own config states: ``(option, port)`` from its command line
    (``--port N``, ``-p N``, ``--bind h:N``, ``IP:N``, ``localhost:N``) and its environment
    (``PORT=N``, ``X_PORT=N``)."""
    found = [("command", int(m.group(1))) for m in _COMMAND_PORT.finditer(command)]
    for key, value in environment.items():
        if _ENV_PORT.search(key) and value.strip().isdigit():
            found.append(("environment", int(value)))
    return found


def _names(ctx: Context, system: System) -> Iterator[Finding]:
    """Names present in one place and missing in another, and ports that differ."""
    fb_rel, conf_rel = ctx.place(ctx.fallback_path), ctx.place(system.main_conf.path)
    programs = ctx.programs
    for name in sorted({*system.services, *system.fallback_ports, *programs}):
        entry, port = system.services.get(name), system.fallback_ports.get(name)
        at_manifest = ctx.place(ctx.manifest_path, ctx.manifest_line.get(name))
        at_fallback = ctx.place(ctx.fallback_path, ctx.fallback_line.get(name))
        if entry is not None and port is not None and port != entry.port:
            yield Finding(
                "agreement.port-mismatch",
                "error",
                at_fallback,
                f"{name}: DEFAULT_PORTS says {port}, the manifest says {entry.port}",
                f'set "{name}": {entry.port} in DEFAULT_PORTS (the manifest is primary)',
                fixable=True,
            )
        if entry is not None and port is None:
            yield Finding(
                "agreement.missing-fallback",
                "error",
                at_manifest,
                f"{name} (port {entry.port}) is in the manifest but not in DEFAULT_PORTS",
                f'add "{name}": {entry.port} to DEFAULT_PORTS in {fb_rel} (seed Step 1)',
                fixable=True,
            )
        if entry is None and (port is not None or name in programs):
            where = "DEFAULT_PORTS" if port is not None else f"[program:{name}]"
            also = " and a [program] section" if port is not None and name in programs else ""
            conf = programs[name][0] if name in programs else system.main_conf
            yield Finding(
                "agreement.missing-manifest",
                "error" if port is not None else "warning",
                at_fallback if port is not None else ctx.conf_place(conf, f"program:{name}"),
                f"{name} has {where}{also} but no manifest entry",
                f"add {name} to the manifest's core_services or watchdog_services, "
                f"or remove it from {fb_rel if port is not None else conf_rel}",
                fixable=port is not None,  # --fix regenerates DEFAULT_PORTS from the manifest
            )
        if entry is not None and name not in programs:
            yield Finding(
                "agreement.missing-program",
                "error",
                at_manifest,
                f"{name} is in the manifest but has no [program:{name}] in {conf_rel}",
                f"add [program:{name}] (seed Step 4), or remove {name} from the manifest "
                "and DEFAULT_PORTS",
            )


def _claims(ctx: Context, system: System) -> list[tuple[int, str, str]]:
    """``(port, who, place)`` for every claim on a port, in manifest, fallback, conf order."""
    claims = [
        (e.port, name, ctx.place(ctx.manifest_path, ctx.manifest_line.get(name)))
        for name, e in system.services.items()
    ]
    for name, port, line in ctx.fallback_entries[1]:
        entry = system.services.get(name)
        if entry is None or entry.port != port:
            claims.append((port, name, ctx.place(ctx.fallback_path, line)))
    for conf in system.confs:
        inet = section(conf, "inet_http_server").get("port", "").rpartition(":")[2]
        if inet.isdigit():
            place = ctx.conf_place(conf, "inet_http_server", "port")
            claims.append((int(inet), "supervisord's [inet_http_server]", place))
    return claims


def _duplicates(ctx: Context, system: System) -> Iterator[Finding]:
    first: dict[int, str] = {}
    for port, who, place in _claims(ctx, system):
        owner = first.setdefault(port, who)
        if owner != who:
            name = who if who in system.services or who in system.fallback_ports else owner
            yield Finding(
                "agreement.duplicate-port",
                "error",
                place,
                f"port {port} is given to both {owner} and {who}",
                f"give {name} a port of its own: invoke service.modify --name {name} --port auto",
            )


def _program_ports(ctx: Context, system: System) -> Iterator[Finding]:
    for name, (conf, _) in sorted(ctx.programs.items()):
        entry, run = system.services.get(name), ctx.runs.get(name)
        if entry is None or run is None:
            continue
        for option, port in command_ports(" ".join(run.argv), run.environment):
            if port != entry.port:
                yield Finding(
                    "agreement.program-port",
                    "error",
                    ctx.conf_place(conf, f"program:{name}", option),
                    f"[program:{name}] {option}= names port {port}, the manifest says {entry.port}",
                    f'use {entry.port} there, or drop it and let {name} read get_port("{name}")',
                )


def check_agreement(ctx: Context) -> Iterator[Finding]:
    """The four places, read statically: names, ports, duplicates, ports in program config."""
    system = ctx.system
    if system is None:
        return  # run.py reports why the places could not be read
    yield from _names(ctx, system)
    yield from _duplicates(ctx, system)
    yield from _program_ports(ctx, system)


AGREEMENT = Check(
    (
        "agreement.port-mismatch",
        "agreement.missing-fallback",
        "agreement.missing-manifest",
        "agreement.missing-program",
        "agreement.duplicate-port",
        "agreement.program-port",
        "agreement.unreadable",
    ),
    False,
    check_agreement,
)
