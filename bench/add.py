"""Benchmark ``service.add`` on a live demo, side by side with Ansible and the restart script.

Usage: ``python bench/add.py [--runs N] [--write]``

Every round runs three ways of doing the same ADD (service ``bench_svc``, the same port,
category, description, script and ``[program:bench_svc]`` text), each on a fresh demo
copy (five services under their own supervisord) on the same block of ports, the order
rotating from round to round:

* **portbook**: ``python -m playbooks service.add --name bench_svc --port P ... --json``,
  per-step seconds from its JSON;
* **Ansible**: ``bench/ansible/add_service.yml`` through ``ansible-playbook -c local``
  (``lineinfile``, ``copy``, ``blockinfile``, ``supervisorctl update``, ``wait_for``);
* **restart script**: the four edits, then ``python -m playbooks supervisor.restart
  --use-script`` (the system's ``MASTER_RESTART.sh``, then the same verification).

Each is timed as a whole process (wall time) while a thread TCP-connects to every other
service's port every 20 ms, from 0.2 s before to 0.5 s after: the longest refused stretch
is the downtime that service saw. Afterwards an oracle independent of portbook
(``_oracle.py``) checks the ADD really happened (the four places, supervisor RUNNING, the
new pid owning the port); an attempt that fails it is reported failed, without a time.

For portbook the floor is also measured on the same copy afterwards: what any correct
add must wait for (the new service's start-to-listen and SIGINT-to-exit times, as
supervisor runs it, plus supervisor's ``startsecs``). Target: wall <= floor + 1 s and no
failed probe on another service. A warm-up ``service.add`` (untimed) first reads the
script and section text portbook writes, which the other two methods then write too.
Everything is torn down after each attempt.
"""

from __future__ import annotations

import argparse
import configparser
import contextlib
import math
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import psutil

# _common puts lib/ and the repo on sys.path, so it must come before portbook.
from _common import DOCS, Demo, cli_env, free_base, make_demo, median, port_accepts, teardown_demo
from _common import update_docs_section as write_section
from _oracle import CONF, program_pids, rpc, verify_added
from _probes import leftovers, probed, run_cli
from _rivals import (
    NOOP,
    PLAYBOOK,
    Spec,
    Timed,
    ansible_version,
    learn_spec,
    run_ansible,
    run_restart_script,
)
from _stamp import HELPERS, WHOLE_CODE, take_stamp
from add_compare import docs_body
from add_report import Attempt, console_line

METHODS = ("portbook", "ansible", "restart-script")
NAME, CATEGORY, DESCRIPTION = "bench_svc", "watchdog", "Benchmark service"
COVERS = (
    *WHOLE_CODE,
    "bench/add.py",
    "bench/add_report.py",
    "bench/add_compare.py",
    "bench/_rivals.py",
    "bench/_oracle.py",
    "bench/_probes.py",
    "bench/ansible",
    *HELPERS,
)
_SMOKE_DETAIL = re.compile(r"after ([0-9.]+)s, exited ([0-9.]+)s after SIGINT")


def smoke_times(doc: dict[str, Any]) -> tuple[float, float]:
    """The smoke test's listen and stop seconds: from JSON notes if present, else its detail."""
    notes = doc.get("notes") or {}
    if "smoke_listen_s" in notes and "smoke_stop_s" in notes:
        return float(notes["smoke_listen_s"]), float(notes["smoke_stop_s"])
    for step in doc.get("steps", []):
        if step.get("name") == "smoke-test":
            match = _SMOKE_DETAIL.search(step.get("detail", ""))
            if match:
                return float(match.group(1)), float(match.group(2))
    return math.nan, math.nan


def _wall(argv: Sequence[str], cwd: str) -> float:
    started = time.perf_counter()
    subprocess.run(list(argv), cwd=cwd, env=cli_env(), capture_output=True, check=False)
    return time.perf_counter() - started


def startup_seconds(cwd: str, reps: int = 3) -> tuple[float, float]:
    """Median wall time of ``python -c pass`` and of ``python -m playbooks --version``."""
    bare = [_wall([sys.executable, "-c", "pass"], cwd) for _ in range(reps)]
    full = [_wall([sys.executable, "-m", "playbooks", "--version"], cwd) for _ in range(reps)]
    return median(bare), median(full)


def program_startsecs(root: str, name: str) -> float:
    """``startsecs`` of ``[program:NAME]`` as written (supervisor's default: 1)."""
    parser = configparser.RawConfigParser(inline_comment_prefixes=(";", "#"), strict=False)
    parser.read_string(Path(root, CONF).read_text())
    return float(parser.get(f"program:{name}", "startsecs", fallback="1"))


def measure_floor(demo: Demo, name: str, port: int, timeout: float = 20.0) -> tuple[float, float]:
    """Stop the supervised NAME, spawn its command by hand: (start-to-listen, SIGINT-to-exit).

    Same command as supervisor runs: ``ROOT/venv/bin/python backend/api/NAME.py``,
    cwd ROOT, PYTHONPATH=ROOT. Listening is detected by TCP connect, polled every 5 ms.
    """
    rpc(demo.root).supervisor.stopProcess(name, True)
    deadline = time.monotonic() + timeout
    while port_accepts(port, 0.2):
        if time.monotonic() > deadline:
            raise RuntimeError(f"port {port} still accepting after stopping {name}")
        time.sleep(0.02)
    argv = [os.path.join(demo.root, "venv", "bin", "python"), f"backend/api/{name}.py"]
    with open(Path(demo.root, "logs", "bench_floor.log"), "ab") as log:
        started = time.perf_counter()
        proc = subprocess.Popen(
            argv,
            cwd=demo.root,
            env=cli_env([demo.root]),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        while not port_accepts(port, 0.2):
            if proc.poll() is not None:
                raise RuntimeError(f"{name} exited ({proc.returncode}) before listening on {port}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"{name} not listening on {port} after {timeout:g}s")
            time.sleep(0.005)
        listen = time.perf_counter() - started
        sent = time.perf_counter()
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=timeout)
        stop = time.perf_counter() - sent
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    return listen, stop


def run_portbook(demo: Demo, spec: Spec, out: Attempt) -> Timed:
    """The timed ``service.add``; its per-step seconds and smoke-test times go into ``out``."""
    run = run_cli("service.add", *spec.portbook_args(), root=demo.root)
    out.steps = run.steps
    with contextlib.suppress(ValueError):  # no JSON: the error says why
        out.smoke_listen, out.smoke_stop = smoke_times(run.doc)
    return Timed(run.wall, run.error)


RUNNERS: dict[str, Callable[[Demo, Spec, Attempt], Timed]] = {
    "portbook": run_portbook,
    "ansible": lambda demo, spec, out: run_ansible(PLAYBOOK, demo.root, spec),
    "restart-script": lambda demo, spec, out: run_restart_script(demo.root, spec),
}


def portbook_extras(demo: Demo, spec: Spec, out: Attempt) -> None:
    """After a good portbook add: startsecs, the floor, and the interpreter's start-up."""
    out.startsecs = program_startsecs(demo.root, spec.name)
    out.floor_listen, out.floor_stop = measure_floor(demo, spec.name, spec.port)
    out.bare_python, out.startup = startup_seconds(demo.root)


def diagnose(root: str, spec: Spec) -> str:
    """Why the new service may not run: the end of its error log, and who holds its port."""
    log = Path(root, "logs", f"{spec.name}.err.log")
    tail = " ".join(log.read_text(errors="replace").split()[-40:]) if log.is_file() else ""
    holders = []
    for conn in psutil.net_connections(kind="inet"):
        if conn.laddr and conn.laddr.port == spec.port:
            holders.append(f"pid {conn.pid} {conn.status}")
    return (
        f" [{spec.name}.err.log: {tail or 'empty or absent'}; port {spec.port}: "
        f"{', '.join(holders) or 'no socket'}]"
    )


def attempt(method: str, index: int, base: int, spec: Spec) -> Attempt:
    """One method on a fresh demo copy: timed, probed, checked by the oracle; torn down."""
    out = Attempt(method, index)
    demo = make_demo(base=base)
    out.root = demo.root
    try:
        before = program_pids(demo.root)
        if method == "ansible":  # what ansible-playbook costs before any task, same copy
            out.noop = run_ansible(NOOP, demo.root, spec).wall
        timed, probes = probed({"others": demo.ports}, lambda: RUNNERS[method](demo, spec, out))
        out.wall, out.error, out.probes = timed.wall, timed.error, probes["others"]
        if not out.error:
            verdict = verify_added(demo.root, spec.added)
            out.error = "" if verdict.ok else f"the oracle found: {verdict.failed}"
        if out.error:
            out.error += diagnose(demo.root, spec)
        after = program_pids(demo.root)
        out.others_kept = all(after.get(n) == pid for n, pid in before.items())
        if method == "portbook" and not out.error:
            portbook_extras(demo, spec, out)
        out.ok = not out.error
    except Exception as exc:  # report it, tear down, go on
        out.error = f"{type(exc).__name__}: {exc}"
    finally:
        out.killed = teardown_demo(demo)
    return out


def warm_up(base: int) -> Spec:
    """An untimed portbook add: the script and section text every method then writes."""
    spec = Spec(NAME, base + 100, CATEGORY, DESCRIPTION)
    demo = make_demo(base=base)
    try:
        conf_before = Path(demo.root, CONF).read_text()
        run = run_cli("service.add", *spec.portbook_args(), root=demo.root)
        if run.error:
            raise RuntimeError(f"warm-up service.add failed: {run.error}")
        return learn_spec(spec, demo.root, conf_before)
    finally:
        teardown_demo(demo)


def rounds(count: int, methods: Sequence[str]) -> tuple[list[Attempt], int]:
    """``count`` rounds of every method, the order rotating; returns them and the base port."""
    base = free_base()
    spec = warm_up(base)
    print(f"warm-up done on ports {base}+; {spec.name} on {spec.port}", flush=True)
    attempts = []
    for index in range(1, count + 1):
        shift = (index - 1) % len(methods)
        for method in [*methods[shift:], *methods[:shift]]:
            attempts.append(attempt(method, index, base, spec))
            print(console_line(attempts[-1]), flush=True)
    return attempts, base


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark; print the section; with --write update docs/benchmarks.md."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="rounds of the three methods (5)")
    parser.add_argument("--write", action="store_true", help=f"update {DOCS}")
    args = parser.parse_args(argv)
    command = f"python bench/add.py --runs {args.runs}" + " --write" * args.write
    stamp = take_stamp("add", command, COVERS)
    stamp.extra.append(f"- Ansible: {ansible_version()}")
    attempts, base = rounds(args.runs, METHODS)
    body = docs_body(attempts, stamp.finish(), args.runs, base)
    print(f"\n{body}")
    left = leftovers([a.root for a in attempts if a.root])
    print(f"\nleftovers after teardown: {', '.join(left) or 'none'}")
    if args.write and any(a.ok for a in attempts):
        write_section("add", body)
        print(f"wrote the service.add section of {DOCS}")
    return 0 if all(a.ok for a in attempts) and not left else 1


if __name__ == "__main__":
    sys.exit(main())
