"""Every corpus file: byte-exact round trip, reversible add/remove, supervisor's own view.

The corpus lives beside the repository (``<repo>/../shared/corpus/supervisord``); a missing
corpus fails these tests rather than skipping them.
"""

from __future__ import annotations

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
