"""The configuration check of recovery: four places in agreement, supervisor's parser."""

from __future__ import annotations

from portbook.registry.agreement import config_problems, parser_problems
from portbook.registry.system import read_system

from .conftest import CONF, ROOT, make_recio
from .ops_support import fast_settings, make_consistent


def test_a_consistent_system_has_no_problems() -> None:
    target = make_consistent()
    assert config_problems(target, read_system(target, fast_settings())) == []


def test_every_disagreement_of_the_fixture_is_named() -> None:
    target = make_recio()
    problems = config_problems(target, read_system(target, fast_settings()))
    assert problems == [
        "kalshi_market_watchdog: no [program:kalshi_market_watchdog] in backend/supervisord.conf",
        "old_poller: in DEFAULT_PORTS but not in the manifest",
        "legacy_proxy: [program:legacy_proxy] has no manifest entry",
    ]


def test_port_mismatch_missing_fallback_and_code_that_ignores_get_port() -> None:
    target = make_consistent()
    target.put(f"{ROOT}/backend/core/port_config.py", 'DEFAULT_PORTS = {"main_app": 8009}\n')
    target.put(f"{ROOT}/backend/api/main_app.py", "PORT = 8001\n")
    problems = config_problems(target, read_system(target, fast_settings()))
    assert problems == [
        "kalshi_market_watchdog: in the manifest (port 8005) but not in DEFAULT_PORTS",
        "main_app: manifest says 8001, DEFAULT_PORTS says 8009",
        'main_app: backend/api/main_app.py does not read its port through get_port("main_app")',
    ]


def test_missing_script_and_unparseable_script() -> None:
    target = make_consistent()
    target.remove(f"{ROOT}/backend/api/main_app.py")
    target.put(f"{ROOT}/backend/api/kalshi_market_watchdog.py", "def (:\n")
    problems = config_problems(target, read_system(target, fast_settings()))
    assert problems[0].startswith("kalshi_market_watchdog: backend/api/kalshi_market_watchdog.py:1")
    assert problems[1] == "main_app: its script backend/api/main_app.py does not exist"


def test_supervisors_parser_rejection_is_reported_with_file_and_line() -> None:
    target = make_consistent()
    conf = f"{ROOT}/{CONF}"
    target.put(conf, (target.text(conf) or "") + "\n[program:bad]\nautostart=maybe\n")
    problems = parser_problems(read_system(target, fast_settings()))
    assert len(problems) == 1 and problems[0].startswith(conf)
