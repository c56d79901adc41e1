"""Tests for portbook.registry.manifest: MASTER_PORT_MANIFEST.json read and text-level edits."""

from __future__ import annotations

import json

import pytest
from portbook.errors import InvalidInput, ParseError
from portbook.registry.manifest import (
    CATEGORIES,
    ManifestEntry,
    add_service,
    move_service,
    read_document,
    read_services,
    remove_service,
    rename_service,
    set_field,
)

PATH = "backend/core/config/MASTER_PORT_MANIFEST.json"

MANIFEST = """{
  "system_info": {
    "name": "REC.IO Trading System",
    "version": "2.1",
    "last_updated": "2025-01-27"
  },
  "core_services": {
    "main_app": {
      "port": 3000,
      "description": "Main web application 🚀",
      "status": "RUNNING"
    },
    "trade_manager": {
      "port": 4000,
      "description": "Trade management — orders & fills",
      "status": "RUNNING"
    },
    "trade_executor": {
      "port": 8001,
      "description": "Executes trades",
      "status": "RUNNING"
    },
    "active_trade_supervisor": {
      "port": 6000,
      "description": "Supervises active trades",
      "status": "RUNNING"
    }
  },
  "watchdog_services": {
    "btc_price_watchdog": {
      "port": 8002,
      "description": "BTC price feed",
      "status": "RUNNING"
    },
    "db_poller": {
      "port": 8003,
      "description": "Database poller",
      "status": "RUNNING"
    },
    "kalshi_account_sync": {
      "port": 8004,
      "description": "Kalshi account sync",
      "status": "RUNNING"
    },
    "kalshi_market_watchdog": {
      "port": 8005,
      "description": "Kalshi market watchdog",
      "status": "RUNNING"
    },
    "market_title_service": {
      "port": 8006,
      "description": "Market titles",
      "status": "RUNNING"
    }
  },
  "port_ranges": {
    "core_services": "3000-8001",
    "watchdog_services": "8002-8100",
    "avoid": [5000, 7000, 9000, 10000]
  },
  "config": {
    "restart_script": "scripts/MASTER_RESTART.sh"
  }
}
"""

NEW_FIELDS: dict[str, object] = {
    "port": 8007,
    "description": "New watchdog ✨",
    "status": "RUNNING",
}

ADDED_BLOCK = """,
    "new_watchdog": {
      "port": 8007,
      "description": "New watchdog ✨",
      "status": "RUNNING"
    }"""

MARKET_END = '"description": "Market titles",\n      "status": "RUNNING"\n    }'


def _variants() -> list[str]:
    doc = json.loads(MANIFEST)
    return [
        MANIFEST,
        json.dumps(doc, indent=4, ensure_ascii=False) + "\n",
        json.dumps(doc, indent="\t", ensure_ascii=False),
        json.dumps(doc, ensure_ascii=False),
        json.dumps(doc, separators=(",", ":"), ensure_ascii=False),
        json.dumps(doc, indent=2),  # \\u escapes instead of raw non-ASCII
        MANIFEST.replace("\n", "\r\n"),
    ]


def test_read_services_returns_both_categories_in_order() -> None:
    services = read_services(MANIFEST, PATH)
    assert list(services) == [
        "main_app",
        "trade_manager",
        "trade_executor",
        "active_trade_supervisor",
        "btc_price_watchdog",
        "db_poller",
        "kalshi_account_sync",
        "kalshi_market_watchdog",
        "market_title_service",
    ]
    assert services["main_app"] == ManifestEntry(
        "main_app", "core_services", 3000, "Main web application 🚀", "RUNNING"
    )
    assert services["db_poller"].category == "watchdog_services"
    assert CATEGORIES == ("core_services", "watchdog_services")


def test_read_services_tolerates_a_missing_category() -> None:
    text = '{"core_services": {"a": {"port": 3000}}}'
    assert read_services(text, PATH) == {"a": ManifestEntry("a", "core_services", 3000, "", "")}
    assert read_services("{}", PATH) == {}


def test_read_document_keeps_key_order() -> None:
    doc = read_document(MANIFEST, PATH)
    assert list(doc) == [
        "system_info",
        "core_services",
        "watchdog_services",
        "port_ranges",
        "config",
    ]
    assert doc["config"] == {"restart_script": "scripts/MASTER_RESTART.sh"}


def test_add_appends_last_member_with_two_space_indent() -> None:
    result = add_service(MANIFEST, PATH, "watchdog_services", "new_watchdog", NEW_FIELDS)
    assert result == MANIFEST.replace(MARKET_END, MARKET_END + ADDED_BLOCK)
    assert read_services(result, PATH)["new_watchdog"].port == 8007


def test_add_to_core_services_lands_before_the_category_closes() -> None:
    result = add_service(MANIFEST, PATH, "core_services", "new_core", {"port": 3001})
    anchor = '"description": "Supervises active trades",\n      "status": "RUNNING"\n    }'
    block = ',\n    "new_core": {\n      "port": 3001\n    }'
    assert result == MANIFEST.replace(anchor, anchor + block)


@pytest.mark.parametrize(("indent", "unit"), [(4, "    "), ("\t", "\t")])
def test_add_uses_the_files_own_indentation_unit(indent: int | str, unit: str) -> None:
    text = json.dumps(json.loads(MANIFEST), indent=indent, ensure_ascii=False)
    result = add_service(text, PATH, "watchdog_services", "new_watchdog", NEW_FIELDS)
    expected_block = (
        f',\n{unit * 2}"new_watchdog": {{\n{unit * 3}"port": 8007,\n'
        f'{unit * 3}"description": "New watchdog ✨",\n{unit * 3}"status": "RUNNING"\n{unit * 2}}}'
    )
    closing = f'"status": "RUNNING"\n{unit * 2}}}\n{unit}}},\n{unit}"port_ranges"'
    expected = text.replace(
        closing, closing.replace(f"\n{unit}}},", expected_block + f"\n{unit}}},", 1), 1
    )
    assert result == expected


def test_add_to_a_compact_single_line_file_stays_on_one_line() -> None:
    text = '{"core_services": {"a": {"port": 3000, "status": "RUNNING"}}, "config": {}}'
    result = add_service(text, PATH, "core_services", "b", {"port": 3001, "status": "RUNNING"})
    assert result == (
        '{"core_services": {"a": {"port": 3000, "status": "RUNNING"}, '
        '"b": {"port": 3001, "status": "RUNNING"}}, "config": {}}'
    )


def test_add_keeps_crlf_line_endings() -> None:
    text = MANIFEST.replace("\n", "\r\n")
    result = add_service(text, PATH, "watchdog_services", "new_watchdog", NEW_FIELDS)
    assert result == text.replace(
        MARKET_END.replace("\n", "\r\n"), (MARKET_END + ADDED_BLOCK).replace("\n", "\r\n")
    )


def test_add_writes_non_ascii_as_is() -> None:
    result = add_service(MANIFEST, PATH, "watchdog_services", "x", {"port": 8009, "d": "é 🎉"})
    assert '"d": "é 🎉"' in result
    assert "Main web application 🚀" in result


@pytest.mark.parametrize("text", _variants())
@pytest.mark.parametrize("category", CATEGORIES)
def test_remove_of_add_is_identity(text: str, category: str) -> None:
    added = add_service(text, PATH, category, "new_watchdog", NEW_FIELDS)
    assert read_services(added, PATH)["new_watchdog"].category == category
    assert remove_service(added, PATH, "new_watchdog") == text


def test_add_to_empty_category_lays_it_out_multi_line() -> None:
    text = '{\n  "core_services": {},\n  "watchdog_services": {}\n}\n'
    result = add_service(text, PATH, "watchdog_services", "w", {"port": 8002})
    assert result == (
        '{\n  "core_services": {},\n  "watchdog_services": {\n'
        '    "w": {\n      "port": 8002\n    }\n  }\n}\n'
    )
    assert remove_service(result, PATH, "w") == text


def test_add_to_empty_category_in_compact_file() -> None:
    text = '{"core_services":{}}'
    result = add_service(text, PATH, "core_services", "a", {"port": 1, "status": "ok"})
    assert result == '{"core_services":{"a":{"port":1,"status":"ok"}}}'
    assert remove_service(result, PATH, "a") == text


def test_add_creates_a_missing_category_as_last_top_level_member() -> None:
    text = '{\n  "core_services": {\n    "a": {\n      "port": 3000\n    }\n  }\n}\n'
    result = add_service(text, PATH, "watchdog_services", "w", {"port": 8002})
    assert result == (
        '{\n  "core_services": {\n    "a": {\n      "port": 3000\n    }\n  },\n'
        '  "watchdog_services": {\n    "w": {\n      "port": 8002\n    }\n  }\n}\n'
    )


def test_remove_from_a_created_category_leaves_it_empty() -> None:
    text = '{\n  "core_services": {}\n}'
    added = add_service(text, PATH, "watchdog_services", "w", {"port": 8002})
    assert (
        remove_service(added, PATH, "w")
        == '{\n  "core_services": {},\n  "watchdog_services": {}\n}'
    )


def test_remove_first_member_keeps_everything_else() -> None:
    result = remove_service(MANIFEST, PATH, "btc_price_watchdog")
    block = (
        '    "btc_price_watchdog": {\n      "port": 8002,\n'
        '      "description": "BTC price feed",\n      "status": "RUNNING"\n    },\n'
    )
    assert result == MANIFEST.replace(block, "")


def test_remove_middle_member_keeps_everything_else() -> None:
    result = remove_service(MANIFEST, PATH, "trade_executor")
    block = (
        '    "trade_executor": {\n      "port": 8001,\n'
        '      "description": "Executes trades",\n      "status": "RUNNING"\n    },\n'
    )
    assert result == MANIFEST.replace(block, "")


def test_remove_last_member_drops_the_preceding_comma() -> None:
    result = remove_service(MANIFEST, PATH, "market_title_service")
    block = (
        ',\n    "market_title_service": {\n      "port": 8006,\n'
        '      "description": "Market titles",\n      "status": "RUNNING"\n    }'
    )
    assert result == MANIFEST.replace(block, "")
    json.loads(result)


def test_remove_only_member_collapses_to_empty_object() -> None:
    text = '{\n  "core_services": {\n    "a": {\n      "port": 1\n    }\n  }\n}'
    assert remove_service(text, PATH, "a") == '{\n  "core_services": {}\n}'


def test_set_field_replaces_only_the_value_bytes() -> None:
    result = set_field(MANIFEST, PATH, "db_poller", "port", 8013)
    assert result == MANIFEST.replace('"port": 8003,', '"port": 8013,')
    emoji = set_field(MANIFEST, PATH, "main_app", "description", "Main app 🌐")
    assert emoji == MANIFEST.replace("Main web application 🚀", "Main app 🌐")


def test_set_field_adds_a_missing_field_last() -> None:
    result = set_field(MANIFEST, PATH, "db_poller", "owner", "ops")
    anchor = '"description": "Database poller",\n      "status": "RUNNING"'
    assert result == MANIFEST.replace(anchor, anchor + ',\n      "owner": "ops"')


def test_move_service_moves_between_categories() -> None:
    result = move_service(MANIFEST, PATH, "db_poller", "core_services")
    entry = read_services(result, PATH)["db_poller"]
    assert entry == ManifestEntry("db_poller", "core_services", 8003, "Database poller", "RUNNING")
    back = move_service(result, PATH, "db_poller", "watchdog_services")
    assert read_services(back, PATH)["db_poller"].category == "watchdog_services"


def test_rename_changes_only_the_key() -> None:
    result = rename_service(MANIFEST, PATH, "db_poller", "db_watcher")
    assert result == MANIFEST.replace('"db_poller":', '"db_watcher":')


def test_invalid_json_is_a_parse_error_with_line_and_column() -> None:
    broken = MANIFEST.replace('"port": 8003,', '"port": 8003,,')
    with pytest.raises(ParseError) as caught:
        read_services(broken, PATH)
    line = MANIFEST.splitlines().index('      "port": 8003,') + 1
    assert (caught.value.line, caught.value.col) == (line, 20)
    assert str(caught.value).startswith(f"{PATH}:{line}:20: ")
    assert caught.value.code == 2


@pytest.mark.parametrize(
    ("text", "line", "fragment"),
    [
        (
            '{\n  "core_services": {\n    "a": {"port": "3000"}\n  }\n}',
            3,
            "port '3000' is not an int",
        ),
        ('{\n  "core_services": {\n    "a": {"port": true}\n  }\n}', 3, "is not an int"),
        ('{\n  "core_services": {\n    "a": 3000\n  }\n}', 3, "'a' is not a JSON object"),
        (
            '{\n  "core_services": {"a": {"port": 1}},\n  "watchdog_services": {\n'
            '    "a": {"port": 2}\n  }\n}',
            4,
            "'a' is in both",
        ),
        (
            '{\n  "core_services": {\n    "a": {"port": 1},\n    "a": {"port": 2}\n  }\n}',
            4,
            "duplicate",
        ),
        ('{\n  "core_services": []\n}', 2, "'core_services' is not a JSON object"),
        ("[]", 1, "not a JSON object"),
    ],
)
def test_bad_services_are_parse_errors_naming_the_line(text: str, line: int, fragment: str) -> None:
    with pytest.raises(ParseError) as caught:
        read_services(text, PATH)
    assert caught.value.line == line
    assert str(caught.value).startswith(f"{PATH}:{line}: ")
    assert fragment in str(caught.value)


def test_add_existing_name_in_either_category_is_invalid_input() -> None:
    with pytest.raises(
        InvalidInput, match=r"MASTER_PORT_MANIFEST\.json:\d+: .*'db_poller' already"
    ):
        add_service(MANIFEST, PATH, "core_services", "db_poller", {"port": 9001})


@pytest.mark.parametrize(
    "edit",
    [
        lambda: remove_service(MANIFEST, PATH, "ghost"),
        lambda: set_field(MANIFEST, PATH, "ghost", "port", 1),
        lambda: move_service(MANIFEST, PATH, "ghost", "core_services"),
        lambda: rename_service(MANIFEST, PATH, "ghost", "spirit"),
    ],
)
def test_unknown_service_is_invalid_input(edit: object) -> None:
    assert callable(edit)
    with pytest.raises(InvalidInput, match=f"^{PATH}: no service 'ghost'"):
        edit()


@pytest.mark.parametrize(
    ("edit", "fragment"),
    [
        (lambda: add_service(MANIFEST, PATH, "misc", "x", {"port": 1}), "category 'misc'"),
        (lambda: add_service(MANIFEST, PATH, "core_services", "x", {}), "port None"),
        (lambda: set_field(MANIFEST, PATH, "db_poller", "port", "8003"), "port '8003'"),
        (lambda: move_service(MANIFEST, PATH, "db_poller", "watchdog_services"), "already in"),
        (lambda: rename_service(MANIFEST, PATH, "db_poller", "main_app"), "already exists"),
    ],
)
def test_bad_requests_are_invalid_input(edit: object, fragment: str) -> None:
    assert callable(edit)
    with pytest.raises(InvalidInput, match=fragment):
        edit()


def test_edits_refuse_invalid_json() -> None:
    with pytest.raises(ParseError):
        add_service("{", PATH, "core_services", "a", {"port": 1})
