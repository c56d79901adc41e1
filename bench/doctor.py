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
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from pathlib import Path

# _common puts lib/ and the repo on sys.path, so it must come before anything of portbook's.
from _common import DOCS, REPO, cli_env, median
from _common import update_docs_section as write_section
from _stamp import HELPERS, Stamp, take_stamp
from doctor_gen import FILES_PER_SERVICE, generate
from portbook.config import load_settings
from portbook.doctor.run import run_checks
from portbook.target import LocalTarget

SIZES = (50, 500, 5000)
TARGET_SECONDS = 2.0
LINEAR_SLACK = 0.25  # per-file time may grow this much from 500 to 5,000 files and be linear
COVERS = ("bench/doctor.py", "bench/doctor_gen.py", *HELPERS)


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
    from portbook.registry.system import read_system

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


def loaded_code() -> list[str]:
    """portbook's files this process has loaded (what the measured checks ran), repo-relative.

    A folder stands for its files when every ``.py`` file in it was loaded.
    """
    lib = REPO / "lib"
    loaded = [getattr(m, "__file__", None) for m in list(sys.modules.values())]
    files = {Path(f).resolve() for f in loaded if f}
    files = {f for f in files if f.is_relative_to(lib)}
    out: list[str] = []
    for folder in sorted({f.parent for f in files}):
        mine = sorted(f for f in files if f.parent == folder)
        if folder != lib / "portbook" and set(folder.glob("*.py")) <= set(mine):
            out.append(str(folder.relative_to(REPO)))
        else:
            out += [str(f.relative_to(REPO)) for f in mine]
    return out


def verdicts(rows: list[Row]) -> list[str]:
    """The target, the growth, the findings, and what the prefilter buys: all from the data."""
    big, mid = rows[-1], rows[-2]
    met = max(big.worst, big.process) < TARGET_SECONDS
    growth = big.per_k / mid.per_k
    findings = [f for row in rows for f in row.findings]
    text = (
        f"Target under {TARGET_SECONDS:g} s at {big.files} files: {'met' if met else 'missed'} "
        f"(worst run {big.worst:.3f} s in-process, {big.process:.3f} s as a process). Growth: "
        f"the time per file at {big.files} files is {growth:.2f}x that at {mid.files} (1.00 = "
        "linear): "
        + (
            f"linear within {LINEAR_SLACK:.0%}."
            if growth <= 1 + LINEAR_SLACK
            else f"worse than linear by more than {LINEAR_SLACK:.0%}."
        )
        + " "
        + (
            "No run reported a finding on the clean systems."
            if not findings
            else f"The clean systems were not clean to doctor: {len(findings)} finding(s) "
            f"(first: {findings[0]}), so these times include reporting them."
        )
    )
    return [text]


def parts_sentence(big: Row) -> str:
    """Where the time goes at the largest size, and what the prefilter buys there."""
    parts = big.parts
    rest = big.median - parts["read"] - parts["parser"]
    unfiltered = parts["unfiltered"]
    if max(big.worst, big.process) >= TARGET_SECONDS:
        effect = "the target is missed at this size even with the prefilter on"
    elif unfiltered >= TARGET_SECONDS:
        effect = "the prefilter is what keeps this size under the target"
    else:
        effect = (
            f"under the target even without the prefilter, which saves "
            f"{1 - big.median / unfiltered:.0%} of the time"
        )
    return (
        f"Where the time goes at {big.files} files (one run each): reading and parsing the four "
        f"places (`read_system`) {parts['read']:.3f} s; supervisor's own parser on the "
        f"{big.services}-program conf {parts['parser']:.3f} s; the rest (discovery, reading "
        f"every file, the prefilter, `ast` on {big.parsed} candidates, the checks) about "
        f"{rest:.3f} s. With the prefilter off (all {int(parts['all'])} Python files parsed) "
        f"a run takes {unfiltered:.3f} s: {effect}."
    )


def docs_body(rows: list[Row], stamp: Stamp, runs: int) -> str:
    """The benchmarks.md section."""
    sizes = ", ".join(f"{s:,}" for s in SIZES)
    lines = [
        "## doctor (static checks)",
        "",
        f"`python bench/doctor.py --runs N --write`: for {sizes} source files (one service",
        f"per {FILES_PER_SERVICE} files), the script generates a clean REC.IO-shaped system",
        "(manifest, `DEFAULT_PORTS`, `supervisord.conf` with one program per service, service",
        "scripts, library modules, a few shell and JS files) and times `run_checks(...,",
        f"live=False)` in-process {runs} times per size on a fresh context (every file read",
        "and checked again). The largest size is also timed in a fresh interpreter (start-up",
        f"and imports included). Target: under {TARGET_SECONDS:g} s at {SIZES[-1]:,} files, "
        "time linear in size.",
        "",
        *stamp.lines(),
        "",
        "| files | services | parsed by ast | median s | max s | ms per file |",
        "| ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for row in rows:
        lines.append(
            f"| {row.files} | {row.services} | {row.parsed} | {row.median:.3f} "
            f"| {row.worst:.3f} | {row.per_k:.3f} |"
        )
    big = rows[-1]
    lines += [
        "",
        f"Whole process at {big.files} files (interpreter, imports, checks): {big.process:.3f} s.",
        "",
        *verdicts(rows),
        "",
        parts_sentence(big),
    ]
    return "\n".join(lines)


def measure(runs: int) -> list[Row]:
    """Generate and time every size; each generated folder is removed afterwards."""
    rows: list[Row] = []
    for size in SIZES:
        root = Path(tempfile.mkdtemp(prefix="pb-doctor-"))
        try:
            counts = generate(root, size)
            row = time_in_process(root, counts["services"], runs)
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
    return rows


def main(argv: Sequence[str] | None = None) -> int:
    """Generate, time, print; with --write update docs/benchmarks.md."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="timed runs per size (5)")
    parser.add_argument("--write", action="store_true", help=f"update {DOCS}")
    args = parser.parse_args(argv)
    command = f"python bench/doctor.py --runs {args.runs}" + " --write" * args.write
    started = take_stamp("doctor", command, ())
    rows = measure(args.runs)
    stamp = take_stamp("doctor", command, (*loaded_code(), *COVERS))
    stamp.date, stamp.load_before = started.date, started.load_before
    body = docs_body(rows, stamp.finish(), args.runs)
    print(f"\n{body}")
    if args.write:
        write_section("doctor", body)
        print(f"wrote the doctor section of {DOCS}")
    left = [p for p in Path(tempfile.gettempdir()).glob("pb-doctor-*") if p.is_dir()]
    if left:
        print(f"leftover folders: {left}", file=sys.stderr)
    clean = not any(row.findings for row in rows)
    return 0 if clean and not left else 1


if __name__ == "__main__":
    sys.exit(main())
