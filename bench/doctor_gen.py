"""Generate a clean REC.IO-shaped system of a given size, for ``bench/doctor.py``.

One service per ``FILES_PER_SERVICE`` source files: a manifest and ``DEFAULT_PORTS``
with every service, a ``supervisord.conf`` with one ``[program:X]`` each (logs in
``logs/``, ``PYTHONPATH="."``), one uvicorn service script per service calling
``get_port``, library modules up to the file count (a tenth of them clients calling
``get_port`` for another service), and a few shell scripts and JavaScript files.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

FILES_PER_SERVICE = 10
BASE_PORT = 21000

__all__ = ["BASE_PORT", "FILES_PER_SERVICE", "generate"]

SERVICE = '''"""Generated service {name}."""

import uvicorn

from backend.core.health import health_app
from backend.core.port_config import get_port

SERVICE_PORT = get_port("{name}")
app = health_app("{name}")

if __name__ == "__main__":
    uvicorn.run(app, host="127.0.0.1", port=SERVICE_PORT, log_level="warning")
'''

LIBRARY = '''"""Generated library module {index}: helpers for the trading pipeline."""

import json
import logging
import time

from backend.core.health import health_app

LOG = logging.getLogger(__name__)
RETRIES = {retries}
TIMEOUT_S = 30
BATCH = [{a}, {b}, {c}]


class Batcher{index}:
    """Collect items and flush them in batches of {a}."""

    def __init__(self, size: int = {a}) -> None:
        self.size = size
        self.items: list[dict[str, object]] = []

    def add(self, item: dict[str, object]) -> bool:
        """Queue one item; True when a flush is due."""
        self.items.append(item)
        return len(self.items) >= self.size

    def flush(self) -> str:
        """Serialise the queued items and clear the queue."""
        body = json.dumps(self.items)
        self.items.clear()
        return body


def backoff(attempt: int) -> float:
    """Seconds to wait before retry ``attempt`` (capped at {b} s)."""
    return min(2**attempt * 0.1, {b})


def retry(action, attempts: int = RETRIES):
    """Call ``action`` until it succeeds or ``attempts`` run out."""
    for attempt in range(attempts):
        try:
            return action()
        except OSError as exc:
            LOG.warning("attempt %d failed: %s", attempt, exc)
            time.sleep(backoff(attempt))
    raise RuntimeError("gave up after %d attempts" % attempts)


def health():
    """The shared health app (import kept to exercise the import checks)."""
    return health_app("lib{index}")
'''

CLIENT = '''"""Generated client {index} of {other}."""

import json
import urllib.request

from backend.core.port_config import get_port


def status() -> dict[str, object]:
    """GET /health of {other}."""
    url = f"http://127.0.0.1:{{get_port('{other}')}}/health"
    with urllib.request.urlopen(url, timeout=5) as reply:
        return json.loads(reply.read())
'''

SHELL = """#!/bin/sh
# Generated helper {index}: tail the logs of every program.
cd "$(dirname "$0")/.." || exit 1
for f in logs/*.log; do
    tail -n 20 "$f"
done
"""

JS = """// Generated dashboard widget {index}.
export function render(status) {{
  const rows = Object.entries(status).map(([name, s]) => `<tr><td>${{name}}</td></tr>`);
  return `<table>${{rows.join("")}}</table>`;
}}
"""


def generate(root: Path, files: int) -> dict[str, int]:
    """Write a clean system with ``files`` source files; return the counts written."""
    services = max(1, files // FILES_PER_SERVICE)
    names = [f"svc_{i:04d}" for i in range(services)]
    ports = {name: BASE_PORT + i for i, name in enumerate(names)}
    (root / "backend/core/config").mkdir(parents=True)
    (root / "backend/api").mkdir(parents=True)
    (root / "logs").mkdir()
    (root / "venv/bin").mkdir(parents=True)
    (root / "venv/bin/python").symlink_to(sys.executable)
    _write_registry(root, names, ports)
    written = 4  # __init__.py x3 + port_config.py + health.py (minus the fallback, not linted)
    for name in names:
        (root / f"backend/api/{name}.py").write_text(SERVICE.format(name=name))
    written += len(names)
    shells = max(1, files // 500)
    scripts = max(1, files // 250)
    (root / "scripts").mkdir()
    (root / "frontend").mkdir()
    for i in range(shells):
        (root / f"scripts/tool_{i}.sh").write_text(SHELL.format(index=i))
    for i in range(scripts):
        (root / f"frontend/widget_{i}.js").write_text(JS.format(index=i))
    written += shells + scripts
    libraries = max(0, files - written)
    for i in range(libraries):
        folder = root / f"backend/lib/pkg_{i // 50:03d}"
        if i % 50 == 0:
            folder.mkdir(parents=True)
            (folder / "__init__.py").write_text("")
        if i % 10 == 0:
            text = CLIENT.format(index=i, other=names[i % len(names)])
        else:
            text = LIBRARY.format(index=i, retries=3 + i % 5, a=10 + i % 7, b=60, c=5 * (i % 9))
        (folder / f"mod_{i:05d}.py").write_text(text)
    (root / "portbook.yaml").write_text(
        f"ranges:\n  core: [{BASE_PORT}, {BASE_PORT + 999}]\n"
        f"  watchdog: [{BASE_PORT}, {BASE_PORT + 999}]\n"
    )
    return {"services": services, "files": written + libraries}


def _write_registry(root: Path, names: list[str], ports: dict[str, int]) -> None:
    half = len(names) // 2
    doc = {
        "core_services": {
            n: {"port": ports[n], "description": f"{n} service", "status": "RUNNING"}
            for n in names[:half]
        },
        "watchdog_services": {
            n: {"port": ports[n], "description": f"{n} service", "status": "RUNNING"}
            for n in names[half:]
        },
    }
    manifest = root / "backend/core/config/MASTER_PORT_MANIFEST.json"
    manifest.write_text(json.dumps(doc, indent=2) + "\n")
    for init in ("backend", "backend/api", "backend/core"):
        (root / init / "__init__.py").write_text("")
    entries = "".join(f'    "{n}": {ports[n]},\n' for n in names)
    (root / "backend/core/port_config.py").write_text(
        f'"""Ports."""\n\nDEFAULT_PORTS = {{\n{entries}}}\n\n\n'
        "def get_port(service_name):\n    return DEFAULT_PORTS[service_name]\n"
    )
    (root / "backend/core/health.py").write_text(
        '"""Health app."""\n\n\ndef health_app(name):\n    return name\n'
    )
    head = (
        "[unix_http_server]\nfile=%(here)s/../.run/supervisor.sock\n\n"
        "[supervisord]\nlogfile=%(here)s/../logs/supervisord.log\n"
        "pidfile=%(here)s/../.run/supervisord.pid\ndirectory=%(here)s/..\n\n"
        "[rpcinterface:supervisor]\n"
        "supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface\n"
    )
    programs = "".join(
        f"\n[program:{n}]\ncommand=%(here)s/../venv/bin/python backend/api/{n}.py\n"
        f"directory=%(here)s/..\nautostart=true\nautorestart=true\n"
        f"stderr_logfile=logs/{n}.err.log\nstdout_logfile=logs/{n}.out.log\n"
        f'environment=PYTHONPATH="."\n'
        for n in names
    )
    (root / "backend/supervisord.conf").write_text(head + programs)
