"""The ast reader of Python files: the same hardcoded ports as the libcst lint, and more facts."""

from __future__ import annotations

import pytest
from portbook.doctor.checks_pyfacts import python_facts
from portbook.registry.code import find_hardcoded_ports

REGISTRY = frozenset({8001, 8003})

# Each snippet is linted by both readers; the ast one must find the same literals for the
# same reasons (line, value, reason), so doctor reports exactly what --fix-code would fix.
CORPUS = {
    "uvicorn keyword": "import uvicorn\nuvicorn.run(app, host='0.0.0.0', port=8007)\n",
    "uvicorn positional": "import uvicorn\nuvicorn.run(app, '0.0.0.0', 8007)\n",
    "uvicorn Config": "import uvicorn\ncfg = uvicorn.Config(app, '127.0.0.1', 8010)\n",
    "flask run": "app.run('0.0.0.0', 5000)\n",
    "run with a non-string first argument": "app.run(debug, 5000)\n",
    "socket bind": "import socket\ns = socket.socket()\ns.bind(('', 8020))\n",
    "http server": "from http.server import HTTPServer\nHTTPServer(('', 8021), H)\n",
    "threading server attribute": "import http.server as h\nh.ThreadingHTTPServer(('', 81), H)\n",
    "argparse default": "p.add_argument('--port', type=int, default=8030)\n",
    "other argparse option": "p.add_argument('--workers', type=int, default=8030)\n",
    "parameter default": "def serve(host, port=8040):\n    return host, port\n",
    "keyword-only default": "def serve(*, port=8041):\n    return port\n",
    "lambda default": "serve = lambda port=8042: port\n",
    "constant used as port": "PORT = 8050\nuvicorn.run(app, port=PORT)\n",
    "annotated constant": "PORT: int = 8051\nuvicorn.run(app, port=PORT)\n",
    "constant never used as port": "TIMEOUT = 8052\n",
    "registered literal anywhere": "TIMEOUT = 8001\nfoo(8003)\n",
    "negative registered literal": "x = -8001\n",
    "not a bool": "uvicorn.run(app, port=True)\n",
    "hex literal": "uvicorn.run(app, port=0x1F4B)\n",
    "nested calls": "start(uvicorn.Config(app, 'h', 8060), port=8061)\n",
    "two uses, first reason kept": "PORT = 8070\ns.bind(('', PORT))\nrun(port=PORT)\n",
    "get_port is fine": "from x import get_port\nuvicorn.run(app, port=get_port('a'))\n",
    "starred positional": "uvicorn.run(*args, 'h', 8080)\n",
}


@pytest.mark.parametrize("name", sorted(CORPUS))
def test_ast_reader_finds_the_same_hardcoded_ports_as_the_libcst_lint(name: str) -> None:
    text = CORPUS[name]
    want = [(h.line, h.value, h.reason) for h in find_hardcoded_ports(text, "x.py", REGISTRY)]
    got = [(h.line, h.value, h.reason) for h in python_facts(text, REGISTRY).ports]
    assert got == want


def test_the_corpus_exercises_both_hits_and_misses() -> None:
    found = {n for n, t in CORPUS.items() if find_hardcoded_ports(t, "x.py", REGISTRY)}
    assert 5 < len(found) < len(CORPUS)


def test_a_localhost_url_in_a_string_is_a_hardcoded_port_on_its_own_line() -> None:
    text = 'import requests\n\nURL = """\nfirst\nhttp://localhost:8001/health"""\n'
    hits = python_facts(text, frozenset()).ports
    assert [(h.line, h.value, h.reason) for h in hits] == [(5, 8001, "localhost:8001 in a string")]


def test_a_url_in_an_f_string_part_is_found_and_a_docstring_is_not() -> None:
    text = (
        '"""Talks to http://127.0.0.1:8003/ (documentation only)."""\n'
        "def status(path):\n"
        '    """See 0.0.0.0:9000."""\n'
        '    return get(f"http://127.0.0.1:8003/{path}")\n'
    )
    hits = python_facts(text, frozenset()).ports
    assert [(h.line, h.value) for h in hits] == [(4, 8003)]


def test_get_port_names_come_from_direct_aliased_and_attribute_calls() -> None:
    text = (
        "from backend.core.port_config import get_port as gp\n"
        "import backend.core.port_config as pc\n"
        "A = gp('main_app')\n"
        "B = pc.get_port('db_poller')\n"
        "C = get_port(service_name='trade_manager')\n"
        "D = get_port(NAME)\n"
    )
    facts = python_facts(text, frozenset())
    assert facts.get_port == [(3, "main_app"), (4, "db_poller"), (5, "trade_manager")]
    assert facts.called == {"main_app", "db_poller", "trade_manager"}


def test_absolute_imports_are_listed_with_their_lines_and_relative_ones_are_not() -> None:
    text = "import os, core.health\nfrom backend.core import x\nfrom . import y\nfrom .z import w\n"
    assert python_facts(text, frozenset()).imports == [
        (1, "os"),
        (1, "core.health"),
        (2, "backend.core"),
    ]


@pytest.mark.parametrize(
    ("text", "absolute"),
    [
        ("import sys\nsys.path.append('/home/alice/recio')\n", True),
        ("import sys, os\nsys.path.insert(0, os.path.dirname(__file__))\n", False),
        ("import sys\nsys.path[:] = [ROOT, *sys.path]\n", False),
        ("import sys\nsys.path = ['/opt/x'] + sys.path\n", True),
        ("import sys\nsys.path += ['lib']\n", False),
        ("import site\nsite.addsitedir('/srv/lib')\n", True),
        ("import sys\nsys.path.extend(paths)\n", False),
    ],
)
def test_every_way_of_changing_sys_path_is_found_on_line_2(text: str, absolute: bool) -> None:
    assert python_facts(text, frozenset()).sys_path == [(2, absolute)]


def test_reading_sys_path_is_not_changing_it() -> None:
    text = "import sys\nprint(sys.path)\nfirst = sys.path[0]\n"
    assert python_facts(text, frozenset()).sys_path == []


def test_a_syntax_error_is_reported_with_its_line_and_nothing_else() -> None:
    facts = python_facts("x = 1\ndef broken(:\n    pass\n", REGISTRY)
    assert facts.syntax_error is not None and facts.syntax_error[0] == 2
    assert facts.ports == [] and facts.imports == []
