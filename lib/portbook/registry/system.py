"""The managed system as read from a target: the four places, parsed, never changed here."""

from __future__ import annotations

import posixpath
import shlex
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..config import Settings, load_settings, resolve_root
from ..errors import ParseError, Refused, TargetError
from ..target import Target
from . import fallback, manifest
from .supervisor_conf import SupervisorConf

__all__ = [
    "ConfFile",
    "ProgramRun",
    "System",
    "expand",
    "read_system",
    "require_root",
    "root_settings",
    "section",
]

ROOT_HINT = (
    "run portbook from the system's root, pass --root DIR, or set portbook.root in invoke.yaml"
)


@dataclass(frozen=True)
class ConfFile:
    """One supervisor config file: the main one or an included one."""

    path: str
    text: str
    conf: SupervisorConf


@dataclass(frozen=True)
class ProgramRun:
    """How supervisor would run a program: argv, cwd, extra environment and user."""

    argv: tuple[str, ...]
    cwd: str
    environment: dict[str, str]
    user: str | None


@dataclass(frozen=True)
class System:
    """Everything portbook knows about the managed system before it changes anything."""

    settings: Settings
    manifest_text: str
    services: dict[str, manifest.ManifestEntry]
    fallback_text: str
    fallback_ports: dict[str, int]
    confs: tuple[ConfFile, ...]

    @property
    def main_conf(self) -> ConfFile:
        """The supervisord.conf portbook was pointed at."""
        return self.confs[0]

    def group_names(self) -> dict[str, str]:
        """Every supervisor group name mapped to the file that defines it."""
        return {g: c.path for c in self.confs for g in c.conf.group_names()}

    def programs(self) -> dict[str, tuple[ConfFile, dict[str, str]]]:
        """Every ``[program:X]`` section with the file it lives in."""
        return {n: (c, o) for c in self.confs for n, o in c.conf.programs().items()}

    def socket_path(self) -> str:
        """supervisord's unix socket, from ``[unix_http_server] file=``."""
        conf = self.main_conf
        value = section(conf, "unix_http_server").get("file")
        if not value:
            raise ParseError(
                conf.path,
                None,
                "no [unix_http_server] file=: portbook needs "
                "supervisord's unix socket to apply changes without a restart",
            )
        return self.resolve(expand(value, conf.path))

    def supervisord_cwd(self) -> str:
        """The folder supervisord resolves relative paths against: ``directory=`` or the root."""
        directory = section(self.main_conf, "supervisord").get("directory")
        return (
            self.resolve(expand(directory, self.main_conf.path))
            if directory
            else self.settings.root
        )

    def resolve(self, path: str, base: str | None = None) -> str:
        """An absolute, normalized path; relative ones resolve against ``base`` or the root."""
        return posixpath.normpath(posixpath.join(base or self.settings.root, path))

    def program_run(self, name: str, env: dict[str, str]) -> ProgramRun:
        """How supervisor would start program ``name`` (expansions applied)."""
        conf, options = self.programs()[name]
        values = {"program_name": name, "group_name": name, "process_num": "0"}
        command = expand(options.get("command", ""), conf.path, env, values)
        cwd = self.supervisord_cwd()
        if options.get("directory"):
            cwd = self.resolve(expand(options["directory"], conf.path, env, values), cwd)
        environment = parse_environment(
            expand(options.get("environment", ""), conf.path, env, values), conf.path
        )
        return ProgramRun(tuple(shlex.split(command)), cwd, environment, options.get("user"))


def section(conf: ConfFile, name: str) -> dict[str, str]:
    """A section's options, or an empty dict when the file has no such section."""
    return conf.conf.section(name) if name in conf.conf.section_names() else {}


def expand(
    value: str,
    conf_path: str,
    env: dict[str, str] | None = None,
    extra: dict[str, str] | None = None,
) -> str:
    """Expand ``%(here)s``, ``%(ENV_X)s`` and program values the way supervisor does."""
    values = {"here": posixpath.dirname(posixpath.abspath(conf_path))}
    values.update({f"ENV_{k}": v for k, v in (env or {}).items()})
    values.update(extra or {})
    try:
        return value % values
    except (KeyError, ValueError, TypeError) as exc:
        raise ParseError(conf_path, None, f"cannot expand {value!r}: {exc}") from exc


def parse_environment(value: str, conf_path: str) -> dict[str, str]:
    """Parse ``KEY="v",K2=v2`` with supervisor's own parser (quoted commas allowed)."""
    if not value.strip():
        return {}
    from supervisor.datatypes import dict_of_key_value_pairs

    try:
        return dict(dict_of_key_value_pairs(value))
    except ValueError as exc:
        raise ParseError(conf_path, None, f"bad environment= value: {exc}") from exc


def read_system(target: Target, settings: Settings) -> System:
    """Read and parse the four places on ``target``; any unreadable file refuses (exit 2)."""
    manifest_path = settings.path(settings.manifest)
    fallback_path = settings.path(settings.fallback)
    manifest_text = _read(target, manifest_path)
    fallback_text = _read(target, fallback_path)
    confs = _read_confs(target, settings.path(settings.supervisor_conf))
    return System(
        settings=settings,
        manifest_text=manifest_text,
        services=manifest.read_services(manifest_text, manifest_path),
        fallback_text=fallback_text,
        fallback_ports=fallback.read_ports(fallback_text, fallback_path),
        confs=confs,
    )


def root_settings(
    target: Target, config: Mapping[str, Any], root: str | None, *, system: bool = True
) -> Settings:
    """The settings for the root the operator chose: ``root`` (the flag), else ``portbook.root``
    from invoke config, else the current folder; its ``portbook.yaml`` applied. With
    ``system``, refuses (exit 2) when that folder is not a managed system's root
    (:func:`require_root`)."""
    where = resolve_root(config, root)
    origin = "--root" if root else "portbook.root" if config.get("root") else "the current folder"
    try:
        raw = target.read_optional(posixpath.join(where, "portbook.yaml"))
    except TargetError as exc:  # e.g. the "root" is a file
        raise Refused(f"{where} ({origin}) is not a folder: {exc}; {ROOT_HINT}") from exc
    settings = load_settings(config, where, raw.decode() if raw else None)
    if system:
        require_root(target, settings, origin)
    return settings


def require_root(target: Target, settings: Settings, origin: str = "") -> None:
    """Refuse (exit 2) unless ``settings.root`` is a managed system's root.

    A root holds the manifest, the fallback module or supervisord.conf; a folder with
    none of them (or no folder at all) is the wrong folder, not a broken system, so the
    refusal says what it lacks and how to point portbook at the right one. A root
    missing only some of them is a broken system: that is reported where it is read.
    ``origin`` says where the root came from (``--root``, ``portbook.root``, the cwd).
    """
    places = (settings.manifest, settings.fallback, settings.supervisor_conf)
    if any(target.file_mode(settings.path(p)) is not None for p in places):
        return
    where = settings.root + (f" ({origin})" if origin else "")
    if target.file_mode(settings.root) is None:
        raise Refused(f"{where} does not exist: {ROOT_HINT}")
    raise Refused(
        f"{where} is not a system root: it has no {places[0]}, {places[1]} or {places[2]}; "
        + ROOT_HINT
    )


def include_folder(conf: ConfFile) -> str | None:
    """The conf.d-style folder ``[include] files=`` points at (``dir/*.conf``), if any."""
    here = posixpath.dirname(conf.path)
    for pattern in conf.conf.include_patterns():
        folder, leaf = posixpath.split(expand(pattern, conf.path))
        if folder and "*" in leaf and not any(c in folder for c in "*?["):
            return posixpath.normpath(posixpath.join(here, folder))
    return None


def _read_confs(target: Target, main_path: str) -> tuple[ConfFile, ...]:
    main_text = _read(target, main_path)
    main = ConfFile(main_path, main_text, SupervisorConf.parse(main_text, main_path))
    confs = [main]
    here = posixpath.dirname(main_path)
    for pattern in main.conf.include_patterns():
        full = posixpath.join(here, expand(pattern, main_path))
        for path in target.glob(full):
            text = _read(target, path)
            confs.append(ConfFile(path, text, SupervisorConf.parse(text, path)))
    return tuple(confs)


def _read(target: Target, path: str) -> str:
    data = target.read_optional(path)
    if data is None:
        raise ParseError(path, None, "file not found")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ParseError(path, None, f"not UTF-8 text: {exc}") from exc
