"""One small example per supervisord.conf quirk the round-tripping layer must handle.

Each reading test also checks the layer against supervisor's own ``UnhosedConfigParser``.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from portbook.errors import InvalidInput, ParseError
from portbook.registry.supervisor_conf import SupervisorConf, render_program, validate
from supervisor import datatypes, options
from supervisor.options import UnhosedConfigParser

PATH = "/etc/supervisor/supervisord.conf"


def supervisor_view(text: str) -> dict[str, dict[str, str]]:
    """Section -> raw options as supervisor's own parser reads ``text``."""
    parser = UnhosedConfigParser()
    parser.read_string(text)
    return {s: dict(parser.items(s, raw=True)) for s in parser.sections()}


def read(text: str, section: str = "program:web") -> dict[str, str]:
    """The layer's view of ``section``, asserted equal to supervisor's view first."""
    conf = SupervisorConf.parse(text, PATH)
    assert conf.render() == text
    assert {s: conf.section(s) for s in conf.section_names()} == supervisor_view(text)
    return conf.section(section)


# --- reading: comments ------------------------------------------------------------------


def test_semicolon_comment_line_is_ignored() -> None:
    assert read("[program:web]\n; command=old\ncommand=new\n") == {"command": "new"}


def test_inline_semicolon_comment_is_not_part_of_value() -> None:
    assert read("[program:web]\ncommand=bin/web   ; the web app\n") == {"command": "bin/web"}


def test_semicolon_without_space_before_it_stays_in_value() -> None:
    text = '[program:web]\ncommand=nginx -g "daemon off;"\n'
    assert read(text) == {"command": 'nginx -g "daemon off;"'}


def test_hash_comment_lines_and_inline_hash_comments_are_ignored() -> None:
    text = "# header\n[program:web]\n## old\ncommand=bin/web # inline\n"
    assert read(text) == {"command": "bin/web"}


def test_hash_inside_value_without_space_before_it_is_kept() -> None:
    text = '[program:web]\ncommand=grep -vE "^(#.*|x)$" f\n'
    assert read(text) == {"command": 'grep -vE "^(#.*|x)$" f'}


def test_configparser_inline_comment_search_goes_round_by_round() -> None:
    # configparser looks at the 1st ';' and 1st '#', then the 2nd of each, ...: the ';' at
    # round 1 wins over the earlier '#' that only qualifies at round 2.
    text = "[program:web]\ncommand=x#y #z ;c\n"
    assert read(text) == {"command": "x#y #z"}


def test_comment_after_section_header_is_ignored() -> None:
    text = "[inet_http_server]         ; inet (TCP) server\nport=127.0.0.1:9001\n"
    assert read(text, "inet_http_server") == {"port": "127.0.0.1:9001"}


# --- reading: line structure ------------------------------------------------------------


def test_indented_continuation_lines_join_with_newline() -> None:
    text = "[program:web]\ncommand=bin/web\n    --port 80  ; why\n\t-b 127.0.0.1 \nuser=www\n"
    assert read(text) == {"command": "bin/web\n--port 80\n-b 127.0.0.1", "user": "www"}


def test_blank_line_inside_continuation_is_kept_and_trailing_blanks_dropped() -> None:
    text = "[program:web]\nenvironment=A=1,\n\n    B=2\n\n\n[x]\n"
    assert read(text) == {"environment": "A=1,\n\nB=2"}


def test_comment_line_inside_continuation_does_not_end_it() -> None:
    text = "[program:web]\ncommand=a\n; note\n  b\n"
    assert read(text) == {"command": "a\nb"}


def test_indented_header_after_an_option_is_a_continuation_not_a_section() -> None:
    text = "[program:web]\ncommand=a\n  [program:other]\n"
    assert read(text) == {"command": "a\n[program:other]"}
    assert SupervisorConf.parse(text, PATH).section_names() == ["program:web"]


def test_crlf_no_final_newline_and_preamble_round_trip_byte_for_byte() -> None:
    text = (
        "; preamble\r\n\r\n[program:web]\r\ncommand = bin/web\r\n\r\n\r\n[group:g]\r\nprograms=web"
    )
    assert read(text) == {"command": "bin/web"}


# --- reading: keys and values -----------------------------------------------------------


def test_colon_is_a_delimiter_too() -> None:
    assert read("[program:web]\ncommand:bin/nginx-start\n") == {"command": "bin/nginx-start"}


def test_spacing_around_delimiter_is_not_part_of_key_or_value() -> None:
    text = "[program:web]\ncommand= bin/web\nuser     =  www\ndirectory = /srv  \n"
    assert read(text) == {"command": "bin/web", "user": "www", "directory": "/srv"}


def test_keys_are_lowercased_and_values_keep_their_case() -> None:
    assert read("[program:web]\nCommand=Bin/Web\n") == {"command": "Bin/Web"}


def test_duplicate_key_last_value_wins() -> None:
    assert read("[program:web]\ndirectory=/a\ndirectory=/b\n") == {"directory": "/b"}


def test_duplicate_sections_are_merged() -> None:
    text = "[program:web]\ncommand=a\n[x]\n[program:web]\nuser=u\n"
    assert read(text) == {"command": "a", "user": "u"}
    assert SupervisorConf.parse(text, PATH).section_names() == ["program:web", "x"]


def test_here_and_env_expressions_are_not_expanded() -> None:
    text = "[program:web]\ncommand=%(here)s/bin/web %(ENV_PORT)s\n"
    assert read(text) == {"command": "%(here)s/bin/web %(ENV_PORT)s"}


def test_quoted_commas_in_environment_stay_raw() -> None:
    text = "[program:web]\nenvironment=A=\"x,y\",B='1'\n"
    assert read(text) == {"environment": "A=\"x,y\",B='1'"}


def test_empty_value_is_empty_string() -> None:
    assert read("[program:web]\ncommand = \n") == {"command": ""}


def test_default_section_is_merged_into_every_section() -> None:
    text = "[DEFAULT]\nautostart=false\n[program:web]\ncommand=a\n"
    assert read(text) == {"autostart": "false", "command": "a"}
    assert SupervisorConf.parse(text, PATH).section_names() == ["program:web"]


def test_values_configobj_cannot_quote_are_read_raw() -> None:
    text = "[program:web]\ncommand=echo ''' \"\"\"\n'quoted=key'=1\n[odd=2\n"
    assert read(text) == {"command": "echo ''' \"\"\"", "'quoted": "key'=1", "[odd": "2"}


# --- reading: names ---------------------------------------------------------------------


def test_group_names_cover_programs_fcgi_programs_eventlisteners_and_groups() -> None:
    text = (
        "[supervisord]\n[program:a]\n[fcgi-program:b]\n[eventlistener:c]\n[group:d]\n"
        "[rpcinterface:e]\n[program:a]\n"
    )
    conf = SupervisorConf.parse(text, PATH)
    assert conf.group_names() == ["a", "b", "c", "d"]
    assert conf.section_names()[:2] == ["supervisord", "program:a"]


def test_include_patterns_are_split_on_whitespace_as_written() -> None:
    text = "[include]\nfiles = conf.d/*.conf\n    %(here)s/extra/*.ini\n"
    assert SupervisorConf.parse(text, PATH).include_patterns() == [
        "conf.d/*.conf",
        "%(here)s/extra/*.ini",
    ]
    assert SupervisorConf.parse("[supervisord]\n", PATH).include_patterns() == []


def test_programs_maps_program_names_to_their_options() -> None:
    conf = SupervisorConf.parse("[program:a]\ncommand=x\n[group:g]\nprograms=a\n", PATH)
    assert conf.programs() == {"a": {"command": "x"}}


def test_unknown_section_raises_key_error() -> None:
    with pytest.raises(KeyError):
        SupervisorConf.parse("[supervisord]\n", PATH).section("program:nope")


# --- reading: errors --------------------------------------------------------------------


def test_text_before_first_section_raises_parse_error_naming_file_and_line() -> None:
    with pytest.raises(ParseError) as caught:
        SupervisorConf.parse("; ok\n\ncommand=x\n[program:web]\n", PATH)
    assert caught.value.line == 3
    assert str(caught.value).startswith(f"{PATH}:3: ")


def test_line_without_delimiter_raises_parse_error() -> None:
    with pytest.raises(ParseError, match=r":2: .*'just words'"):
        SupervisorConf.parse("[program:web]\njust words\n", PATH)


def test_option_without_name_raises_parse_error() -> None:
    with pytest.raises(ParseError, match=r":2: "):
        SupervisorConf.parse("[program:web]\n=value\n", PATH)


# --- writing ----------------------------------------------------------------------------


def test_render_program_writes_key_equals_value_in_given_order() -> None:
    text = render_program("web", {"command": "bin/web", "stderr_logfile": "logs/web.err.log"})
    assert text == "[program:web]\ncommand=bin/web\nstderr_logfile=logs/web.err.log\n"


def test_render_program_writes_values_raw_even_where_configobj_would_quote() -> None:
    value = "sh -c 'echo \"#1\"'"
    assert render_program("web", {"command": value, "user": ""}) == (
        f"[program:web]\ncommand={value}\nuser=\n"
    )


@pytest.mark.parametrize("value", ["bin/web ; rm", "bin/web #x", " lead", "a\nb"])
def test_render_program_refuses_values_supervisor_would_read_differently(value: str) -> None:
    with pytest.raises(InvalidInput, match=r"\[program:web\] command"):
        render_program("web", {"command": value})


@pytest.mark.parametrize("name", ["", "a b", "a:b", "a/b", "a]b", "a;b"])
def test_render_program_refuses_bad_names(name: str) -> None:
    with pytest.raises(InvalidInput, match="invalid program name"):
        render_program(name, {"command": "x"})


def test_render_program_refuses_option_names_repeated_in_another_case() -> None:
    with pytest.raises(InvalidInput, match="option names repeat"):
        render_program("web", {"Command": "a", "command": "b"})


def test_add_program_appends_after_exactly_one_blank_line() -> None:
    conf = SupervisorConf.parse("[supervisord]\n\n\n", PATH)
    conf.add_program("web", {"command": "bin/web"})
    assert conf.render() == "[supervisord]\n\n\n\n[program:web]\ncommand=bin/web\n"


def test_add_program_keeps_crlf_and_a_missing_final_newline() -> None:
    text = "[supervisord]\r\nlogfile=x"
    conf = SupervisorConf.parse(text, PATH)
    conf.add_program("web", {"command": "bin/web"})
    assert conf.render() == "[supervisord]\r\nlogfile=x\r\n\r\n[program:web]\r\ncommand=bin/web"
    conf.remove_program("web")
    assert conf.render() == text


def test_add_then_remove_on_empty_file_gives_empty_file() -> None:
    conf = SupervisorConf.parse("", PATH)
    conf.add_program("web", {"command": "bin/web"})
    assert conf.render() == "\n[program:web]\ncommand=bin/web\n"
    conf.remove_program("web")
    assert conf.render() == ""


@pytest.mark.parametrize("kind", ["program", "fcgi-program", "eventlistener", "group"])
def test_add_program_refuses_a_name_any_group_already_has(kind: str) -> None:
    conf = SupervisorConf.parse(f"[supervisord]\n[{kind}:web]\ncommand=x\n", PATH)
    with pytest.raises(InvalidInput, match=rf"^{PATH}:2: a group named 'web' already exists"):
        conf.add_program("web", {"command": "bin/web"})


def test_remove_program_refuses_an_absent_program() -> None:
    with pytest.raises(InvalidInput, match=r"no \[program:web\]"):
        SupervisorConf.parse("[group:web]\n", PATH).remove_program("web")


def test_remove_program_in_the_middle_keeps_the_neighbours_bytes() -> None:
    conf = SupervisorConf.parse("[a]\nx=1\n\n[program:web]\ny=2\n\n[c]\nz=3", PATH)
    conf.remove_program("web")
    assert conf.render() == "[a]\nx=1\n\n[c]\nz=3"


def test_remove_program_removes_every_duplicate_section() -> None:
    conf = SupervisorConf.parse("[a]\n\n[program:w]\nx=1\n[b]\n[program:w]\ny=2\n", PATH)
    conf.remove_program("w")
    assert conf.render() == "[a]\n\n[b]\n"


def test_remove_program_refuses_when_a_neighbour_would_be_read_differently() -> None:
    text = "[a]\nx=1\n[program:web]\n    y=2\n  [c]\n"  # [c] is a header only after y's indent
    conf = SupervisorConf.parse(text, PATH)
    with pytest.raises(InvalidInput, match=r"would change \[a\]"):
        conf.remove_program("web")
    assert conf.render() == text


# --- validate ---------------------------------------------------------------------------

MAIN = "[supervisord]\nlogfile=/nonexistent/dir/sd.log\n\n[program:web]\ncommand=bin/web\n"


def test_validate_accepts_a_file_despite_missing_host_directories(tmp_path: Path) -> None:
    validate(MAIN, str(tmp_path / "supervisord.conf"))
    assert list(tmp_path.iterdir()) == []


def test_validate_accepts_program_only_conf_d_file(tmp_path: Path) -> None:
    validate("[program:web]\ncommand=bin/web\n", str(tmp_path / "web.conf"))


def test_validate_tolerates_includes_that_match_no_file(tmp_path: Path) -> None:
    validate(MAIN + "[include]\nfiles=conf.d/*.conf /nope/*.ini\n", str(tmp_path / "s.conf"))


def test_validate_resolves_here_to_the_directory_of_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[str] = []
    real = UnhosedConfigParser.expand_here

    def spy(self: UnhosedConfigParser, here: str) -> None:
        seen.append(here)
        real(self, here)

    monkeypatch.setattr(UnhosedConfigParser, "expand_here", spy)
    validate(MAIN + "[include]\nfiles=%(here)s/conf.d/*.conf\n", str(tmp_path / "s.conf"))
    assert seen == [str(tmp_path)]


def test_validate_reports_supervisors_line_for_unparsable_text(tmp_path: Path) -> None:
    target = str(tmp_path / "s.conf")
    with pytest.raises(ParseError) as caught:
        validate("[supervisord]\nno delimiter here\n", target)
    assert caught.value.line == 2
    assert str(caught.value).startswith(f"{target}:2: supervisor rejects it: cannot parse line")


def test_validate_points_at_the_section_supervisor_names(tmp_path: Path) -> None:
    text = MAIN + "\n[program:bad]\ncommand=x\nnumprocs=2\n"
    with pytest.raises(ParseError, match=r":7: supervisor rejects it: %\(process_num\)"):
        validate(text, str(tmp_path / "s.conf"))


def test_validate_restores_environment_and_patches_and_prints_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    environ = dict(os.environ)
    patched = (options.existing_dirpath, datatypes.name_to_gid, options.import_spec, options.glob)
    text = MAIN + "environment=X=%(ENV_PORTBOOK_SURELY_UNSET)s\nuser=nobody-such-user\n"
    validate(text, str(tmp_path / "s.conf"))
    with pytest.raises(ParseError):
        validate("[supervisord]\nminfds=%(ENV_PORTBOOK_SURELY_UNSET)s lots\n", str(tmp_path))
    assert dict(os.environ) == environ
    assert (options.existing_dirpath, datatypes.name_to_gid, options.import_spec,
            options.glob) == patched  # fmt: skip
    assert capsys.readouterr() == ("", "")


# --- set_program_options ----------------------------------------------------------------


def edited(text: str, name: str, options: dict[str, str]) -> str:
    """``text`` after ``set_program_options``, checked against supervisor's own view."""
    conf = SupervisorConf.parse(text, PATH)
    conf.set_program_options(name, options)
    after = conf.render()
    want = {key.lower(): value for key, value in options.items()}
    assert supervisor_view(after)[f"program:{name}"] == {**read(text, f"program:{name}"), **want}
    return after


def test_set_program_options_changes_only_the_value_keeping_spacing_and_comment() -> None:
    text = "[program:web]\ncommand = bin/web   ; the app\nuser=www\n"
    after = edited(text, "web", {"command": "bin/api --port 8001"})
    assert after == "[program:web]\ncommand = bin/api --port 8001   ; the app\nuser=www\n"


def test_set_program_options_keeps_colon_delimiter_indentation_and_crlf() -> None:
    text = "[program:web]\r\n  command: bin/web\r\n  user : www\r\n"
    assert edited(text, "web", {"user": "nobody"}) == (
        "[program:web]\r\n  command: bin/web\r\n  user : nobody\r\n"
    )


def test_set_program_options_matches_keys_in_any_case() -> None:
    text = "[program:web]\nCommand=bin/web\n"
    assert edited(text, "web", {"command": "bin/api"}) == "[program:web]\nCommand=bin/api\n"


def test_set_program_options_edits_the_occurrence_supervisor_reads() -> None:
    text = "[program:web]\nuser=a\nuser=b\n[x]\n[program:web]\nuser=c\n"
    assert edited(text, "web", {"user": "d"}) == (
        "[program:web]\nuser=a\nuser=b\n[x]\n[program:web]\nuser=d\n"
    )


def test_set_program_options_turns_a_continued_value_into_one_line() -> None:
    text = "[program:web]\ncommand=bin/web ; why\n    --port 80\n; note\n\t-v\n\n; end\nuser=u\n"
    assert edited(text, "web", {"command": "bin/api"}) == (
        "[program:web]\ncommand=bin/api ; why\n\n; end\nuser=u\n"
    )


def test_set_program_options_fills_an_empty_value_before_a_comment_reversibly() -> None:
    text = "[program:web]\nuser =   ; nobody yet\n"
    after = edited(text, "web", {"user": "www"})
    assert after == "[program:web]\nuser =  www ; nobody yet\n"
    assert edited(after, "web", {"user": ""}) == text


def test_set_program_options_setting_the_same_value_back_restores_the_bytes() -> None:
    text = "[program:web]\nautorestart = true ; always\n\n[x]\ny=1"
    after = edited(text, "web", {"autorestart": "false"})
    assert edited(after, "web", {"autorestart": "true"}) == text


def test_set_program_options_appends_absent_keys_before_trailing_blank_and_comment_lines() -> None:
    text = "[program:web]\ncommand = a\n    b\n\n; spare\n\n[x]\ny=1\n"
    assert edited(text, "web", {"user": "www", "autostart": "false"}) == (
        "[program:web]\ncommand = a\n    b\nuser = www\nautostart = false\n\n; spare\n\n[x]\ny=1\n"
    )


def test_set_program_options_appends_with_the_last_options_indent_and_delimiter() -> None:
    text = "[program:web]\n  command:a\n"
    assert edited(text, "web", {"user": "u"}) == "[program:web]\n  command:a\n  user:u\n"


def test_set_program_options_appends_right_after_the_header_of_an_empty_section() -> None:
    text = "[program:web]   ; empty\n; nothing\n\n[x]\n"
    assert (
        edited(text, "web", {"user": "u"}) == "[program:web]   ; empty\nuser=u\n; nothing\n\n[x]\n"
    )


def test_set_program_options_appends_to_the_last_duplicate_section() -> None:
    text = "[program:web]\ncommand=a\n[x]\n[program:web]\nuser=u\n"
    assert edited(text, "web", {"directory": "/d"}) == (
        "[program:web]\ncommand=a\n[x]\n[program:web]\nuser=u\ndirectory=/d\n"
    )


def test_set_program_options_keeps_a_missing_final_newline_and_crlf() -> None:
    text = "[program:web]\r\ncommand=a"
    assert edited(text, "web", {"user": "u"}) == "[program:web]\r\ncommand=a\r\nuser=u"


def test_set_program_options_writes_an_appended_empty_value_without_trailing_space() -> None:
    text = "[program:web]\ncommand = a\n"
    assert edited(text, "web", {"user": ""}) == "[program:web]\ncommand = a\nuser =\n"


def test_set_program_options_refuses_an_unknown_program() -> None:
    conf = SupervisorConf.parse("[group:web]\nprograms=x\n[program:x]\n", PATH)
    with pytest.raises(InvalidInput, match=r"no \[program:web\] section"):
        conf.set_program_options("web", {"command": "a"})


@pytest.mark.parametrize("value", ["bin/web ; rm", "bin/web #x", " lead", "trail ", "a\nb"])
def test_set_program_options_refuses_values_supervisor_would_read_differently(
    value: str,
) -> None:
    text = "[program:web]\ncommand=bin/web ; c\n"
    conf = SupervisorConf.parse(text, PATH)
    for key in ("command", "user"):  # in place and appended
        with pytest.raises(InvalidInput, match=rf"\[program:web\] {key}"):
            conf.set_program_options("web", {key: value})
        assert conf.render() == text


@pytest.mark.parametrize(
    ("options", "message"),
    [({"bad key": "x"}, "invalid option name"), ({"User": "a", "user": "b"}, "names repeat")],
)
def test_set_program_options_refuses_bad_or_repeated_option_names(
    options: dict[str, str], message: str
) -> None:
    conf = SupervisorConf.parse("[program:web]\ncommand=a\n", PATH)
    with pytest.raises(InvalidInput, match=message):
        conf.set_program_options("web", options)


def test_set_program_options_refuses_an_edit_that_changes_another_section(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from portbook.registry import supervisor_conf

    def spill(lines: list[str], *args: object) -> list[str]:
        return [*lines, "z=2\n"]  # a broken edit: lands in the next section

    monkeypatch.setattr(supervisor_conf, "append_options", spill)
    text = "[program:web]\ncommand=a\n[x]\ny=1\n"
    conf = SupervisorConf.parse(text, PATH)
    with pytest.raises(InvalidInput, match=r"editing \[program:web\] would change \[x\]"):
        conf.set_program_options("web", {"user": "u"})
    assert conf.render() == text


# --- rename_program ---------------------------------------------------------------------


def renamed(text: str, old: str, new: str) -> str:
    """``text`` after ``rename_program(old, new)``; renaming back must restore ``text``."""
    conf = SupervisorConf.parse(text, PATH)
    conf.rename_program(old, new)
    after = conf.render()
    assert f"program:{old}" not in supervisor_view(after)
    conf.rename_program(new, old)
    assert conf.render() == text
    return after


def test_rename_program_changes_only_the_header_name_and_keeps_its_comment() -> None:
    text = "[a]\n\n  [program:web]   ; the app\ncommand=bin/web --name web\n\n[b]\n"
    assert renamed(text, "web", "api") == (
        "[a]\n\n  [program:api]   ; the app\ncommand=bin/web --name web\n\n[b]\n"
    )


def test_rename_program_renames_every_duplicate_section() -> None:
    text = "[program:web]\ncommand=a\n[x]\n[program:web]\nuser=u\n"
    assert renamed(text, "web", "api") == "[program:api]\ncommand=a\n[x]\n[program:api]\nuser=u\n"


def test_rename_program_renames_log_file_stems_and_path_components() -> None:
    text = (
        "[program:web]\nstdout_logfile = logs/web.out.log ; out\n"
        "STDERR_LOGFILE=/var/log/web/web.err.log\n"
    )
    assert renamed(text, "web", "api") == (
        "[program:api]\nstdout_logfile = logs/api.out.log ; out\n"
        "STDERR_LOGFILE=/var/log/api/api.err.log\n"
    )


def test_rename_program_leaves_partial_matches_and_other_keys_alone() -> None:
    text = (
        "[program:web]\nstdout_logfile=logs/webapp.log\nstderr_logfile=logs/web-err.log\n"
        "command=bin/web --log logs/web.log\nstdout_logfile_backups=web\n"
    )
    assert renamed(text, "web", "api") == text.replace("[program:web]", "[program:api]")


def test_rename_program_leaves_program_name_log_paths_and_continued_values_alone() -> None:
    text = (
        "[program:web]\nstdout_logfile=web/%(program_name)s.log\nstderr_logfile=logs/\n  web.log\n"
    )
    assert renamed(text, "web", "api") == text.replace("[program:web]", "[program:api]")


@pytest.mark.parametrize(
    ("name", "value"),
    [("stdout", "/dev/stdout"), ("dev", "/dev/stderr"), ("AUTO", "AUTO"), ("none", "NONE")],
)
def test_rename_program_leaves_devices_and_special_log_values_alone(name: str, value: str) -> None:
    text = f"[program:{name}]\nstdout_logfile={value}\n"
    assert renamed(text, name, "api") == f"[program:api]\nstdout_logfile={value}\n"


def test_rename_program_refuses_an_absent_program() -> None:
    conf = SupervisorConf.parse("[group:web]\n", PATH)
    with pytest.raises(InvalidInput, match=r"no \[program:web\] section to rename"):
        conf.rename_program("web", "api")


@pytest.mark.parametrize("kind", ["program", "fcgi-program", "eventlistener", "group"])
def test_rename_program_refuses_a_new_name_any_group_already_has(kind: str) -> None:
    conf = SupervisorConf.parse(f"[program:web]\n[{kind}:api]\n", PATH)
    with pytest.raises(InvalidInput, match=rf"^{PATH}:2: a group named 'api' already exists"):
        conf.rename_program("web", "api")


def test_rename_program_refuses_a_bad_new_name() -> None:
    conf = SupervisorConf.parse("[program:web]\n", PATH)
    with pytest.raises(InvalidInput, match="invalid program name"):
        conf.rename_program("web", "a b")


def test_rename_program_refuses_a_program_a_group_lists() -> None:
    text = "[program:web]\ncommand=a\n[group:g]\nprograms=db, web\n"
    conf = SupervisorConf.parse(text, PATH)
    with pytest.raises(InvalidInput, match=rf"^{PATH}:3: \[group:g\] lists 'web'"):
        conf.rename_program("web", "api")
    assert conf.render() == text


def test_edited_files_pass_validate(tmp_path: Path) -> None:
    conf = SupervisorConf.parse(MAIN + "stdout_logfile=logs/web.log ; out\n", PATH)
    conf.set_program_options("web", {"autorestart": "false", "command": "bin/api"})
    conf.rename_program("web", "api")
    validate(conf.render(), str(tmp_path / "s.conf"))
    assert conf.programs() == {
        "api": {"command": "bin/api", "stdout_logfile": "logs/api.log", "autorestart": "false"}
    }
