"""Settings: defaults, then portbook.yaml, then invoke config values that differ from defaults."""

from __future__ import annotations

from pathlib import Path

import pytest
from portbook.config import DEFAULTS, Settings, load_settings, resolve_root
from portbook.errors import InvalidInput, ParseError

ROOT = "/srv/recio"


def test_defaults_are_the_seed_layout_and_port_policy() -> None:
    settings = load_settings(None, ROOT)
    assert settings.root == ROOT
    assert settings.manifest == "backend/core/config/MASTER_PORT_MANIFEST.json"
    assert settings.fallback == "backend/core/port_config.py"
    assert settings.supervisor_conf == "backend/supervisord.conf"
    assert settings.api_dir == "backend/api"
    assert settings.ranges == {"core": (8001, 8100), "watchdog": (8001, 8100)}
    assert settings.avoid == frozenset({5000, 7000, 9000, 10000})
    assert (settings.smoke_timeout, settings.stop_timeout, settings.start_timeout) == (20, 10, 30)


def test_portbook_yaml_overrides_defaults_and_leaves_the_rest() -> None:
    yaml_text = (
        "logs: var/log\nranges:\n  core: [8200, 8299]\n  watchdog: 8300-8399\navoid: [8250]\n"
    )
    settings = load_settings(None, ROOT, yaml_text)
    assert settings.logs == "var/log"
    assert settings.ranges == {"core": (8200, 8299), "watchdog": (8300, 8399)}
    assert settings.avoid == frozenset({8250})
    assert settings.manifest == DEFAULTS["manifest"]


def test_invoke_config_wins_over_yaml_when_it_differs_from_the_default() -> None:
    settings = load_settings({"logs": "invoke/logs"}, ROOT, "logs: yaml/logs\n")
    assert settings.logs == "invoke/logs"


def test_invoke_config_equal_to_the_default_does_not_mask_yaml() -> None:
    # ns.configure registers DEFAULTS, so invoke config always carries them
    invoke_config = dict(DEFAULTS)
    settings = load_settings(invoke_config, ROOT, "logs: yaml/logs\nsmoke_timeout: 5\n")
    assert settings.logs == "yaml/logs"
    assert settings.smoke_timeout == 5.0


def test_invoke_config_none_values_and_unknown_keys_are_ignored() -> None:
    settings = load_settings({"logs": None, "colour": "blue"}, ROOT, "logs: yaml/logs\n")
    assert settings.logs == "yaml/logs"


def test_root_argument_wins_and_is_made_absolute(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    assert load_settings({"root": "/elsewhere"}, "sub").root == str(tmp_path / "sub")
    assert resolve_root({"root": "/elsewhere"}, None) == "/elsewhere"
    assert resolve_root(None, None) == str(tmp_path)


@pytest.mark.parametrize(
    ("text", "line"),
    [("logs: a\nmanifest: b: c\n", 2), ("a: b: c\n", 1), ("ranges:\n  core: [1, 2]\n\tx: 1\n", 3)],
)
def test_bad_yaml_is_a_parse_error_naming_file_and_line(text: str, line: int) -> None:
    with pytest.raises(ParseError) as caught:
        load_settings(None, ROOT, text)
    assert caught.value.line == line
    assert str(caught.value).startswith(f"{ROOT}/portbook.yaml:{line}: invalid YAML")
    assert "\n" not in str(caught.value)


def test_yaml_that_is_not_a_mapping_is_a_parse_error() -> None:
    with pytest.raises(ParseError, match=r"portbook\.yaml:1: expected a mapping"):
        load_settings(None, ROOT, "- logs\n- avoid\n")


def test_unknown_yaml_key_is_a_parse_error_naming_it() -> None:
    with pytest.raises(ParseError, match=r"portbook\.yaml: unknown setting\(s\): colour, logz$"):
        load_settings(None, ROOT, "logz: x\ncolour: blue\n")


@pytest.mark.parametrize(
    "ranges",
    ["{core: [80, 90], watchdog: [8001, 8100]}", "{core: [8100, 8001], watchdog: [8001, 8100]}",
     "{core: [8001, 70000], watchdog: [8001, 8100]}", "{core: 8001, watchdog: [8001, 8100]}",
     "{core: [8001, 8100]}"],
    ids=["privileged", "reversed", "above-65535", "not-a-range", "category-missing"],
)  # fmt: skip
def test_bad_port_range_is_invalid_input(ranges: str) -> None:
    with pytest.raises(InvalidInput):
        load_settings(None, ROOT, f"ranges: {ranges}\n")


def test_range_message_names_category_and_bounds() -> None:
    with pytest.raises(InvalidInput, match=r"range for core must lie in 1024-65535: 80-90"):
        load_settings(None, ROOT, "ranges: {core: [80, 90], watchdog: [8001, 8100]}\n")


def test_path_resolves_relative_paths_under_root_and_keeps_absolute_ones() -> None:
    settings = load_settings(None, ROOT)
    assert settings.path("backend/./api/../api/x.py") == f"{ROOT}/backend/api/x.py"
    assert settings.path("/etc/supervisord.conf") == "/etc/supervisord.conf"
    assert settings.journal_dir == f"{ROOT}/.portbook"


def test_rel_shows_paths_inside_root_relative_and_outside_ones_unchanged() -> None:
    settings = load_settings(None, ROOT)
    assert settings.rel(f"{ROOT}/backend/supervisord.conf") == "backend/supervisord.conf"
    assert settings.rel("/etc/supervisord.conf") == "/etc/supervisord.conf"
    assert settings.rel("/srv/recio-old/x") == "/srv/recio-old/x"


def test_settings_are_frozen() -> None:
    settings: Settings = load_settings(None, ROOT)
    with pytest.raises(AttributeError):
        settings.logs = "x"  # type: ignore[misc]
