"""Find and fix hardcoded ports in a service's source; write the source of a new service.

A service must take its port from ``get_port("NAME")`` (``backend.core.port_config``).
This module is the public surface; the work is done in:

* :mod:`portbook.registry.hardcoded_ports`: :func:`find_hardcoded_ports` flags integer
  literals used as a port, and literals equal to any registered port;
* :mod:`portbook.registry.port_fix`: :func:`fix_hardcoded_ports` rewrites them to
  ``SERVICE_PORT`` with a libcst transformation that leaves every other byte alone;
* :mod:`portbook.registry.service_template`: :func:`service_template`, a new service.

:func:`parse_python`, :func:`get_port_names` and :func:`rename_get_port` (list and rename the
names given to ``get_port`` calls) live in :mod:`portbook.registry.get_port_calls` and are
exported here.
"""

from __future__ import annotations

from portbook.registry.get_port_calls import (
    get_port_names,
    get_port_use,
    parse_python,
    rename_get_port,
)
from portbook.registry.hardcoded_ports import HardcodedPort, find_hardcoded_ports
from portbook.registry.port_fix import fix_hardcoded_ports
from portbook.registry.service_template import service_template

__all__ = [
    "HardcodedPort",
    "calls_get_port",
    "find_hardcoded_ports",
    "fix_hardcoded_ports",
    "get_port_names",
    "parse_python",
    "rename_get_port",
    "service_template",
]


def calls_get_port(text: str, name: str) -> bool:
    """True if the module calls ``get_port("name")`` (directly, aliased or as an attribute)."""
    return name in get_port_use(parse_python(text, "<source>")).called
