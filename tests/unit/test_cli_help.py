"""Every task's flags, as ``invoke`` and ``portbook`` print them: one meaning per short flag,
help on every flag, INT where the value is an integer, ``-h`` always help."""

from __future__ import annotations

import importlib
import re
import typing
from typing import Any

import pytest
from invoke import Collection
from invoke.main import program as invoke_program
from portbook.cli import RUNNER_FLAGS

from playbooks import namespace as playbooks_namespace
from playbooks._flags import SHORT_FLAGS, PortbookTask
from playbooks.cli import program
from tests.unit.cli_support import REPO, run_program

pytestmark = pytest.mark.usefixtures("_in_repo")


@pytest.fixture
def _in_repo(monkeypatch: pytest.MonkeyPatch) -> None:
    """invoke finds tasks.py from the current folder, as an operator's shell would."""
    monkeypatch.chdir(REPO)


def namespace() -> Collection:
    """The namespace ``invoke`` loads: tasks.py's (playbooks plus dev)."""
    ns: Collection = importlib.import_module("tasks").ns
    return ns


TASKS = sorted(namespace().task_names)
PROGRAMS = {"invoke": lambda: invoke_program, "portbook": program}
SCRIPT_TASKS = sorted(playbooks_namespace().task_names)
ON = {"invoke": TASKS, "portbook": SCRIPT_TASKS}
"""The tasks each program has: portbook has all but dev.*."""


def options(help_text: str) -> list[tuple[list[str], str]]:
    """The Options section of a task's help: (flag spellings, help text) per flag."""
    section = help_text.split("Options:\n", 1)[1]
    entries: list[tuple[list[str], str]] = []
    for line in section.splitlines():
        match = re.match(r"^  (-\S.*?)(?:\s{2,}(.*))?$", line)
        if match:
            entries.append((match.group(1).split(", "), match.group(2) or ""))
        elif line.startswith("   ") and entries:
            names, text = entries[-1]
            entries[-1] = (names, f"{text} {line.strip()}")
    return entries


def long_name(spellings: list[str]) -> str:
    """``--max-fail`` from ``['--max-fail=INT']``; the short flag itself when it has no long."""
    longs = [s for s in spellings if s.startswith("--")]
    return (longs or spellings)[0].split("=")[0].replace("[no-]", "")


def shorts(spellings: list[str]) -> list[str]:
    """The one-letter spellings: ``-n`` from ``-n STRING``."""
    return [s.split(" ")[0] for s in spellings if re.match(r"^-[^-](\s|$)", s)]


def int_params(name: str) -> set[str]:
    """The task's parameters that hold integers (annotated int or int | None)."""
    task = namespace()[name]
    hints = typing.get_type_hints(task.body)
    wanted = (int, int | None)
    return {p for p, hint in hints.items() if hint in wanted}


def task_help(which: str, name: str, capsys: pytest.CaptureFixture[str]) -> str:
    """``invoke --help TASK`` / ``portbook --help TASK``, in process; must exit 0."""
    code, out, err = run_program(PROGRAMS[which](), [which, "--help", name], capsys)
    assert code == 0, err
    return out


@pytest.mark.parametrize("which", PROGRAMS)
def test_every_flag_of_every_task_has_help_and_no_broken_spelling(
    which: str, capsys: pytest.CaptureFixture[str]
) -> None:
    for name in ON[which]:
        text = task_help(which, name, capsys)
        flags = options(text)
        params = list(typing.get_type_hints(namespace()[name].body))
        assert len(flags) == len([p for p in params if p not in ("c", "return")]), text
        assert "--, " not in text and "--," not in text, text
        for spellings, help_text in flags:
            assert "--" not in spellings, (name, spellings)
            assert help_text.strip(), f"{name}: {spellings} has no help"


@pytest.mark.parametrize("which", PROGRAMS)
def test_a_short_flag_means_one_long_flag_across_all_tasks_and_h_is_never_a_task_flag(
    which: str, capsys: pytest.CaptureFixture[str]
) -> None:
    meanings: dict[str, set[str]] = {}
    for name in ON[which]:
        for spellings, _ in options(task_help(which, name, capsys)):
            for short in shorts(spellings):
                meanings.setdefault(short, set()).add(long_name(spellings))
    assert "-h" not in meanings
    assert {s: m for s, m in meanings.items() if len(m) > 1} == {}
    assert meanings["-n"] == {"--name"} and meanings["-H"] == {"--hosts"}


@pytest.mark.parametrize("which", PROGRAMS)
def test_integer_options_are_shown_as_int_not_string(
    which: str, capsys: pytest.CaptureFixture[str]
) -> None:
    seen: set[str] = set()
    for name in ON[which]:
        ints = int_params(name)
        seen |= ints
        for spellings, _ in options(task_help(which, name, capsys)):
            flag = long_name(spellings).lstrip("-").replace("-", "_")
            if flag in ints:
                assert any(s.endswith("=INT") for s in spellings), (name, spellings)
                assert not any("STRING" in s for s in spellings), (name, spellings)
    assert {"serial", "max_fail", "count"} <= seen


@pytest.mark.parametrize("which", PROGRAMS)
def test_task_dash_h_prints_that_tasks_help_and_exits_0(
    which: str, capsys: pytest.CaptureFixture[str]
) -> None:
    for name in ON[which]:
        code, out, err = run_program(PROGRAMS[which](), [which, name, "-h"], capsys)
        assert code == 0, (name, err)
        assert f"[--core-opts] {name} " in out and "Options:" in out, (name, out)


def test_the_short_flag_scheme_has_unique_letters_and_leaves_h_to_help() -> None:
    assert "h" not in SHORT_FLAGS.values()
    assert len(set(SHORT_FLAGS.values())) == len(SHORT_FLAGS)


def test_every_task_is_a_portbook_task_without_invokes_derived_short_flags() -> None:
    for name in TASKS:
        task = namespace()[name]
        assert isinstance(task, PortbookTask), name
        assert task.auto_shortflags is False, name


def test_a_bad_integer_value_is_refused_with_exit_2_not_a_traceback(
    capsys: pytest.CaptureFixture[str],
) -> None:
    for which in PROGRAMS:
        argv = [which, "service.add", "--name", "x_svc", "--serial", "abc"]
        code, _, err = run_program(PROGRAMS[which](), argv, capsys)
        assert code == 2
        assert err.strip() == "--serial must be an integer, not 'abc'"


def test_portbook_help_lists_tasks_before_its_options_and_none_of_invokes_runner_flags(
    capsys: pytest.CaptureFixture[str],
) -> None:
    for argv in (["portbook", "--help"], ["portbook"]):
        code, out, _ = run_program(program(), argv, capsys)
        assert code == 0
        assert out.index("Tasks:") < out.index("service.add") < out.index("Options:")
        for flag in RUNNER_FLAGS:
            assert f"--{flag}" not in out, flag
        for kept in ("--hosts", "--inventory", "--list", "--version", "--help", "--debug"):
            assert kept in out, kept


@pytest.mark.parametrize("flag", ["--dry", "--pty", "-R", "--echo"])
def test_portbook_refuses_invokes_runner_flags_before_running_anything(
    flag: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run_program(program(), ["portbook", flag, "service.list"], capsys)
    assert code == 2
    assert out == "" and f"No idea what '{flag}' is" in err


def _required(name: str) -> list[str]:
    task: Any = namespace()[name]
    return list(task.required())


def test_only_the_service_changes_have_required_flags() -> None:
    required = {name: _required(name) for name in TASKS if _required(name)}
    assert required == {
        "service.add": ["name"],
        "service.modify": ["name"],
        "service.remove": ["name"],
        "service.rename": ["name", "to"],
    }


@pytest.mark.parametrize("which", PROGRAMS)
@pytest.mark.parametrize(
    ("argv", "missing"),
    [
        (["service.add"], "--name is required"),
        (["service.modify", "--port", "9000"], "--name is required"),
        (["service.remove"], "--name is required"),
        (["service.rename", "--to", "new_name"], "--name is required"),
        (["service.rename", "--name", "old_name"], "--to is required"),
        (["service.rename"], "--name and --to are required"),
    ],
)
def test_a_missing_required_flag_is_refused_with_exit_2_naming_the_flag(
    which: str, argv: list[str], missing: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run_program(PROGRAMS[which](), [which, *argv], capsys)
    assert code == 2
    assert out == ""
    assert missing in err and "None" not in err
    assert len(err.strip().splitlines()) == 1


def test_a_missing_name_with_json_is_one_json_refusal(capsys: pytest.CaptureFixture[str]) -> None:
    import json

    code, out, err = run_program(program(), ["portbook", "service.remove", "--json"], capsys)
    doc = json.loads(out)
    assert code == 2 and err == ""
    assert (doc["ok"], doc["exit_code"]) == (False, 2)
    assert doc["error"] == "--name is required (see --help)"
