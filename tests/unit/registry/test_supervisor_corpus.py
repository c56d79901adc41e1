"""Every corpus file: byte-exact round trip, reversible add/remove, supervisor's own view.

The corpus lives beside the repository (``<repo>/../shared/corpus/supervisord``); a missing
corpus fails these tests rather than skipping them.
"""

from __future__ import annotations

from difflib import SequenceMatcher
from pathlib import Path

import pytest
from portbook.errors import InvalidInput, ParseError
from portbook.registry.supervisor_conf import SupervisorConf, render_program, validate
from supervisor.options import UnhosedConfigParser

CORPUS = Path(__file__).resolve().parents[3].parent / "shared" / "corpus" / "supervisord"
FILES = sorted(CORPUS.glob("[0-9]*.conf")) or [CORPUS / "corpus-is-missing.conf"]
REJECTED_BY_SUPERVISOR = {"036", "038"}
PROBE = "portbook_probe"
OPTIONS = {
    "command": "bin/portbook_probe --port 18999",
    "directory": "%(here)s",
    "autostart": "true",
    "environment": 'PYTHONPATH=".",PROBE_TOKEN="not-a-secret"',
    "stdout_logfile": f"logs/{PROBE}.out.log",
    "stderr_logfile": f"logs/{PROBE}.err.log",
}

by_number = pytest.mark.parametrize("conf", FILES, ids=lambda p: p.name[:3])


def read(conf: Path) -> str:
    """The corpus file as text (all are UTF-8)."""
    return conf.read_bytes().decode("utf-8")


def supervisor_view(text: str) -> dict[str, dict[str, str]]:
    """Section -> raw options, exactly as supervisor's own parser reads them."""
    parser = UnhosedConfigParser()
    parser.read_string(text)
    return {s: dict(parser.items(s, raw=True)) for s in parser.sections()}


def test_corpus_is_present_with_all_79_files() -> None:
    assert CORPUS.is_dir(), f"corpus folder missing: {CORPUS}"
    assert len(FILES) == 79


@by_number
def test_round_trip_without_edit_is_byte_identical(conf: Path) -> None:
    text = read(conf)
    assert SupervisorConf.parse(text, str(conf)).render().encode("utf-8") == conf.read_bytes()


@by_number
def test_view_matches_supervisors_own_parser(conf: Path) -> None:
    text = read(conf)
    ours = SupervisorConf.parse(text, str(conf))
    theirs = supervisor_view(text)
    assert ours.section_names() == list(theirs)
    assert {name: ours.section(name) for name in ours.section_names()} == theirs
    programs = {s.partition(":")[2]: v for s, v in theirs.items() if s.startswith("program:")}
    assert ours.programs() == programs
    assert ours.include_patterns() == theirs.get("include", {}).get("files", "").split()


@by_number
def test_add_then_remove_after_reparse_gives_original(conf: Path) -> None:
    text = read(conf)
    conf_view = SupervisorConf.parse(text, str(conf))
    conf_view.add_program(PROBE, OPTIONS)
    added = conf_view.render()
    ending = "\r\n" if "\r\n" in text else "\n"
    kept = text if not text or text.endswith("\n") else text + ending
    block = render_program(PROBE, OPTIONS).replace("\n", ending)
    if not text.endswith("\n") and text:
        block = block[: -len(ending)]
    assert added == kept + ending + block  # only the new section and its separator differ
    again = SupervisorConf.parse(added, str(conf))
    again.remove_program(PROBE)
    assert again.render() == text


@by_number
def test_add_then_remove_on_same_object_gives_original(conf: Path) -> None:
    text = read(conf)
    conf_view = SupervisorConf.parse(text, str(conf))
    before = {name: conf_view.section(name) for name in conf_view.section_names()}
    conf_view.add_program(PROBE, OPTIONS)
    assert conf_view.programs()[PROBE] == {**conf_view.section("DEFAULT"), **OPTIONS}
    assert supervisor_view(conf_view.render())[f"program:{PROBE}"] == OPTIONS
    conf_view.remove_program(PROBE)
    assert conf_view.render() == text
    assert {name: conf_view.section(name) for name in conf_view.section_names()} == before


@by_number
def test_supervisor_accepts_the_file_with_the_program_added(conf: Path, tmp_path: Path) -> None:
    conf_view = SupervisorConf.parse(read(conf), str(conf))
    conf_view.add_program(PROBE, OPTIONS)
    target = str(tmp_path / "supervisord.conf")
    if conf.name[:3] in REJECTED_BY_SUPERVISOR:
        with pytest.raises(ParseError) as caught:
            validate(conf_view.render(), target)
        assert str(caught.value).startswith(f"{target}:")
        assert "supervisor rejects it" in str(caught.value)
    else:
        validate(conf_view.render(), target)
    assert list(tmp_path.iterdir()) == []  # nothing written next to the path


@pytest.mark.parametrize(
    ("number", "fragment"),
    [
        ("036", "'%(supervisor_autostart)s'"),
        ("038", "%(process_num) must be present within process_name"),
    ],
)
def test_supervisor_rejects_036_and_038_with_a_clear_message(
    number: str, fragment: str, tmp_path: Path
) -> None:
    conf = next(p for p in FILES if p.name.startswith(number))
    target = str(tmp_path / conf.name)
    with pytest.raises(ParseError) as caught:
        validate(read(conf), target)
    message = str(caught.value)
    assert fragment in message
    assert message.startswith(f"{target}:")
    assert caught.value.line is not None  # the header of the section supervisor names
    assert "\n" not in message


@by_number
def test_adding_an_existing_group_name_is_refused(conf: Path) -> None:
    conf_view = SupervisorConf.parse(read(conf), str(conf))
    names = conf_view.group_names()
    if not names:
        conf_view.add_program(PROBE, OPTIONS)
        names = [PROBE]
    before = conf_view.render()
    with pytest.raises(InvalidInput, match="already exists"):
        conf_view.add_program(names[0], OPTIONS)
    assert conf_view.render() == before


@by_number
def test_removing_an_unknown_program_is_refused(conf: Path) -> None:
    conf_view = SupervisorConf.parse(read(conf), str(conf))
    with pytest.raises(InvalidInput, match="no \\[program:portbook_absent\\]"):
        conf_view.remove_program("portbook_absent")
    assert conf_view.render() == read(conf)


# --- in-place edits: set_program_options and rename_program --------------------------------

RENAMED = "portbook_renamed"
LOGS = ("stdout_logfile", "stderr_logfile")
WITH_PROGRAMS = [
    conf for conf in FILES if SupervisorConf.parse(read(conf), str(conf)).programs()
] or FILES
with_programs = pytest.mark.parametrize("conf", WITH_PROGRAMS, ids=lambda p: p.name[:3])


def grouped(conf_view: SupervisorConf) -> set[str]:
    """Program names some ``[group:X] programs=`` lists."""
    return {
        program.strip()
        for section in conf_view.section_names()
        if section.startswith("group:")
        for program in conf_view.section(section).get("programs", "").split(",")
    }


def split(text: str) -> list[str]:
    """Lines with their terminators."""
    return text.splitlines(keepends=True)


def check_accepted(conf: Path, text: str, tmp_path: Path) -> None:
    """validate() accepts ``text`` unless the corpus file itself is one supervisor rejects."""
    if conf.name[:3] not in REJECTED_BY_SUPERVISOR:
        validate(text, str(tmp_path / "supervisord.conf"))


def test_most_corpus_files_have_programs_to_edit() -> None:
    assert len(WITH_PROGRAMS) >= 50


@with_programs
def test_setting_autorestart_and_back_restores_every_program(conf: Path, tmp_path: Path) -> None:
    text = read(conf)
    for name in SupervisorConf.parse(text, str(conf)).programs():
        conf_view = SupervisorConf.parse(text, str(conf))
        before = {s: conf_view.section(s) for s in conf_view.section_names()}
        original = conf_view.section(f"program:{name}").get("autorestart")
        conf_view.set_program_options(name, {"autorestart": "false"})
        edited = conf_view.render()
        theirs = supervisor_view(edited)
        assert theirs[f"program:{name}"] == {**before[f"program:{name}"], "autorestart": "false"}
        assert {s: v for s, v in theirs.items() if s != f"program:{name}"} == {
            s: v for s, v in before.items() if s != f"program:{name}"
        }
        matcher = SequenceMatcher(None, split(text), split(edited), autojunk=False)
        changes = [op[1:] for op in matcher.get_opcodes() if op[0] != "equal"]
        assert len(changes) <= 1  # one contiguous run of lines changed, all others kept
        check_accepted(conf, edited, tmp_path)
        if original is None:  # appended: one line added (its anchor may gain a line end)
            assert [j2 - j1 - (i2 - i1) for i1, i2, j1, j2 in changes] == [1]
        elif "\n" not in original:  # in place: only that line; setting it back restores
            assert all(i2 - i1 == j2 - j1 == 1 for i1, i2, j1, j2 in changes)
            conf_view.set_program_options(name, {"autorestart": original})
            assert conf_view.render() == text


@with_programs
def test_setting_every_single_line_option_to_its_value_changes_nothing(conf: Path) -> None:
    text = read(conf)
    conf_view = SupervisorConf.parse(text, str(conf))
    for name, options in conf_view.programs().items():
        conf_view.set_program_options(name, {k: v for k, v in options.items() if "\n" not in v})
    assert conf_view.render() == text


@with_programs
def test_rename_and_rename_back_restores_every_program(conf: Path, tmp_path: Path) -> None:
    text = read(conf)
    for name in SupervisorConf.parse(text, str(conf)).programs():
        conf_view = SupervisorConf.parse(text, str(conf))
        if name in grouped(conf_view):
            with pytest.raises(InvalidInput, match=rf"\[group:[^]]*\] lists {name!r}"):
                conf_view.rename_program(name, RENAMED)
            assert conf_view.render() == text
            continue
        before = conf_view.programs()[name]
        conf_view.rename_program(name, RENAMED)
        renamed = conf_view.render()
        assert name not in conf_view.programs()
        after = supervisor_view(renamed)[f"program:{RENAMED}"]
        assert after.keys() == before.keys()
        assert {k: v for k, v in after.items() if k not in LOGS} == {
            k: v for k, v in before.items() if k not in LOGS
        }
        for old_line, new_line in zip(split(text), split(renamed), strict=True):
            if old_line != new_line:  # only headers and log file lines change
                assert new_line.lstrip().startswith((f"[program:{RENAMED}]", *LOGS))
        check_accepted(conf, renamed, tmp_path)
        conf_view.rename_program(RENAMED, name)
        assert conf_view.render() == text
