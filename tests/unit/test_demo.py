"""Installing the demo: its interpreter link, and working copies never overwritten."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest
from portbook.errors import InvalidInput
from portbook.sim.demo import MARKER, changed_files, link_interpreter, prepare_demo


def test_inside_a_virtualenv_the_whole_environment_is_linked(tmp_path: Path) -> None:
    if sys.prefix == sys.base_prefix:
        pytest.skip("runs inside a virtualenv only (the README's commands make one)")
    link_interpreter(tmp_path)
    venv = tmp_path / "venv"
    assert venv.is_symlink()
    assert os.path.realpath(venv) == os.path.realpath(sys.prefix)
    assert (venv / "pyvenv.cfg").is_file()


def test_an_older_link_to_python_alone_is_replaced(tmp_path: Path) -> None:
    old = tmp_path / "venv" / "bin"
    old.mkdir(parents=True)
    (old / "python").symlink_to(sys.executable)
    link_interpreter(tmp_path)
    python = tmp_path / "venv" / "bin" / "python"
    assert os.path.realpath(python) == os.path.realpath(sys.executable)
    if sys.prefix != sys.base_prefix:
        assert (tmp_path / "venv").is_symlink()


def test_an_operators_own_virtualenv_is_left_alone(tmp_path: Path) -> None:
    venv = tmp_path / "venv"
    (venv / "bin").mkdir(parents=True)
    (venv / "pyvenv.cfg").write_text("home = /usr/bin\n")
    (venv / "bin" / "python").symlink_to("/usr/bin/python3")
    link_interpreter(tmp_path)
    assert not venv.is_symlink()
    assert (venv / "pyvenv.cfg").read_text() == "home = /usr/bin\n"


def test_a_new_folder_gets_a_marked_copy_then_is_kept(tmp_path: Path) -> None:
    root = tmp_path / "demo"
    assert prepare_demo(str(root), fresh=False) == [f"installed the demo at {root}"]
    assert (root / MARKER).is_file()
    assert changed_files(root) == []
    script = root / "backend" / "api" / "db_poller.py"
    script.write_text("# mine\n")
    (root / "backend" / "api" / "extra.py").write_text("# new\n")

    notes = prepare_demo(str(root), fresh=False)

    assert script.read_text() == "# mine\n"
    assert "2 file(s) differ from the shipped demo" in notes[0]
    assert "backend/api/db_poller.py, backend/api/extra.py" in notes[0]


def test_fresh_starts_a_working_copy_over(tmp_path: Path) -> None:
    root = tmp_path / "demo"
    prepare_demo(str(root), fresh=False)
    (root / "backend" / "api" / "db_poller.py").write_text("# mine\n")
    prepare_demo(str(root), fresh=True)
    assert changed_files(root) == []


@pytest.mark.parametrize("fresh", [False, True])
def test_a_folder_that_is_not_a_demo_is_refused_and_untouched(tmp_path: Path, fresh: bool) -> None:
    (tmp_path / "notes.txt").write_text("keep me\n")
    with pytest.raises(InvalidInput, match="is not a portbook demo working copy"):
        prepare_demo(str(tmp_path), fresh=fresh)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt"]
