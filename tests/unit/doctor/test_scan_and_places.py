"""File discovery, the prefilter that decides which files to parse, and the line locators."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from portbook.doctor.checks_base import ConfLines, fallback_lines, manifest_lines
from portbook.doctor.scan import discover, import_roots, python_candidate, registry_number
from portbook.target import LocalTarget


def test_discovery_keeps_sources_and_never_enters_skipped_folders(tmp_path: Path) -> None:
    keep = [
        "app.py",
        "backend/api/svc.py",
        "backend/core/deep/er/mod.py",
        "scripts/restart.sh",
        "web/src/app.ts",
        "web/src/view.tsx",
        "web/src/widget.jsx",
        "web/lib.js",
    ]
    skip = [
        "venv/lib/site.py",
        ".venv/x.py",
        "node_modules/pkg/index.js",
        "web/node_modules/pkg/index.js",
        ".git/hooks/pre-commit.sh",
        "logs/old.py",
        "var/log/trace.py",
        ".portbook/backups/01-x.py",
        "backend/__pycache__/svc.py",
        "web/dist/bundle.min.js",
        "README.md",
        "backend/api/notes.txt",
        ".hidden.py",
    ]
    for rel in keep + skip:
        path = tmp_path / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("x = 1\n")
    os.symlink(tmp_path / "backend", tmp_path / "venv" / "loop")
    sources = discover(LocalTarget(), str(tmp_path), str(tmp_path / "var/log"))
    found = sorted(
        os.path.relpath(p, tmp_path) for p in (*sources.python, *sources.shell, *sources.js)
    )
    assert found == sorted(keep)
    assert len(sources) == len(keep)


def test_a_folder_name_with_glob_characters_is_walked_literally(tmp_path: Path) -> None:
    odd = tmp_path / "a[1]" / "svc.py"
    odd.parent.mkdir()
    odd.write_text("")
    (tmp_path / "a1").mkdir()
    (tmp_path / "a1" / "other.py").write_text("")
    assert discover(LocalTarget(), str(tmp_path)).python == (
        str(tmp_path / "a1" / "other.py"),
        str(odd),
    )


PORTS = frozenset({"8001", "8003"})


@pytest.mark.parametrize(
    "text",
    [
        "uvicorn.run(app, port=SERVICE_PORT)\n",
        "def serve(port=9):\n    pass\n",
        "PORT = 5\n",
        "s.bind(('', 80))\n",
        "HTTPServer(('', 80), H)\n",
        "app.run ('h', 5000)\n",
        "x = 'http://localhost:9999/x'\n",
        "import sys\nsys.path.append('.')\n",
        "from backend.core.port_config import get_port\n",
        "TIMEOUT = 8003\n",
        "from core.health import app\n",
        "import os, core\n",
    ],
)
def test_files_a_python_check_could_report_on_are_candidates(text: str) -> None:
    assert python_candidate(text, PORTS, {"core"})


@pytest.mark.parametrize(
    "text",
    [
        "import json\nfrom backend.core import health\n\n\ndef f():\n    return 80010\n",
        "'''A report on transport support.'''\nimport importlib\n",
        "x = 1.5\ny = [10, 20, 30]\n",
        "",
    ],
)
def test_plain_code_without_any_hint_is_not_parsed(text: str) -> None:
    assert not python_candidate(text, PORTS, {"core"})


def test_registry_numbers_are_whole_digit_runs() -> None:
    assert registry_number("a = 8001\n", PORTS)
    assert not registry_number("a = 80011\n", PORTS)
    assert not registry_number("a = 8001\n", frozenset())


def test_import_roots_are_the_first_names_of_each_imported_module() -> None:
    text = "import os.path, json as j\nfrom core.x import (\n  y,\n)\n    import api\n"
    assert import_roots(text) == {"os", "json", "core", "api"}


def test_manifest_lines_find_each_service_after_its_category() -> None:
    text = (
        '{\n  "system_info": {"main_app": "decoy"},\n  "core_services": {\n'
        '    "main_app": {"port": 1},\n    "b": {"port": 2}\n  },\n'
        '  "watchdog_services": {\n    "c\\u00e9": {"port": 3}\n  }\n}\n'
    )
    names = [("core_services", "main_app"), ("core_services", "b"), ("watchdog_services", "cé")]
    assert manifest_lines(text, names) == {"main_app": 4, "b": 5, "cé": 8}


def test_fallback_lines_list_every_entry_with_its_line_even_duplicates() -> None:
    text = (
        '"""P."""\n\nDEFAULT_PORTS: dict[str, int] = {\n    "a": 1,\n    "b": 2,\n    "a": 3,\n}\n'
    )
    assert fallback_lines(text) == (3, [("a", 1, 4), ("b", 2, 5), ("a", 3, 6)])
    assert fallback_lines("def broken(:\n") == (1, [])


def test_conf_lines_give_the_key_line_or_the_section_header() -> None:
    text = "[program:a]\ncommand=x\nenvironment=\n  A=1,\n  B=2\ncommand=y\n[program:b]\n"
    lines = ConfLines(text, "s.conf")
    assert lines.line("program:a", "command") == 6  # supervisor reads the later duplicate
    assert lines.line("program:a", "environment") == 3
    assert lines.line("program:a", "stdout_logfile") == 1
    assert lines.line("program:b") == 7
    assert lines.line("program:c", "command") is None
