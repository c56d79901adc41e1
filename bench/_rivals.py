"""The other ways to do portbook's ADD, for ``bench/add.py`` to time side by side.

* **Ansible**: ``bench/ansible/add_service.yml`` (ansible.builtin ``lineinfile``,
  ``copy``, ``blockinfile``, ``command: supervisorctl update NAME``, ``wait_for``), run by
  ``ansible-playbook -c local`` against the copy (the ``bench`` extra installs it).
* **Restart script**: the manual's way. The four edits are made by this script (the same
  lines the playbook writes), then ``python -m playbooks supervisor.restart --use-script``
  runs the system's own ``scripts/MASTER_RESTART.sh`` (shut supervisord down, start it
  again) and waits until every program runs and owns its port.

Both get the very text portbook writes (``Spec``, read off a warm-up ``service.add``):
the script and the ``[program:NAME]`` section; the manifest and ``DEFAULT_PORTS`` entries
carry the same name, port, category and description.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from _common import REPO, cli_env
from _oracle import CONF, FALLBACK, MANIFEST, Added
from _probes import run_cli

PLAYBOOK = REPO / "bench" / "ansible" / "add_service.yml"
NOOP = REPO / "bench" / "ansible" / "noop.yml"

__all__ = [
    "NOOP",
    "PLAYBOOK",
    "Spec",
    "Timed",
    "ansible_playbook",
    "ansible_version",
    "edit_by_hand",
    "learn_spec",
    "run_ansible",
    "run_restart_script",
]


@dataclass(frozen=True)
class Spec:
    """One ADD, as every method is asked to do it."""

    name: str
    port: int
    category: str
    description: str
    script_text: str = ""
    program_block: str = ""  # the [program:NAME] section portbook appends, blank line first

    @property
    def script(self) -> str:
        """The script's path under the root (where portbook creates it)."""
        return f"backend/api/{self.name}.py"

    @property
    def added(self) -> Added:
        """What the oracle should find afterwards."""
        return Added(self.name, self.port, self.category, self.script, self.script_text)

    def portbook_args(self) -> list[str]:
        """``service.add`` arguments asking for this ADD."""
        return [
            *("--name", self.name, "--port", str(self.port)),
            *("--category", self.category, "--description", self.description),
        ]


def learn_spec(spec: Spec, root: str, conf_before: str) -> Spec:
    """``spec`` with the script and section text portbook wrote into ``root`` (after its add)."""
    conf = Path(root, CONF).read_text()
    if not conf.startswith(conf_before):
        raise RuntimeError("portbook's add changed supervisord.conf other than by appending")
    script = Path(root, spec.script).read_text()
    return Spec(
        spec.name, spec.port, spec.category, spec.description, script, conf[len(conf_before) :]
    )


@dataclass
class Timed:
    """One finished attempt: wall seconds, and why it failed ('' when it did not)."""

    wall: float
    error: str = ""


def _failure(code: int, stdout: str, stderr: str) -> str:
    """'' for exit 0, else the exit code and the end of the output, on one line."""
    if code == 0:
        return ""
    tail = (stdout.strip() + "\n" + stderr.strip()).strip()[-400:]
    return f"exit {code}: {' '.join(tail.split())}"


def ansible_playbook() -> str | None:
    """The ``ansible-playbook`` beside this interpreter, else on PATH (None: not installed)."""
    here = Path(sys.executable).parent / "ansible-playbook"
    return str(here) if here.exists() else shutil.which("ansible-playbook")


def ansible_version() -> str:
    """``ansible-core X.Y.Z (PATH)``, or why it is not there."""
    binary = ansible_playbook()
    if binary is None:
        return "not installed (pip install -e '.[bench]')"
    done = subprocess.run(
        [binary, "--version"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={**os.environ, "PYTHONWARNINGS": "ignore"},
    )
    match = re.search(r"\[core ([^\]]+)\]", done.stdout)
    return f"ansible-core {match.group(1) if match else '?'} (`{binary}`)"


def _ansible_env(home: str) -> dict[str, str]:
    env = cli_env([])
    env.update(
        ANSIBLE_HOME=home,
        ANSIBLE_LOCAL_TEMP=os.path.join(home, "tmp"),
        ANSIBLE_NOCOLOR="1",
        ANSIBLE_RETRY_FILES_ENABLED="0",
        ANSIBLE_PYTHON_INTERPRETER=sys.executable,
        ANSIBLE_DEPRECATION_WARNINGS="0",
        PYTHONWARNINGS="ignore",
    )
    return env


def run_ansible(playbook: Path, root: str, spec: Spec, timeout: float = 300) -> Timed:
    """Time ``ansible-playbook -i localhost, -c local PLAYBOOK -e @VARS`` against ``root``.

    The variables file and Ansible's home are written before the clock starts, in a
    temp folder removed afterwards.
    """
    binary = ansible_playbook()
    if binary is None:
        return Timed(float("nan"), "ansible-playbook not found (pip install -e '.[bench]')")
    home = tempfile.mkdtemp(prefix="pb-ansible-")
    try:
        variables = {
            "root": root,
            "python": os.path.join(root, "venv", "bin", "python"),
            **{f"svc_{k}": getattr(spec, k) for k in ("name", "port", "category", "description")},
            **{f"svc_{k}": getattr(spec, k) for k in ("script", "script_text", "program_block")},
        }
        Path(home, "vars.json").write_text(json.dumps(variables))
        argv = [binary, "-i", "localhost,", "-c", "local", str(playbook)]
        argv += ["-e", "@" + os.path.join(home, "vars.json")]
        started = time.perf_counter()
        done = subprocess.run(
            argv,
            cwd=root,
            env=_ansible_env(home),
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        wall = time.perf_counter() - started
    finally:
        shutil.rmtree(home, ignore_errors=True)
    return Timed(wall, _failure(done.returncode, done.stdout, done.stderr))


def _insert_after(path: Path, pattern: str, line: str) -> None:
    """Insert ``line`` after the first line matching ``pattern`` (as ``lineinfile`` does)."""
    lines = path.read_text().splitlines(keepends=True)
    at = next(i for i, text in enumerate(lines) if re.search(pattern, text))
    lines.insert(at + 1, line + "\n")
    path.write_text("".join(lines))


def edit_by_hand(root: str, spec: Spec) -> None:
    """The four edits, as the playbook makes them (an operator's hand edits, at no cost)."""
    base = Path(root)
    _insert_after(base / FALLBACK, r"^DEFAULT_PORTS = \{", f'    "{spec.name}": {spec.port},')
    entry = {"port": spec.port, "description": spec.description, "status": "RUNNING"}
    _insert_after(
        base / MANIFEST,
        rf'^\s*"{spec.category}_services": \{{',
        f"    {json.dumps(spec.name)}: {json.dumps(entry)},",
    )
    (base / spec.script).write_text(spec.script_text)
    with open(base / CONF, "a") as conf:
        conf.write(spec.program_block)


def run_restart_script(root: str, spec: Spec) -> Timed:
    """Time the four edits plus ``python -m playbooks supervisor.restart --use-script``."""
    started = time.perf_counter()
    edit_by_hand(root, spec)
    run = run_cli("supervisor.restart", "--use-script", root=root)
    return Timed(time.perf_counter() - started, run.error)
