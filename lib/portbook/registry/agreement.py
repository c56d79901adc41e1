"""Probe: do the four places agree, and does supervisor's own parser accept the config?

Reads only. Every disagreement is one short sentence naming the service, the
file and the values, so recovery can stop with a precise report:

* supervisor's parser rejects a conf file (``file:line: message``);
* a manifest service missing from ``DEFAULT_PORTS``, or with another port there;
* a name in ``DEFAULT_PORTS`` or a ``[program:X]`` with no manifest entry;
* two manifest services sharing a port;
* a manifest service with no ``[program:X]`` section;
* a program whose script (a ``.py`` inside the root) is missing or does not call
  ``get_port("X")``.
"""

from __future__ import annotations

import posixpath

from ..errors import ParseError, PortbookError
from ..target import Target
from . import code
from .supervisor_conf import validate
from .system import System

__all__ = ["config_problems", "parser_problems"]


def config_problems(target: Target, system: System) -> list[str]:
    """Every way the four places disagree or the conf is rejected; empty when all agree."""
    problems = parser_problems(system)
    settings = system.settings
    programs = system.programs()
    by_port: dict[int, str] = {}
    for name, entry in sorted(system.services.items()):
        fallback = system.fallback_ports.get(name)
        if fallback is None:
            problems.append(f"{name}: in the manifest (port {entry.port}) but not in DEFAULT_PORTS")
        elif fallback != entry.port:
            problems.append(f"{name}: manifest says {entry.port}, DEFAULT_PORTS says {fallback}")
        if entry.port in by_port:
            problems.append(f"{by_port[entry.port]} and {name} share port {entry.port}")
        by_port.setdefault(entry.port, name)
        if name not in programs:
            problems.append(f"{name}: no [program:{name}] in {settings.rel(system.main_conf.path)}")
        else:
            problems.extend(_code_problems(target, system, name))
    for name in sorted(set(system.fallback_ports) - set(system.services)):
        problems.append(f"{name}: in DEFAULT_PORTS but not in the manifest")
    for name in sorted(set(programs) - set(system.services)):
        problems.append(f"{name}: [program:{name}] has no manifest entry")
    return problems


def parser_problems(system: System) -> list[str]:
    """Each conf file supervisor's own parser rejects, as ``file:line: message``."""
    found = []
    for conf in system.confs:
        try:
            validate(conf.text, conf.path)
        except ParseError as exc:
            found.append(str(exc))
    return found


def _code_problems(target: Target, system: System, name: str) -> list[str]:
    """The program's script must read its port through ``get_port(name)``."""
    try:
        run = system.program_run(name, target.environ())
    except PortbookError as exc:
        return [f"{name}: {exc}"]
    script = next((a for a in run.argv[1:] if a.endswith(".py")), None)
    if script is None:
        return []  # not a Python script (redis, a binary): nothing to lint
    path = posixpath.normpath(posixpath.join(run.cwd, script))
    shown = system.settings.rel(path)
    if shown == path:
        return []  # outside the root: not the system's code
    raw = target.read_optional(path)
    if raw is None:
        return [f"{name}: its script {shown} does not exist"]
    try:
        if code.calls_get_port(raw.decode("utf-8", "replace"), name):
            return []
    except ParseError as exc:
        return [f"{name}: {exc.message.replace('<source>', shown)}"]
    return [f'{name}: {shown} does not read its port through get_port("{name}")']
