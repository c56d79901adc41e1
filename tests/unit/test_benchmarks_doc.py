"""docs/benchmarks.md is not older than the code it measured.

Each section of the document carries a stamp (an HTML comment holding JSON, written by
``bench/_stamp.py``): the commit it was measured at, the paths it covers, whether the
tree was dirty, and the command that measures it again. A section is stale, and its test
fails naming it and that command, when:

* it has no stamp, or the stamp names no commit or no covered path;
* it was measured with uncommitted changes to a covered path, or commits changed one during
  the run (no single commit holds the code it measured);
* the stamped commit is unknown here, or not an ancestor of HEAD;
* a commit after the stamped one changed a covered path (``git diff STAMP HEAD -- PATHS``).

The check needs git and the history (CI clones the repository, so both are there). In a
copy without ``.git`` (an unpacked sdist) it skips and says why, except under CI
(``CI`` or ``PORTBOOK_REQUIRE_ROOT_TESTS=1`` set), where that is a failure.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]
DOC = REPO / "docs" / "benchmarks.md"
SECTIONS = ("add", "lifecycle", "doctor", "fleet")
STAMP = re.compile(r"<!-- bench:stamp (\{.*?\}) -->")
EVERYTHING = "python bench/all.py --write"


def git(repo: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """``git -C repo ARGS``, never raising for a non-zero exit."""
    return subprocess.run(
        ["git", "-C", str(repo), *args], capture_output=True, text=True, timeout=60, check=False
    )


def section_text(doc: str, key: str) -> str | None:
    """What lies between the section's start and end markers (None when it has none)."""
    match = re.search(
        rf"<!-- bench:{re.escape(key)}:start -->(.*?)<!-- bench:{re.escape(key)}:end -->",
        doc,
        re.S,
    )
    return match.group(1) if match else None


def read_stamp(text: str) -> dict[str, Any]:
    """The one stamp in a section's text; ValueError when there is none or several."""
    found = [json.loads(m.group(1)) for m in STAMP.finditer(text)]
    if len(found) != 1:
        raise ValueError(f"{len(found)} stamps (want exactly one)")
    stamp: dict[str, Any] = found[0]
    return stamp


def staleness(repo: Path, key: str, stamp: dict[str, Any]) -> str:
    """Why the section measured under ``stamp`` no longer describes HEAD ('' when it does)."""
    commit, covers = str(stamp.get("commit") or ""), [str(c) for c in stamp.get("covers") or []]
    redo = f"re-measure with `{stamp.get('command') or EVERYTHING}` (all: `{EVERYTHING}`)"
    if not re.fullmatch(r"[0-9a-f]{40}", commit) or not covers:
        return f"section {key!r}: the stamp names no commit or no covered path; {redo}"
    if stamp.get("dirty"):
        dirty = ", ".join(map(str, stamp["dirty"][:5]))
        return (
            f"section {key!r} was measured at {commit[:12]} with changes no single commit holds"
            f" ({dirty}: uncommitted, or committed during the run); commit first, then {redo}"
        )
    if git(repo, "cat-file", "-e", f"{commit}^{{commit}}").returncode != 0:
        shallow = git(repo, "rev-parse", "--is-shallow-repository").stdout.strip() == "true"
        hint = " (a shallow clone: `git fetch --unshallow`)" if shallow else ""
        return f"section {key!r}: commit {commit[:12]} is not in this repository{hint}; {redo}"
    if git(repo, "merge-base", "--is-ancestor", commit, "HEAD").returncode != 0:
        return f"section {key!r}: commit {commit[:12]} is not an ancestor of HEAD; {redo}"
    if git(repo, "diff", "--quiet", commit, "HEAD", "--", *covers).returncode == 0:
        return ""
    log = git(repo, "log", "--format=%h %s", f"{commit}..HEAD", "--", *covers).stdout
    changes = log.strip().splitlines()
    shown = "; ".join(changes[:5]) + (f"; and {len(changes) - 5} more" if len(changes) > 5 else "")
    return (
        f"section {key!r} is stale: measured at {commit[:12]}, but {len(changes)} later "
        f"commit(s) changed what it covers ({shown}); {redo}, then commit docs/benchmarks.md"
    )


def _require_git() -> None:
    """Skip outside a git checkout (fail instead under CI); fail when git itself is missing."""
    if shutil.which("git") is None:
        pytest.fail("git is not installed: cannot tell whether docs/benchmarks.md is stale")
    if git(REPO, "rev-parse", "--is-inside-work-tree").stdout.strip() == "true":
        return
    reason = f"{REPO} is not a git checkout: cannot tell whether docs/benchmarks.md is stale"
    if os.environ.get("CI") or os.environ.get("PORTBOOK_REQUIRE_ROOT_TESTS") == "1":
        pytest.fail(reason + " (CI must run from a clone with its history)")
    pytest.skip(reason)


@pytest.mark.parametrize("key", SECTIONS)
def test_section_measured_at_a_commit_whose_covered_code_is_unchanged_since(key: str) -> None:
    _require_git()
    text = section_text(DOC.read_text(), key)
    assert text is not None, f"docs/benchmarks.md has no {key!r} section; run {EVERYTHING}"
    try:
        stamp = read_stamp(text)
    except ValueError as exc:
        pytest.fail(f"section {key!r}: {exc}; re-measure with {EVERYTHING}")
    assert stamp.get("section") == key, (
        f"section {key!r} holds the stamp of {stamp.get('section')!r}"
    )
    problem = staleness(REPO, key, stamp)
    assert not problem, problem


# --- the checker itself, on a throw-away repository ---------------------------------------------


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A git repository with lib/a.py and docs/x.md committed."""
    if shutil.which("git") is None:
        pytest.fail("git is not installed")
    for args in (("init", "-q"), ("config", "user.email", "t@t"), ("config", "user.name", "t")):
        git(tmp_path, *args)
    (tmp_path / "lib").mkdir()
    (tmp_path / "docs").mkdir()
    (tmp_path / "lib" / "a.py").write_text("A = 1\n")
    (tmp_path / "docs" / "x.md").write_text("x\n")
    _commit(tmp_path, "first")
    return tmp_path


def _commit(repo: Path, message: str) -> str:
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", message)
    return git(repo, "rev-parse", "HEAD").stdout.strip()


def _stamp(commit: str, **changes: Any) -> dict[str, Any]:
    base = {"section": "s", "commit": commit, "covers": ["lib"], "dirty": [], "command": "cmd"}
    return {**base, **changes}


def test_stamp_at_head_is_fresh(repo: Path) -> None:
    head = git(repo, "rev-parse", "HEAD").stdout.strip()
    assert staleness(repo, "s", _stamp(head)) == ""


def test_change_outside_the_covered_paths_keeps_it_fresh(repo: Path) -> None:
    head = git(repo, "rev-parse", "HEAD").stdout.strip()
    (repo / "docs" / "x.md").write_text("y\n")
    _commit(repo, "docs only")
    assert staleness(repo, "s", _stamp(head)) == ""


def test_later_commit_to_a_covered_path_makes_it_stale_and_names_the_command(repo: Path) -> None:
    head = git(repo, "rev-parse", "HEAD").stdout.strip()
    (repo / "lib" / "a.py").write_text("A = 2\n")
    _commit(repo, "change lib")
    problem = staleness(repo, "s", _stamp(head))
    assert "stale" in problem and "change lib" in problem and "`cmd`" in problem


def test_dirty_measurement_unknown_commit_and_missing_fields_are_refused(repo: Path) -> None:
    head = git(repo, "rev-parse", "HEAD").stdout.strip()
    assert "no single commit holds" in staleness(repo, "s", _stamp(head, dirty=["lib/a.py"]))
    assert "not in this repository" in staleness(repo, "s", _stamp("0" * 40))
    assert "no commit or no covered path" in staleness(repo, "s", _stamp(head, covers=[]))


def test_commit_off_the_branch_is_refused(repo: Path) -> None:
    git(repo, "checkout", "-q", "-b", "side")
    (repo / "lib" / "a.py").write_text("A = 3\n")
    side = _commit(repo, "side")
    git(repo, "checkout", "-q", "-")
    assert "not an ancestor" in staleness(repo, "s", _stamp(side))


def test_read_stamp_wants_exactly_one() -> None:
    one = '<!-- bench:stamp {"section": "s", "commit": "x"} -->'
    assert read_stamp(f"a\n{one}\nb")["commit"] == "x"
    with pytest.raises(ValueError):
        read_stamp("no stamp here")
    with pytest.raises(ValueError):
        read_stamp(one + one)
