"""Where and on what a benchmark ran: the code (commit, dirty files), the machine, the date.

Every section of docs/benchmarks.md ends its header with the lines ``stamp_lines`` renders
and one machine-readable line, an HTML comment holding JSON::

    <!-- bench:stamp {"section": "add", "commit": "<40 hex>", "dirty": [], "covers": [...],
                      "command": "python bench/add.py --runs 5 --write", "date": "..."} -->

``tests/unit/test_benchmarks_doc.py`` reads that comment back: the section is stale once a
commit after ``commit`` changed a path in ``covers`` (or when it was measured with
uncommitted changes to one of them), and the test names the section and ``command``.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import platform
import re
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
STAMP = re.compile(r"<!-- bench:stamp (\{.*?\}) -->")
# What every benchmark that runs the CLI or the library end to end depends on: the code,
# the playbooks the CLI loads, the demo system it measures, and the script and its helpers.
WHOLE_CODE = ("lib/portbook", "playbooks", "demo/system")
HELPERS = ("bench/_common.py", "bench/_stamp.py")
REGENERATE_ALL = "python bench/all.py --write"

__all__ = [
    "HELPERS",
    "REGENERATE_ALL",
    "REPO",
    "STAMP",
    "WHOLE_CODE",
    "Stamp",
    "git",
    "loadavg",
    "machine",
    "read_stamps",
    "take_stamp",
]


def git(*args: str) -> str:
    """``git -C REPO ARGS``'s stdout (stripped), or '' when git fails or is missing."""
    try:
        done = subprocess.run(
            ["git", "-C", str(REPO), *args], capture_output=True, text=True, timeout=30
        )
    except (OSError, subprocess.SubprocessError):
        return ""
    return done.stdout.strip() if done.returncode == 0 else ""


def loadavg() -> str:
    """The 1, 5 and 15 minute load averages."""
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as handle:
            for line in handle:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def _memory_gib() -> str:
    try:
        with open("/proc/meminfo") as handle:
            for line in handle:
                if line.startswith("MemTotal:"):
                    return f"{int(line.split()[1]) / 2**20:.1f} GiB"
    except (OSError, ValueError, IndexError):
        pass
    return "unknown"


def machine() -> dict[str, str]:
    """CPU model, cores, RAM, kernel and Python of this machine."""
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None
    cores = f"{os.cpu_count()} cores" + (
        f" ({usable} usable by this process)" if usable not in (None, os.cpu_count()) else ""
    )
    return {
        "cpu": _cpu_model(),
        "cores": cores,
        "memory": _memory_gib(),
        "kernel": f"{platform.system()} {platform.release()} {platform.machine()}",
        "python": f"{platform.python_implementation()} {platform.python_version()} "
        f"({sys.executable})",
    }


@dataclass
class Stamp:
    """The facts one section was measured under."""

    section: str
    command: str
    covers: tuple[str, ...]
    commit: str
    dirty: tuple[str, ...]  # uncommitted files in the covered paths
    dirty_elsewhere: int  # uncommitted files outside them
    date: str
    machine: dict[str, str]
    load_before: str
    load_after: str = ""
    extra: list[str] = field(default_factory=list)  # more "- Label: value" lines

    def finish(self) -> Stamp:
        """Record the load average and the tree at the end (a file may change mid-run)."""
        self.load_after = loadavg()
        dirty, _ = _dirty(self.covers)
        self.dirty = tuple(sorted(set(self.dirty) | set(dirty)))
        head = git("rev-parse", "HEAD")
        if head != self.commit and _changed(self.commit, head, self.covers):
            moved = f"commits {self.commit[:12]}..{head[:12]}, made during the run"
            self.dirty = (*self.dirty, moved)
        return self

    def _busy(self) -> str:
        """A warning when the 1-minute load average shows other work competing for the CPU."""
        cores = os.cpu_count() or 1
        loads = [float(x.split()[0]) for x in (self.load_before, self.load_after) if x]
        if not loads or max(loads) <= cores / 2:
            return ""
        return (
            f" (busy: the 1-minute load reached {max(loads):.1f} on {cores} cores, so other "
            "work competed for the CPU while this was measured)"
        )

    def lines(self) -> list[str]:
        """The section's stamp: readable bullet lines, then the JSON comment."""
        m = self.machine
        tree = (
            "clean in the covered paths"
            if not self.dirty
            else f"DIRTY: changes no single commit holds, to {_listing(self.dirty)}"
        )
        other = f"; {self.dirty_elsewhere} uncommitted file(s) elsewhere" * bool(
            self.dirty_elsewhere
        )
        data = {
            "section": self.section,
            "commit": self.commit,
            "dirty": list(self.dirty),
            "covers": list(self.covers),
            "command": self.command,
            "date": self.date,
        }
        return [
            f"- Measured: {self.date} by `{self.command}`",
            f"- Code: commit `{self.commit or 'unknown (no git)'}`, tree {tree}{other}",
            f"- Covers: {_listing(self.covers)} (stale once a later commit changes one)",
            f"- Machine: {m['cpu']}, {m['cores']}, {m['memory']} RAM, {m['kernel']}",
            f"- Python: {m['python']}",
            *self.extra,
            f"- Load average (1/5/15 min): before {self.load_before}, after {self.load_after}"
            + self._busy(),
            f"<!-- bench:stamp {json.dumps(data, sort_keys=True)} -->",
        ]


def _changed(old: str, new: str, covers: Sequence[str]) -> bool:
    """True when commits from ``old`` to ``new`` changed a covered path (or git cannot tell)."""
    try:
        done = subprocess.run(
            ["git", "-C", str(REPO), "diff", "--quiet", old, new, "--", *covers],
            capture_output=True,
            timeout=30,
        )
    except (OSError, subprocess.SubprocessError):
        return True
    return done.returncode != 0


def _listing(paths: Sequence[str], most: int = 12) -> str:
    """Paths in backticks; past ``most`` of them, the first few and a count."""
    shown = ", ".join(f"`{p}`" for p in paths[:most])
    more = len(paths) - most
    return shown + (f" and {more} more (all in the stamp below)" if more > 0 else "")


def _dirty(covers: Sequence[str]) -> tuple[list[str], int]:
    """Uncommitted (or untracked) files in ``covers``, and how many there are elsewhere."""
    lines = git("status", "--porcelain", "--untracked-files=normal").splitlines()
    paths = [line[3:].split(" -> ")[-1].strip('"') for line in lines if len(line) > 3]
    inside = [p for p in paths if any(p == c or p.startswith(c.rstrip("/") + "/") for c in covers)]
    return sorted(inside), len(paths) - len(inside)


def take_stamp(section: str, command: str, covers: Sequence[str]) -> Stamp:
    """Stamp a measurement that starts now (call ``finish`` when it ends)."""
    dirty, elsewhere = _dirty(covers)
    return Stamp(
        section=section,
        command=command,
        covers=tuple(covers),
        commit=git("rev-parse", "HEAD"),
        dirty=tuple(dirty),
        dirty_elsewhere=elsewhere,
        date=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        machine=machine(),
        load_before=loadavg(),
    )


def read_stamps(text: str) -> list[dict[str, object]]:
    """Every stamp comment in a benchmarks document, in order."""
    return [json.loads(m.group(1)) for m in STAMP.finditer(text)]
