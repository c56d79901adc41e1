"""Tests for portbook.registry.code: hardcoded-port detection, the fix, and the service template."""

from __future__ import annotations

import asyncio
import sys
import types
from pathlib import Path
from typing import Any

import pytest
from portbook.errors import InvalidInput, ParseError
from portbook.registry.code import (
    HardcodedPort,
    calls_get_port,
    find_hardcoded_ports,
    fix_hardcoded_ports,
    get_port_names,
    rename_get_port,
    service_template,
)

PATH = "backend/api/watchdog/new_service.py"
REGISTRY = frozenset({3000, 4000, 6000, 8001, 8002, 8003, 8004, 8005, 8006})
NONE: frozenset[int] = frozenset()

SERVICE = '''"""A watchdog."""

import os
import sys

import uvicorn
from fastapi import FastAPI

app = FastAPI()
TIMEOUT = 30


@app.get("/health")
def health() -> dict[str, str]:
    return {"status": "ok"}  # keep this comment


if __name__ == "__main__":
    uvicorn.run(app, host="0.0.0.0", port=8007)
'''

SERVICE_FIXED = '''"""A watchdog."""

import os
import sys

import uvicorn
from fastapi import FastAPI
from backend.core.port_config import get_port

SERVICE_PORT = get_port("new_service")

app = FastAPI()
TIMEOUT = 30


@app.get("/health")
def health() -> dict[str, str]:
    return {"status": "ok"}  # keep this comment


if __name__ == "__main__":
    uvicorn.run(app, host="0.0.0.0", port=SERVICE_PORT)
'''

CLEAN = """from backend.core.port_config import get_port
import uvicorn

SERVICE_PORT = get_port("new_service")
uvicorn.run(app, host="0.0.0.0", port=SERVICE_PORT, workers=4)
"""


def _values(text: str, registry: frozenset[int] = NONE) -> list[tuple[int, int, int]]:
    return [(h.line, h.col, h.value) for h in find_hardcoded_ports(text, PATH, registry)]


def test_flags_uvicorn_run_port_keyword() -> None:
    assert find_hardcoded_ports(SERVICE, PATH, NONE) == [
        HardcodedPort(PATH, 19, 43, 8007, "port given as port= to uvicorn.run")
    ]


def test_flags_uvicorn_run_positional_port() -> None:
    hits = find_hardcoded_ports('uvicorn.run("main:app", "0.0.0.0", 8123)\n', PATH, NONE)
    assert [(h.value, h.reason) for h in hits] == [(8123, "port passed to uvicorn.run")]


def test_flags_app_run_keyword_and_positional() -> None:
    text = 'app.run(port=5000)\napp.run("0.0.0.0", 5001, debug=True)\n'
    assert _values(text) == [(1, 14, 5000), (2, 20, 5001)]


def test_flags_socket_bind_address_tuple() -> None:
    text = 'import socket\ns = socket.socket()\ns.bind(("0.0.0.0", 9100))\n'
    hits = find_hardcoded_ports(text, PATH, NONE)
    assert [(h.line, h.value, h.reason) for h in hits] == [
        (3, 9100, "port in the address given to s.bind")
    ]


def test_flags_http_server_address_and_uvicorn_config() -> None:
    text = 'srv = HTTPServer(("", 8111), Handler)\ncfg = uvicorn.Config(app, "::", 8112)\n'
    assert [v for _, _, v in _values(text)] == [8111, 8112]


def test_flags_port_constant_at_its_assignment() -> None:
    text = "import uvicorn\n\nPORT = 8007\nuvicorn.run(app, port=PORT)\n"
    assert find_hardcoded_ports(text, PATH, NONE) == [
        HardcodedPort(PATH, 3, 8, 8007, "constant PORT given as port= to uvicorn.run")
    ]


def test_flags_parameter_default_and_argparse_default() -> None:
    text = 'def serve(port=8200):\n    pass\nparser.add_argument("--port", default=8201)\n'
    assert [v for _, _, v in _values(text)] == [8200, 8201]


def test_flags_any_literal_equal_to_a_registry_port() -> None:
    text = "TRADE_MANAGER = 4000\nretries = 3\n"
    hits = find_hardcoded_ports(text, PATH, REGISTRY)
    assert hits == [HardcodedPort(PATH, 1, 17, 4000, "literal equal to a registered port")]


def test_ignores_other_integers() -> None:
    text = "x = 30\nfor i in range(10):\n    sleep(5)\nrequests.get(url, timeout=8)\n"
    assert find_hardcoded_ports(text, PATH, REGISTRY) == []


def test_clean_file_using_get_port_has_no_findings() -> None:
    assert find_hardcoded_ports(CLEAN, PATH, REGISTRY) == []
    assert calls_get_port(CLEAN, "new_service")


def test_each_literal_is_reported_once_in_source_order() -> None:
    text = "uvicorn.run(app, port=8001)\nx = 8001\n"
    assert _values(text, REGISTRY) == [(1, 23, 8001), (2, 5, 8001)]


def test_syntax_error_is_a_parse_error_with_line_and_column() -> None:
    with pytest.raises(ParseError) as caught:
        find_hardcoded_ports("import os\ndef f(:\n    pass\n", PATH, NONE)
    assert (caught.value.line, caught.value.col) == (2, 7)
    assert str(caught.value).startswith(f"{PATH}:2:7: invalid Python syntax")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('from backend.core.port_config import get_port\nP = get_port("new_service")\n', True),
        ('from backend.core import port_config\nP = port_config.get_port("new_service")\n', True),
        ('from backend.core.port_config import get_port as gp\nP = gp("new_service")\n', True),
        ("P = get_port('new_service')\n", True),
        ('from backend.core.port_config import get_port\nP = get_port("other")\n', False),
        ("P = 8007\n", False),
    ],
)
def test_calls_get_port_recognises_import_forms(text: str, expected: bool) -> None:
    assert calls_get_port(text, "new_service") is expected


def test_fix_rewrites_literal_and_adds_import_after_last_import() -> None:
    fixed = fix_hardcoded_ports(SERVICE, PATH, "new_service", REGISTRY)
    assert fixed == SERVICE_FIXED
    compile(fixed, PATH, "exec")
    assert find_hardcoded_ports(fixed, PATH, REGISTRY) == []
    assert calls_get_port(fixed, "new_service")


def test_fix_is_idempotent_and_leaves_clean_files_alone() -> None:
    fixed = fix_hardcoded_ports(SERVICE, PATH, "new_service", REGISTRY)
    assert fix_hardcoded_ports(fixed, PATH, "new_service", REGISTRY) == fixed
    assert fix_hardcoded_ports(CLEAN, PATH, "new_service", REGISTRY) == CLEAN


def test_fix_rewrites_every_kind_of_finding() -> None:
    text = (
        "import socket\nimport uvicorn\n\nPORT = 8007  # old port\nOTHER = 8002\n\n\n"
        "def serve(port=9000):\n"
        '    socket.socket().bind(("", 9001))\n'
        '    app.run("0.0.0.0", (9002))\n'
        "    uvicorn.run(app, port=PORT)\n"
    )
    fixed = fix_hardcoded_ports(text, PATH, "new_service", REGISTRY)
    assert fixed == (
        "import socket\nimport uvicorn\nfrom backend.core.port_config import get_port\n\n"
        'SERVICE_PORT = get_port("new_service")\n\n'
        "PORT = SERVICE_PORT  # old port\nOTHER = SERVICE_PORT\n\n\n"
        "def serve(port=SERVICE_PORT):\n"
        '    socket.socket().bind(("", SERVICE_PORT))\n'
        '    app.run("0.0.0.0", (SERVICE_PORT))\n'
        "    uvicorn.run(app, port=PORT)\n"
    )
    compile(fixed, PATH, "exec")
    assert find_hardcoded_ports(fixed, PATH, REGISTRY) == []


def test_fix_reuses_existing_get_port_import() -> None:
    text = "from backend.core.port_config import get_port\n\nuvicorn.run(app, port=8007)\n"
    fixed = fix_hardcoded_ports(text, PATH, "new_service", NONE)
    assert fixed == (
        "from backend.core.port_config import get_port\n\n"
        'SERVICE_PORT = get_port("new_service")\n\nuvicorn.run(app, port=SERVICE_PORT)\n'
    )


def test_fix_turns_a_literal_service_port_into_get_port() -> None:
    text = "import uvicorn\n\nSERVICE_PORT = 8007\nuvicorn.run(app, port=SERVICE_PORT)\n"
    fixed = fix_hardcoded_ports(text, PATH, "new_service", NONE)
    assert fixed == (
        "import uvicorn\nfrom backend.core.port_config import get_port\n\n"
        'SERVICE_PORT = get_port("new_service")\nuvicorn.run(app, port=SERVICE_PORT)\n'
    )


def test_fix_in_file_without_imports_goes_after_docstring() -> None:
    fixed = fix_hardcoded_ports('"""Doc."""\n\nrun(port=8007)\n', PATH, "svc", NONE)
    assert fixed == (
        '"""Doc."""\n\nfrom backend.core.port_config import get_port\n\n'
        'SERVICE_PORT = get_port("svc")\n\nrun(port=SERVICE_PORT)\n'
    )
    compile(fixed, PATH, "exec")


def test_fix_keeps_crlf_line_endings() -> None:
    text = "import uvicorn\r\nuvicorn.run(app, port=8007)\r\n"
    fixed = fix_hardcoded_ports(text, PATH, "svc", NONE)
    assert fixed == (
        "import uvicorn\r\nfrom backend.core.port_config import get_port\r\n\r\n"
        'SERVICE_PORT = get_port("svc")\r\nuvicorn.run(app, port=SERVICE_PORT)\r\n'
    )


def test_fix_refuses_a_service_port_set_another_way() -> None:
    text = "SERVICE_PORT = int(os.environ['P'])\nuvicorn.run(app, port=8007)\n"
    with pytest.raises(InvalidInput, match=f"^{PATH}: SERVICE_PORT is set without get_port"):
        fix_hardcoded_ports(text, PATH, "svc", NONE)


def test_fix_adds_get_port_call_even_without_findings() -> None:
    fixed = fix_hardcoded_ports("import os\n", PATH, "svc", NONE)
    assert fixed == (
        "import os\nfrom backend.core.port_config import get_port\n\n"
        'SERVICE_PORT = get_port("svc")\n'
    )


def test_template_is_clean_and_calls_get_port() -> None:
    source = service_template("new_service")
    compile(source, "new_service.py", "exec")
    assert find_hardcoded_ports(source, PATH, frozenset(range(65536))) == []
    assert calls_get_port(source, "new_service")
    assert "from backend.core.port_config import get_port" in source
    assert 'SERVICE_PORT = get_port("new_service")' in source
    assert 'uvicorn.run(app, host="127.0.0.1", port=SERVICE_PORT, log_level="warning")' in source
    assert 'if __name__ == "__main__":' in source
    assert "fastapi" not in source.lower()


def _load_template(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> dict[str, Any]:
    port_config = types.ModuleType("backend.core.port_config")
    port_config.get_port = lambda name: {"new_service": 8123}[name]  # type: ignore[attr-defined]
    for name, module in [
        ("backend", types.ModuleType("backend")),
        ("backend.core", types.ModuleType("backend.core")),
        ("backend.core.port_config", port_config),
    ]:
        monkeypatch.setitem(sys.modules, name, module)
    path = tmp_path / "new_service.py"
    namespace: dict[str, Any] = {"__name__": "new_service", "__file__": str(path)}
    exec(compile(service_template("new_service"), str(path), "exec"), namespace)
    return namespace


def _call(app: Any, scope: dict[str, Any], incoming: list[dict[str, Any]]) -> list[dict[str, Any]]:
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return incoming.pop(0)

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    asyncio.run(app(scope, receive, send))
    return sent


def test_template_app_answers_health_404_and_lifespan(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    namespace = _load_template(monkeypatch, tmp_path)
    assert namespace["SERVICE_PORT"] == 8123
    app = namespace["app"]
    health = _call(app, {"type": "http", "method": "GET", "path": "/health"}, [])
    assert health[0]["status"] == 200
    assert health[1]["body"] == b'{"service": "new_service", "status": "ok"}'
    missing = _call(app, {"type": "http", "method": "GET", "path": "/nope"}, [])
    assert missing[0]["status"] == 404
    lifespan = [{"type": "lifespan.startup"}, {"type": "lifespan.shutdown"}]
    assert [m["type"] for m in _call(app, {"type": "lifespan"}, lifespan)] == [
        "lifespan.startup.complete",
        "lifespan.shutdown.complete",
    ]


def test_template_rejects_unprintable_names() -> None:
    with pytest.raises(InvalidInput):
        service_template("bad\nname")


def test_fix_ignores_imports_inside_the_main_guard() -> None:
    text = (
        "import json\n\n\ndef main() -> None:\n    pass\n\n\n"
        'if __name__ == "__main__":\n    import uvicorn\n\n    uvicorn.run(app, port=8007)\n'
    )
    fixed = fix_hardcoded_ports(text, PATH, "svc", NONE)
    assert fixed == (
        "import json\nfrom backend.core.port_config import get_port\n\n"
        'SERVICE_PORT = get_port("svc")\n\n\ndef main() -> None:\n    pass\n\n\n'
        'if __name__ == "__main__":\n    import uvicorn\n\n'
        "    uvicorn.run(app, port=SERVICE_PORT)\n"
    )


def test_fix_defines_service_port_before_a_constant_set_between_imports() -> None:
    text = "import sys\nPORT = 8007\nimport uvicorn\nuvicorn.run(app, port=PORT)\n"
    fixed = fix_hardcoded_ports(text, PATH, "svc", NONE)
    assert fixed == (
        "import sys\nfrom backend.core.port_config import get_port\n\n"
        'SERVICE_PORT = get_port("svc")\nPORT = SERVICE_PORT\nimport uvicorn\n'
        "uvicorn.run(app, port=PORT)\n"
    )


# --- get_port names: list and rename -----------------------------------------------------

CALLS = """from backend.core.port_config import get_port
from backend.core.port_config import get_port as gp
from backend.core import port_config

A = get_port("old")  # the old one
B = gp('old')
C = port_config.get_port(r"old") + get_port('''old''')
D = get_port("other"), get_port("old")
SERVICE_NAME = "old"
log("old", get_port(f"{x}"), get_port("ol" "d"), get_port(b"old"), get_port(name))
E = get_port("older")
"""

CALLS_RENAMED = """from backend.core.port_config import get_port
from backend.core.port_config import get_port as gp
from backend.core import port_config

A = get_port("new_name")  # the old one
B = gp('new_name')
C = port_config.get_port(r"new_name") + get_port('''new_name''')
D = get_port("other"), get_port("new_name")
SERVICE_NAME = "old"
log("old", get_port(f"{x}"), get_port("ol" "d"), get_port(b"old"), get_port(name))
E = get_port("older")
"""


def test_get_port_names_lists_literal_names_once_in_source_order() -> None:
    assert get_port_names(CALLS, PATH) == ["old", "other", "older"]


def test_get_port_names_agrees_with_calls_get_port() -> None:
    for name in ("old", "other", "older", "ol", "d", "new_name"):
        assert calls_get_port(CALLS, name) is (name in get_port_names(CALLS, PATH))


def test_get_port_names_of_a_file_without_calls_is_empty() -> None:
    assert get_port_names(SERVICE, PATH) == []
    assert get_port_names(service_template("svc"), PATH) == ["svc"]


def test_get_port_names_reports_a_syntax_error_as_parse_error() -> None:
    with pytest.raises(ParseError) as caught:
        get_port_names("x = get_port(\n", PATH)
    assert str(caught.value).startswith(f"{PATH}:")


def test_rename_get_port_rewrites_only_the_call_names_keeping_quote_styles() -> None:
    assert rename_get_port(CALLS, PATH, "old", "new_name") == CALLS_RENAMED


def test_rename_get_port_and_back_restores_the_text() -> None:
    renamed = rename_get_port(CALLS, PATH, "old", "new_name")
    assert rename_get_port(renamed, PATH, "new_name", "old") == CALLS
    assert get_port_names(renamed, PATH) == ["new_name", "other", "older"]


def test_rename_get_port_leaves_a_file_without_the_call_unchanged() -> None:
    assert rename_get_port(SERVICE, PATH, "old", "new") == SERVICE
    assert rename_get_port(CALLS, PATH, "absent", "new") == CALLS


def test_rename_get_port_keeps_crlf_and_the_rest_of_a_template() -> None:
    source = service_template("svc").replace("\n", "\r\n")
    renamed = rename_get_port(source, PATH, "svc", "api")
    assert renamed == source.replace('get_port("svc")', 'get_port("api")')
    assert 'SERVICE_NAME = "svc"' in renamed


def test_rename_get_port_escapes_a_quote_the_literal_style_needs() -> None:
    renamed = rename_get_port("p = get_port('old')\n", PATH, "old", "it's")
    assert renamed == "p = get_port('it\\'s')\n"
    assert get_port_names(renamed, PATH) == ["it's"]


@pytest.mark.parametrize("new", ["", "a\nb", "tab\there"])
def test_rename_get_port_refuses_names_that_cannot_be_source(new: str) -> None:
    with pytest.raises(InvalidInput, match="cannot be written into source code"):
        rename_get_port(CALLS, PATH, "old", new)


def test_rename_get_port_refuses_a_name_a_raw_literal_cannot_spell() -> None:
    with pytest.raises(InvalidInput, match=r"cannot write .* inside r'old'"):
        rename_get_port("p = get_port(r'old')\n", PATH, "old", "it's")
