"""Hardcoded ports in shell scripts and JavaScript: the pure regex finders."""

from __future__ import annotations

from collections.abc import Sequence

from portbook.doctor.checks_text import PortList, TextHit, js_ports, shell_port_lists, shell_ports

REGISTRY = frozenset({3000, 4000, 8001})


def found(hits: Sequence[TextHit]) -> list[tuple[int, int]]:
    return [(h.line, h.value) for h in hits]


def test_shell_port_lists_are_arrays_and_quoted_strings_of_plain_integers() -> None:
    text = (
        "#!/bin/bash\n"
        "PORTS=(3000 4000 8001)\n"
        'export SERVICE_PORTS="3000 4000"\n'
        "declare -a core_ports=(\n  3000\n  4000\n)\n"
        'MAIN_PORT="8001"\n'
        "SUPPORTED=(1 2 3)\n"
        "MIXED_PORTS=(3000 $EXTRA)\n"
        "# OLD_PORTS=(1 2)\n"
    )
    assert shell_port_lists(text) == [
        PortList(2, "PORTS", (3000, 4000, 8001)),
        PortList(3, "SERVICE_PORTS", (3000, 4000)),
        PortList(4, "core_ports", (3000, 4000)),
    ]


def test_shell_numbers_outside_lists_are_found_by_their_context() -> None:
    text = (
        "PORTS=(3000 4000)\n"
        "MAIN_PORT=8001\n"
        'PORT="${PORT:-8080}"\n'
        "lsof -i :3000 | grep LISTEN\n"
        "lsof -nP -iTCP:4000 -sTCP:LISTEN\n"
        "fuser -k 9000/tcp\n"
        "python app.py --port 8002\n"
        "curl -fsS http://localhost:8003/health\n"
        "for p in 3000 4000 5; do echo $p; done\n"
        "MIXED_PORTS=(3000 $EXTRA)\n"
    )
    assert found(shell_ports(text, REGISTRY)) == [
        (2, 8001),
        (3, 8080),
        (4, 3000),
        (5, 4000),
        (6, 9000),
        (7, 8002),
        (8, 8003),
        (9, 3000),
        (9, 4000),
        (10, 3000),
    ]


def test_shell_comments_and_unrelated_numbers_are_not_ports() -> None:
    text = (
        "# lsof -i :3000 to see who holds it\n"
        "sleep 3000\n"
        "echo $# args  # PORT=8001\n"
        "SUPPORT_LEVEL=3\n"
        "mkdir -p logs\n"
        "for i in 1 2 3; do :; done\n"
    )
    assert shell_ports(text, REGISTRY) == []


def test_js_ports_are_found_by_name_listen_fallback_and_url() -> None:
    text = (
        "const config = {\n"
        "  port: 3000,\n"
        '  "apiPort": 4000,\n'
        "};\n"
        "const PORT = process.env.PORT || 8080;\n"
        "server.listen(9001);\n"
        "fetch('http://localhost:8001/api');\n"
        "const SERVICE_PORT = 8002;\n"
    )
    assert found(js_ports(text)) == [
        (2, 3000),
        (3, 4000),
        (5, 8080),
        (6, 9001),
        (7, 8001),
        (8, 8002),
    ]


def test_js_comments_imports_and_reports_are_not_ports() -> None:
    text = (
        "// port: 3000 was the old one\n"
        "/* server.listen(4000)\n   localhost:8001 */\n"
        "import report from './report';\n"
        "const transport = 5;\n"
        "const url = 'https://cdn.example.com/x.js'; // cached: 60\n"
    )
    assert js_ports(text) == []
