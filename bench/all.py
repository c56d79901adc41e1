"""Measure every section of docs/benchmarks.md again, each in a fresh interpreter.

Usage: ``python bench/all.py [--write] [--only add,doctor] [--runs N]``

Runs ``bench/doctor.py``, ``bench/add.py``, ``bench/lifecycle.py`` and ``bench/fleet.py``
(root only: it builds network namespaces with sshd) one after another with their default
number of runs (``--runs N`` overrides it, for a quick try), each writing its own section
when ``--write`` is given, then refreshes the document's header. Each section is stamped
with the commit it measured; commit the code first, or the stamps say DIRTY and
``tests/unit/test_benchmarks_doc.py`` fails. Exit 0 only when every script did.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from collections.abc import Sequence

from _common import DOCS, DOCS_HEADER, REPO
from _stamp import WHOLE_CODE, git

SCRIPTS = {  # section -> the script's arguments besides --write
    "doctor": ["bench/doctor.py"],
    "add": ["bench/add.py"],
    "lifecycle": ["bench/lifecycle.py"],
    "fleet": ["bench/fleet.py", "--counts", "1,3,6"],
}


def refresh_header() -> None:
    """Replace what comes before the first section with the current header."""
    text = DOCS.read_text()
    first = text.find("<!-- bench:")
    DOCS.write_text(DOCS_HEADER + "\n" + (text[first:] if first >= 0 else ""))


def run(section: str, write: bool, runs: int | None) -> tuple[int, float]:
    """One script in a fresh interpreter, its output passed through: (exit code, seconds)."""
    argv = [sys.executable, *SCRIPTS[section]]
    argv += ["--write"] * write + (["--runs", str(runs)] if runs else [])
    print(f"\n=== {section}: {' '.join(argv[1:])}", flush=True)
    started = time.perf_counter()
    code = subprocess.run(argv, cwd=REPO, check=False).returncode
    return code, time.perf_counter() - started


def main(argv: Sequence[str] | None = None) -> int:
    """Run the chosen benchmarks in turn; say how each ended and how long it took."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--write", action="store_true", help=f"update {DOCS}")
    parser.add_argument("--only", default=",".join(SCRIPTS), help="sections, comma-separated")
    parser.add_argument("--runs", type=int, default=None, help="runs per script (its default)")
    args = parser.parse_args(argv)
    chosen = [s.strip() for s in args.only.split(",") if s.strip()]
    unknown = [s for s in chosen if s not in SCRIPTS]
    if unknown:
        parser.error(f"unknown section(s) {unknown}; choose from {list(SCRIPTS)}")
    dirty = git("status", "--porcelain", "--", *WHOLE_CODE, "bench")
    if dirty:
        print(f"warning: uncommitted changes; the stamps will say DIRTY:\n{dirty}", flush=True)
    results = {section: run(section, args.write, args.runs) for section in chosen}
    if args.write:
        refresh_header()
    print("\n=== summary")
    for section, (code, seconds) in results.items():
        print(
            f"{section:<10} {'ok' if code == 0 else f'FAILED (exit {code})':<16} {seconds:6.0f} s"
        )
    return 0 if all(code == 0 for code, _ in results.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
