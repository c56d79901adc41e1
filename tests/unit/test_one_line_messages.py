"""Every message is one line: a process started as ``python3 -c "a\\nb"`` is shown escaped."""

from __future__ import annotations

import pytest
from portbook.errors import InvalidInput, ParseError, PortbookError, PortConflict, one_line
from portbook.host.strays import ForeignHolder, describe, mask_argv
from portbook.registry.ports import check_port
from portbook.registry.system import System
from portbook.target import ProcInfo
from portbook.target.fake import FakeTarget

SCRIPT = "import socket\ns = socket.socket()\ns.bind(('127.0.0.1', 8030))\n\ts.listen()"


def test_one_line_escapes_newlines_tabs_and_other_control_characters() -> None:
    text = "a\nb\r\nc\td\x1b[31me\x00f\u2028g\x7f"
    assert one_line(text) == "a\\nb\\r\\nc\\td\\x1b[31me\\x00f\\u2028g\\x7f"


def test_one_line_keeps_printable_text_and_unicode_and_drops_trailing_whitespace() -> None:
    assert one_line("port 8003 -> 8010: café ok  \n") == "port 8003 -> 8010: café ok"


@pytest.mark.parametrize("error", [PortbookError, InvalidInput, PortConflict])
def test_every_portbook_error_message_is_one_line(error: type[PortbookError]) -> None:
    exc = error(f"8030 is held by pid 1: python3 -c {SCRIPT}")
    assert len(str(exc).splitlines()) == 1
    assert str(exc) == exc.message
    assert "import socket\\ns = socket.socket()" in str(exc)


def test_a_parse_error_with_a_multiline_message_is_one_line_with_its_location() -> None:
    exc = ParseError("/srv/x.conf", 3, "bad value\n  here")
    assert str(exc) == "/srv/x.conf:3: bad value\\n  here"


def test_a_process_command_line_is_described_on_one_line() -> None:
    info = ProcInfo(4121, 1, ("python3", "-c", SCRIPT), "/", "alice", 0.0)
    for text in (info.describe(), describe(info), mask_argv(info.cmdline)):
        assert len(text.splitlines()) == 1, text
        assert "python3 -c import socket\\ns = socket.socket()" in text
    line = ForeignHolder(8030, "risk", info).line()
    assert len(line.splitlines()) == 1


def test_a_refused_port_held_by_a_multiline_command_names_it_on_one_line(
    system: System, target: FakeTarget
) -> None:
    target.add_process(4121, ["python3", "-c", SCRIPT])
    listeners = [target.listen(8030, 4121)]
    with pytest.raises(PortConflict) as caught:
        check_port(8030, system, target, listeners)
    message = str(caught.value)
    assert message.startswith("8030 is held by pid 4121: python3 -c import socket\\ns = ")
    assert "\n" not in message and "\t" not in message
