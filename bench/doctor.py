"""Benchmark ``doctor``'s static checks on generated REC.IO-shaped systems of growing size.

Usage: ``python bench/doctor.py [--runs N] [--write]``

For each size (50, 500 and 5,000 source files, with one service per 10 files: 5, 50 and
500 services) the script writes a throw-away system under a temp folder: a manifest and
``DEFAULT_PORTS`` with every service, a ``supervisord.conf`` with one ``[program:X]`` each
(logs in ``logs/``, ``PYTHONPATH="."``), one uvicorn service script per service calling
``get_port``, and library modules up to the file count (a tenth of them clients that call
``get_port`` for another service; the rest plain code with numbers, imports of ``backend.``
modules and docstrings), plus a few shell scripts and JavaScript files. The system is
clean: doctor must report no finding on it (checked every run).

Each run times ``run_checks(target, settings, live=False)`` in-process on a fresh context
(every file read and parsed again; the OS page cache is warm after the first run). Reported
per size: the median and max seconds, seconds per 1,000 files, and how many Python files
the prefilter sent to ``ast``. For the largest size the same checks are also timed as a
separate process (``python -c`` importing portbook and running them), which adds the
interpreter's start-up and imports. Target: under 2 s at 5,000 files on this machine, and
time growing linearly with size. Every generated folder is removed afterwards.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from pathlib import Path

# _common puts lib/ and the repo on sys.path, so it must come before anything of portbook's.
from _common import DOCS, cli_env, loadavg, machine_facts, median, update_docs_section
from portbook.config import load_settings
from portbook.doctor.run import run_checks
from portbook.target import LocalTarget

SIZES = (50, 500, 5000)
FILES_PER_SERVICE = 10
BASE_PORT = 21000
TARGET_SECONDS = 2.0

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


@dataclass
class Row:
    """One size's measurements."""

    files: int
    services: int
    parsed: int
    times: list[float]
    process: float = float("nan")
    findings: list[str] = field(default_factory=list)
    parts: dict[str, float] = field(default_factory=dict)

    @property
    def median(self) -> float:
        """Median seconds in-process."""
        return median(self.times)

    @property
    def worst(self) -> float:
        """Slowest run in-process."""
        return max(self.times)

    @property
    def per_k(self) -> float:
        """Median seconds per 1,000 files."""
        return self.median / self.files * 1000


def time_in_process(root: Path, services: int, runs: int) -> Row:
    """Time ``runs`` static doctor runs, each on a fresh context."""
    target = LocalTarget()
    settings = load_settings(None, str(root), (root / "portbook.yaml").read_text())
    times, report = [], None
    for _ in range(runs):
        started = time.perf_counter()
        report = run_checks(target, settings, live=False)
        times.append(time.perf_counter() - started)
    assert report is not None
    found = [f"{f.check} {f.place}" for f in report.findings]
    return Row(report.files, services, report.parsed, times, findings=found)


def time_process(root: Path) -> float:
    """Wall seconds of the same checks in a fresh interpreter (start-up and imports included)."""
    code = (
        "import sys; from portbook.config import load_settings; "
        "from portbook.doctor.run import run_checks; from portbook.target import LocalTarget; "
        "from pathlib import Path; r = sys.argv[1]; "
        "s = load_settings(None, r, Path(r, 'portbook.yaml').read_text()); "
        "sys.exit(run_checks(LocalTarget(), s, live=False).code)"
    )
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", code, str(root)], env=cli_env(), capture_output=True, check=False
    )
    wall = time.perf_counter() - started
    if done.returncode != 0:
        raise RuntimeError(f"doctor in a subprocess exited {done.returncode}: {done.stderr!r}")
    return wall


def time_parts(root: Path) -> dict[str, float]:
    """Seconds of the fixed parts (reading the four places, supervisor's parser), and of a
    run with the prefilter off (every Python file parsed): where the time goes."""
    from portbook.doctor import checks_python
    from portbook.registry.supervisor_conf import validate
    from portbook.system import read_system

    target = LocalTarget()
    settings = load_settings(None, str(root), (root / "portbook.yaml").read_text())
    started = time.perf_counter()
    system = read_system(target, settings)
    read = time.perf_counter() - started
    started = time.perf_counter()
    for conf in system.confs:
        validate(conf.text, conf.path)
    parser = time.perf_counter() - started

    def every_file(text: str, ports: frozenset[str], local: Collection[str]) -> bool:
        return True

    namespace = vars(checks_python)
    real = namespace["python_candidate"]
    namespace["python_candidate"] = every_file
    try:
        started = time.perf_counter()
        report = run_checks(target, settings, live=False)
        unfiltered = time.perf_counter() - started
    finally:
        namespace["python_candidate"] = real
    return {"read": read, "parser": parser, "unfiltered": unfiltered, "all": report.parsed}


def docs_body(rows: list[Row], facts: dict[str, str], runs: int) -> str:
    """The benchmarks.md section."""
    lines = [
        "## doctor (static checks)",
        "",
        "`python bench/doctor.py --runs N --write`: for 50, 500 and 5,000 source files (one",
        "service per 10 files), the script generates a clean REC.IO-shaped system (manifest,",
        "`DEFAULT_PORTS`, `supervisord.conf` with one program per service, service scripts,",
        "library modules, a few shell and JS files) and times `run_checks(..., live=False)`",
        "in-process on a fresh context (every file read and checked again; the page cache is",
        "warm). The largest size is also timed in a fresh interpreter (start-up and imports",
        "included). Target: under 2 s at 5,000 files, time linear in size.",
        "",
        f"- Date: {facts['date']}",
        f"- Machine: `{facts['uname']}`",
        f"- CPU: {facts['cpu']}, {facts['nproc']} CPUs (nproc); memory {facts['memory']}",
        f"- Python: {facts['python']}",
        f"- Runs per size: {runs}; load average before {facts['load_before']}, "
        f"after {facts['load_after']}",
        "",
        "| files | services | parsed by ast | median s | max s | ms per file |",
        "| ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for row in rows:
        lines.append(
            f"| {row.files} | {row.services} | {row.parsed} | {row.median:.3f} "
            f"| {row.worst:.3f} | {row.per_k:.3f} |"
        )
    big, mid = rows[-1], rows[-2]
    met = "met" if max(big.worst, big.process) < TARGET_SECONDS else "MISSED"
    parts = big.parts
    rest = big.median - parts["read"] - parts["parser"]
    lines += [
        "",
        f"Whole process at {big.files} files (interpreter, imports, checks): {big.process:.3f} s.",
        "",
        f"Target under {TARGET_SECONDS:g} s at {big.files} files: {met} (worst run "
        f"{big.worst:.3f} s in-process, {big.process:.3f} s as a process). Growth: the time "
        f"per file at {big.files} files is {big.per_k / mid.per_k:.2f}x that at {mid.files} "
        "(1.00 = linear). No run reported a finding on the clean systems.",
        "",
        f"Where the time goes at {big.files} files (one run each): reading and parsing the "
        f"four places {parts['read']:.3f} s (DEFAULT_PORTS through libcst, the conf through "
        f"the round-tripping layer); supervisor's own parser on the {big.services}-program "
        f"conf {parts['parser']:.3f} s; the rest (discovery, reading every file, the "
        f"prefilter, `ast` on {big.parsed} candidates, the checks) about {rest:.3f} s. With "
        f"the prefilter off (all {int(parts['all'])} Python files parsed) a run takes "
        f"{parts['unfiltered']:.3f} s: the prefilter is what keeps this size well under the "
        "target.",
    ]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    """Generate, time, print; with --write update docs/benchmarks.md."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="timed runs per size (5)")
    parser.add_argument("--write", action="store_true", help=f"update {DOCS}")
    args = parser.parse_args(argv)
    load_before = loadavg()
    rows: list[Row] = []
    for size in SIZES:
        root = Path(tempfile.mkdtemp(prefix="pb-doctor-"))
        try:
            counts = generate(root, size)
            row = time_in_process(root, counts["services"], args.runs)
            if size == SIZES[-1]:
                row.process = time_process(root)
                row.parts = time_parts(root)
        finally:
            shutil.rmtree(root, ignore_errors=True)
        rows.append(row)
        print(
            f"{row.files:>5} files, {row.services:>3} services: median {row.median:.3f}s, "
            f"max {row.worst:.3f}s, {row.parsed} parsed by ast",
            flush=True,
        )
        for finding in row.findings[:5]:
            print(f"  unexpected finding: {finding}", file=sys.stderr)
    big = rows[-1]
    print(f"whole process at {big.files} files: {big.process:.3f}s; parts {big.parts}")
    if args.write:
        facts = {**machine_facts(), "load_before": load_before, "load_after": loadavg()}
        update_docs_section("doctor", docs_body(rows, facts, args.runs))
        print(f"wrote the doctor section of {DOCS}")
    left = [p for p in Path(tempfile.gettempdir()).glob("pb-doctor-*") if p.is_dir()]
    if left:
        print(f"leftover folders: {left}", file=sys.stderr)
    clean = not any(row.findings for row in rows)
    return 0 if clean and not left else 1


if __name__ == "__main__":
    sys.exit(main())
