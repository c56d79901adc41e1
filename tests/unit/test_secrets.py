"""mask_secrets: secret env values, secret options and URL passwords become ``***``."""

from __future__ import annotations

import pytest
from portbook.secrets import mask_secrets


def test_secret_environment_value_is_masked_and_pythonpath_kept() -> None:
    text = 'environment=DB_PASSWORD="hunter2",PYTHONPATH="."\n'
    assert mask_secrets(text) == 'environment=DB_PASSWORD="***",PYTHONPATH="."\n'


def test_environment_values_are_masked_inside_unified_diff_lines() -> None:
    diff = (
        "--- a/supervisord.conf\n+++ b/supervisord.conf\n@@ -1,2 +1,2 @@\n"
        '-environment=DB_PASSWORD="old",PATH="/usr/bin"\n'
        '+environment=DB_PASSWORD="hunter2",PATH="/usr/bin"\n'
        " environment=API_TOKEN='t0k',HOME=/root\n"
    )
    assert mask_secrets(diff) == (
        "--- a/supervisord.conf\n+++ b/supervisord.conf\n@@ -1,2 +1,2 @@\n"
        '-environment=DB_PASSWORD="***",PATH="/usr/bin"\n'
        '+environment=DB_PASSWORD="***",PATH="/usr/bin"\n'
        " environment=API_TOKEN='***',HOME=/root\n"
    )


@pytest.mark.parametrize(
    "key",
    ["PGPASS", "MY_PWD", "client_secret", "GH_TOKEN", "API_KEY", "BASIC_AUTH", "CREDENTIALS",
     "PRIVATE_PEM", "SENTRY_DSN"],
)  # fmt: skip
def test_every_secret_key_pattern_is_masked_case_insensitively(key: str) -> None:
    assert mask_secrets(f"environment={key}=v1,LANG=C\n") == f"environment={key}=***,LANG=C\n"


def test_unquoted_and_quoted_values_with_commas_are_masked_whole() -> None:
    text = 'environment=SECRET="a,b",TOKEN=xyz,USER=app\n'
    assert mask_secrets(text) == 'environment=SECRET="***",TOKEN=***,USER=app\n'


def test_continuation_lines_of_environment_are_masked() -> None:
    text = 'environment=\n    AWS_SECRET_ACCESS_KEY="s",\n    HOME="/root"\ncommand=x\n'
    assert mask_secrets(text) == (
        'environment=\n    AWS_SECRET_ACCESS_KEY="***",\n    HOME="/root"\ncommand=x\n'
    )


def test_url_passwords_are_masked_anywhere() -> None:
    text = "command=psql postgres://app:s3cr3t@db:5432/app\nX='redis://:pw@cache/0'\n"
    assert mask_secrets(text) == (
        "command=psql postgres://app:***@db:5432/app\nX='redis://:***@cache/0'\n"
    )


def test_urls_without_password_are_left_alone() -> None:
    text = "serverurl=http://127.0.0.1:9001/rpc@x\nurl=https://user@host/\n"
    assert mask_secrets(text) == text


def test_secret_option_value_is_masked_keeping_its_comment() -> None:
    text = "[inet_http_server]\nusername=admin\npassword = 123   ; change me\r\n"
    assert (
        mask_secrets(text) == "[inet_http_server]\nusername=admin\npassword = ***   ; change me\r\n"
    )


def test_non_secret_text_is_unchanged_and_masking_is_idempotent() -> None:
    text = '[program:web]\ncommand=bin/web --port 80\nenvironment=PATH="/bin",DB_PASS="x"'
    once = mask_secrets(text)
    assert once == '[program:web]\ncommand=bin/web --port 80\nenvironment=PATH="/bin",DB_PASS="***"'
    assert mask_secrets(once) == once


def test_empty_secret_values_stay_empty() -> None:
    assert mask_secrets('environment=TOKEN="",KEY=\n') == 'environment=TOKEN="",KEY=\n'
