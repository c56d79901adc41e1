"""Tests for portbook.registry.fallback: DEFAULT_PORTS read and byte-exact edits."""

from __future__ import annotations

import pytest
from portbook.errors import InvalidInput, ParseError
from portbook.registry.fallback import (
    add_port,
    default_ports_line,
    read_ports,
    remove_port,
    rename_port,
    set_port,
)

PATH = "backend/core/port_config.py"

# The operator manual's own example, verbatim, inside a realistic module.
SEED = '''"""Centralized port configuration."""

import json
import os

# Fallback ports, used when the manifest cannot be read.
DEFAULT_PORTS = {
    "main_app": 3000,
    "trade_manager": 4000,
    "trade_executor": 8001,
    "active_trade_supervisor": 6000,
    "btc_price_watchdog": 8002,
    "db_poller": 8003,
    "kalshi_account_sync": 8004,
    "kalshi_api_watchdog": 8005,
    "market_title_service": 8006,
    "NEW_SERVICE_NAME": 8007  # ← ADD HERE FIRST
}


def get_port(name: str) -> int:
    return DEFAULT_PORTS[name]
'''

TRAILING = """DEFAULT_PORTS = {
    "main_app": 3000,  # the web app
    "trade_manager": 4000,
}
"""

SINGLE_QUOTED = """DEFAULT_PORTS = {
  'main_app': 3000,
  'db_poller': 8003
}
"""

ROUND_TRIP_INPUTS = [
    SEED,
    TRAILING,
    SINGLE_QUOTED,
    "DEFAULT_PORTS = {}\n",
    "DEFAULT_PORTS = {\n}\n",
    "DEFAULT_PORTS = {'a': 1}\n",
    "DEFAULT_PORTS = {'a': 1, 'b': 2}\n",
    "DEFAULT_PORTS = {'a': 1, 'b': 2,}\n",
    "DEFAULT_PORTS = { 'a': 1 }\n",
    "DEFAULT_PORTS: dict[str, int] = {\n    'a': 1,\n    'b': 2}\n",
    "DEFAULT_PORTS = {'a': 1,\n                 'b': 2}\n",
    "DEFAULT_PORTS = {  # ports\n    'a': 1,  # one\n\n    # more below\n    'b': 2,  # two\n}\n",
    "DEFAULT_PORTS = {\r\n    'a': 1,\r\n    'b': 2\r\n}\r\n",
    "DEFAULT_PORTS = {\n\t'a': 1,\n\t'b': 2,\n}",
]


def test_read_ports_returns_the_seed_example_in_file_order() -> None:
    ports = read_ports(SEED, PATH)
    assert list(ports) == [
        "main_app",
        "trade_manager",
        "trade_executor",
        "active_trade_supervisor",
        "btc_price_watchdog",
        "db_poller",
        "kalshi_account_sync",
        "kalshi_api_watchdog",
        "market_title_service",
        "NEW_SERVICE_NAME",
    ]
    assert ports["NEW_SERVICE_NAME"] == 8007
    assert ports["main_app"] == 3000


def test_default_ports_line_is_the_assignment_line() -> None:
    assert default_ports_line(SEED, PATH) == 7


def test_read_accepts_annotated_assignment() -> None:
    text = "DEFAULT_PORTS: dict[str, int] = {'a': 8001, \"b\": 8002}\n"
    assert read_ports(text, PATH) == {"a": 8001, "b": 8002}


def test_add_keeps_comment_after_last_element_without_comma() -> None:
    result = add_port(SEED, PATH, "zeta_service", 8010)
    assert result == SEED.replace(
        '    "NEW_SERVICE_NAME": 8007  # ← ADD HERE FIRST\n}',
        '    "NEW_SERVICE_NAME": 8007,  # ← ADD HERE FIRST\n    "zeta_service": 8010\n}',
    )
    assert read_ports(result, PATH)["zeta_service"] == 8010


def test_remove_of_add_restores_the_seed_byte_for_byte() -> None:
    assert remove_port(add_port(SEED, PATH, "zeta_service", 8010), PATH, "zeta_service") == SEED


def test_add_follows_trailing_comma_habit() -> None:
    result = add_port(TRAILING, PATH, "db_poller", 8003)
    assert result == (
        "DEFAULT_PORTS = {\n"
        '    "main_app": 3000,  # the web app\n'
        '    "trade_manager": 4000,\n'
        '    "db_poller": 8003,\n'
        "}\n"
    )


def test_add_matches_single_quotes_and_two_space_indent() -> None:
    result = add_port(SINGLE_QUOTED, PATH, "new_one", 8009)
    assert (
        result
        == "DEFAULT_PORTS = {\n  'main_app': 3000,\n  'db_poller': 8003,\n  'new_one': 8009\n}\n"
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("DEFAULT_PORTS = {}\n", 'DEFAULT_PORTS = {"n": 8009}\n'),
        ("DEFAULT_PORTS = {'a': 1}\n", "DEFAULT_PORTS = {'a': 1, 'n': 8009}\n"),
        ("DEFAULT_PORTS = {'a': 1, 'b': 2,}\n", "DEFAULT_PORTS = {'a': 1, 'b': 2, 'n': 8009,}\n"),
        ("DEFAULT_PORTS = {'a':1,'b':2}\n", "DEFAULT_PORTS = {'a':1,'b':2,'n':8009}\n"),
        ("DEFAULT_PORTS = {\n}\n", 'DEFAULT_PORTS = {\n    "n": 8009,\n}\n'),
    ],
)
def test_add_to_one_line_and_empty_dicts(text: str, expected: str) -> None:
    assert add_port(text, PATH, "n", 8009) == expected


def test_add_keeps_crlf_line_endings() -> None:
    text = "DEFAULT_PORTS = {\r\n    'a': 1,\r\n}\r\n"
    assert (
        add_port(text, PATH, "b", 2) == "DEFAULT_PORTS = {\r\n    'a': 1,\r\n    'b': 2,\r\n}\r\n"
    )


@pytest.mark.parametrize("text", ROUND_TRIP_INPUTS)
def test_remove_of_add_is_identity(text: str) -> None:
    added = add_port(text, PATH, "brand_new", 8050)
    assert read_ports(added, PATH)["brand_new"] == 8050
    assert remove_port(added, PATH, "brand_new") == text


@pytest.mark.parametrize("text", ROUND_TRIP_INPUTS)
def test_edits_leave_a_readable_literal(text: str) -> None:
    added = add_port(text, PATH, "brand_new", 8050)
    for name in read_ports(added, PATH):
        rest = read_ports(remove_port(added, PATH, name), PATH)
        assert name not in rest
        assert len(rest) == len(read_ports(added, PATH)) - 1
        compile(remove_port(added, PATH, name), PATH, "exec")


def test_remove_middle_element_drops_its_line_and_own_comment() -> None:
    text = "DEFAULT_PORTS = {\n    'a': 1,  # one\n    'b': 2,  # two\n    'c': 3,\n}\n"
    assert remove_port(text, PATH, "b") == "DEFAULT_PORTS = {\n    'a': 1,  # one\n    'c': 3,\n}\n"


def test_remove_first_element_keeps_comment_on_opening_brace() -> None:
    text = "DEFAULT_PORTS = {  # ports\n    'a': 1,  # one\n    'b': 2,\n}\n"
    assert remove_port(text, PATH, "a") == "DEFAULT_PORTS = {  # ports\n    'b': 2,\n}\n"


def test_remove_last_element_keeps_previous_comment_and_comma_habit() -> None:
    text = "DEFAULT_PORTS = {\n    'a': 1,  # one\n    'b': 2,  # two\n}\n"
    assert remove_port(text, PATH, "b") == "DEFAULT_PORTS = {\n    'a': 1,  # one\n}\n"


def test_remove_seed_last_element_drops_its_comment() -> None:
    result = remove_port(SEED, PATH, "NEW_SERVICE_NAME")
    assert result == SEED.replace(
        '    "market_title_service": 8006,\n    "NEW_SERVICE_NAME": 8007  # ← ADD HERE FIRST\n',
        '    "market_title_service": 8006\n',
    )


def test_remove_only_element_leaves_empty_dict() -> None:
    assert remove_port("DEFAULT_PORTS = {'a': 1}\n", PATH, "a") == "DEFAULT_PORTS = {}\n"
    assert remove_port("DEFAULT_PORTS = {\n    'a': 1,\n}\n", PATH, "a") == "DEFAULT_PORTS = {\n}\n"


def test_set_port_changes_only_the_integer() -> None:
    result = set_port(SEED, PATH, "db_poller", 8020)
    assert result == SEED.replace('"db_poller": 8003,', '"db_poller": 8020,')


def test_set_port_on_commented_last_element() -> None:
    result = set_port(SEED, PATH, "NEW_SERVICE_NAME", 8099)
    assert result == SEED.replace("8007  # ←", "8099  # ←")


def test_rename_keeps_quote_style() -> None:
    result = rename_port(SINGLE_QUOTED, PATH, "db_poller", "db_watcher")
    assert result == SINGLE_QUOTED.replace("'db_poller'", "'db_watcher'")
    assert rename_port(SEED, PATH, "db_poller", "x") == SEED.replace('"db_poller"', '"x"')


@pytest.mark.parametrize(
    ("text", "line", "fragment"),
    [
        ("PORTS = {}\n", None, "no DEFAULT_PORTS dict literal"),
        (
            "x = 1\n\nDEFAULT_PORTS = dict(a=1)\n",
            3,
            "not a literal dict of str to int: it is a call",
        ),
        ("DEFAULT_PORTS = {k: 1 for k in 'ab'}\n", 1, "comprehension"),
        ("DEFAULT_PORTS = {\n    'a': 1,\n    2: 3,\n}\n", 3, "key is an int literal"),
        ("DEFAULT_PORTS = {\n    'a': '8001',\n}\n", 2, "value of 'a' is a str literal"),
        ("DEFAULT_PORTS = {\n    'a': PORT,\n}\n", 2, "value of 'a' is the name PORT"),
        ("DEFAULT_PORTS = {\n    'a': 1,\n    **OTHER,\n}\n", 3, "** splat"),
        ("DEFAULT_PORTS = {\n    'a': 1,\n    'a': 2,\n}\n", 3, "duplicate key 'a'"),
        ("DEFAULT_PORTS = {}\nDEFAULT_PORTS = {}\n", 2, "assigned more than once"),
    ],
)
def test_unreadable_default_ports_is_a_parse_error_naming_file_and_line(
    text: str, line: int | None, fragment: str
) -> None:
    with pytest.raises(ParseError) as caught:
        read_ports(text, PATH)
    assert caught.value.line == line
    prefix = PATH if line is None else f"{PATH}:{line}: "
    assert str(caught.value).startswith(prefix)
    assert fragment in str(caught.value)
    assert caught.value.code == 2


def test_syntax_error_names_line_and_column() -> None:
    with pytest.raises(ParseError) as caught:
        read_ports("DEFAULT_PORTS = {\n    'a': 1,\n    'b' 2,\n}\n", PATH)
    assert caught.value.line == 3
    assert caught.value.col is not None
    assert str(caught.value).startswith(f"{PATH}:3:")
    assert "\n" not in str(caught.value)


def test_edits_refuse_an_unreadable_file() -> None:
    with pytest.raises(ParseError):
        add_port("DEFAULT_PORTS = dict()\n", PATH, "a", 1)


def test_add_existing_name_is_invalid_input_naming_its_line() -> None:
    with pytest.raises(InvalidInput, match=rf"^{PATH}:13: DEFAULT_PORTS already has 'db_poller'"):
        add_port(SEED, PATH, "db_poller", 8050)


@pytest.mark.parametrize(
    "edit",
    [
        lambda: remove_port(SEED, PATH, "ghost"),
        lambda: set_port(SEED, PATH, "ghost", 8050),
        lambda: rename_port(SEED, PATH, "ghost", "spirit"),
    ],
)
def test_missing_name_is_invalid_input(edit: object) -> None:
    assert callable(edit)
    with pytest.raises(InvalidInput, match=rf"^{PATH}:7: DEFAULT_PORTS has no entry 'ghost'"):
        edit()


def test_rename_to_existing_name_is_invalid_input() -> None:
    with pytest.raises(InvalidInput, match="already has 'main_app'"):
        rename_port(SEED, PATH, "db_poller", "main_app")


@pytest.mark.parametrize("port", [0, 65536, -1, True])
def test_out_of_range_port_is_invalid_input(port: int) -> None:
    with pytest.raises(InvalidInput, match="not an integer between 1 and 65535"):
        add_port(SEED, PATH, "fresh", port)


def test_name_that_needs_escaping_is_invalid_input() -> None:
    with pytest.raises(InvalidInput, match="cannot be a plain string key"):
        add_port(SEED, PATH, 'bad"name', 8050)
