"""Settings: the seed's layout and port policy, overridable from invoke config and portbook.yaml.

Precedence, lowest first: ``DEFAULTS`` (also registered with ``ns.configure``),
then ``<root>/portbook.yaml``, then invoke config values that differ from the
defaults (``invoke.yaml``, ``INVOKE_PORTBOOK_...``), then command-line flags.
Every path is relative to the managed system's root unless absolute.
"""

from __future__ import annotations

import os
import posixpath
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import yaml

from .errors import InvalidInput, ParseError

__all__ = ["DEFAULTS", "Settings", "load_settings"]

DEFAULTS: dict[str, Any] = {
    "root": None,
    "manifest": "backend/core/config/MASTER_PORT_MANIFEST.json",
    "fallback": "backend/core/port_config.py",
    "supervisor_conf": "backend/supervisord.conf",
    "logs": "logs",
    "python": "venv/bin/python",
    "api_dir": "backend/api",
    "restart_script": "scripts/MASTER_RESTART.sh",
    "supervisord": "supervisord",
    "ranges": {"core": [8001, 8100], "watchdog": [8001, 8100]},
    "avoid": [5000, 7000, 9000, 10000],
    "smoke_timeout": 20.0,
    "stop_timeout": 10.0,
    "start_timeout": 30.0,
}

CATEGORIES = ("core", "watchdog")


@dataclass(frozen=True)
class Settings:
    """Where the four places live on a target, and the port policy."""

    root: str
    manifest: str
    fallback: str
    supervisor_conf: str
    logs: str
    python: str
    api_dir: str
    restart_script: str
    supervisord: str
    ranges: dict[str, tuple[int, int]] = field(default_factory=dict)
    avoid: frozenset[int] = frozenset()
    smoke_timeout: float = 20.0
    stop_timeout: float = 10.0
    start_timeout: float = 30.0

    def path(self, relative: str) -> str:
        """Resolve a root-relative path (absolute paths pass through)."""
        return posixpath.normpath(posixpath.join(self.root, relative))

    def rel(self, path: str) -> str:
        """Show a path relative to the root when it lies inside it."""
        rel = posixpath.relpath(path, self.root)
        return path if rel.startswith("..") else rel

    @property
    def journal_dir(self) -> str:
        """The folder holding the journal, backups, lock and audit log."""
        return self.path(".portbook")


def load_settings(
    invoke_config: Mapping[str, Any] | None,
    root: str | None,
    yaml_text: str | None = None,
) -> Settings:
    """Merge defaults, the root's portbook.yaml text and invoke config into Settings."""
    values = dict(DEFAULTS)
    if yaml_text:
        values.update(_parse_yaml(yaml_text, root or "."))
    for key, value in (invoke_config or {}).items():
        if key in DEFAULTS and value != DEFAULTS[key] and value is not None:
            values[key] = value
    values["root"] = os.path.abspath(root or values["root"] or os.getcwd())
    return _build(values)


def resolve_root(invoke_config: Mapping[str, Any] | None, root: str | None) -> str:
    """The managed root: the flag, else invoke config ``portbook.root``, else the cwd."""
    configured = (invoke_config or {}).get("root")
    return os.path.abspath(root or configured or os.getcwd())


def _parse_yaml(text: str, root: str) -> dict[str, Any]:
    where = posixpath.join(root, "portbook.yaml")
    try:
        data = yaml.safe_load(text) or {}
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        raise ParseError(where, line, f"invalid YAML: {exc}".splitlines()[0]) from exc
    if not isinstance(data, dict):
        raise ParseError(where, 1, "expected a mapping of portbook settings")
    unknown = sorted(set(data) - set(DEFAULTS))
    if unknown:
        raise ParseError(where, None, f"unknown setting(s): {', '.join(unknown)}")
    return data


def _build(values: dict[str, Any]) -> Settings:
    try:
        ranges = {cat: _range(cat, values["ranges"][cat]) for cat in CATEGORIES}
        return Settings(
            root=values["root"],
            manifest=str(values["manifest"]),
            fallback=str(values["fallback"]),
            supervisor_conf=str(values["supervisor_conf"]),
            logs=str(values["logs"]),
            python=str(values["python"]),
            api_dir=str(values["api_dir"]),
            restart_script=str(values["restart_script"]),
            supervisord=str(values["supervisord"]),
            ranges=ranges,
            avoid=frozenset(int(p) for p in values["avoid"]),
            smoke_timeout=float(values["smoke_timeout"]),
            stop_timeout=float(values["stop_timeout"]),
            start_timeout=float(values["start_timeout"]),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise InvalidInput(f"invalid portbook setting: {exc}") from exc


def _range(category: str, value: Any) -> tuple[int, int]:
    if isinstance(value, str):
        value = value.split("-")
    low, high = (int(v) for v in value)
    if not 1024 <= low <= high <= 65535:
        raise InvalidInput(f"port range for {category} must lie in 1024-65535: {low}-{high}")
    return low, high
