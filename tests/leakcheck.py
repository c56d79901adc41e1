"""The test session's leak check: whatever the tests start is gone at the end, or the run fails.

Every run gets a tag (6 hex digits) and marks what it starts with it:

* ``PORTBOOK_TEST_SESSION=TAG`` in ``os.environ``, so a process started from the tests
  with the inherited environment carries it in ``/proc/PID/environ`` (supervisord
  passes it on to its programs, CLI runs to their smoke processes);
* the session folder ``TMP/pbt-TAG``: demo copies (``session_tempdir``) and namespace
  hosts' folders live in it; pytest's basetemp is watched the same way (``watch``);
* network namespaces ``pbtTAG-XXXX`` (``create_host`` names them so).

At the end a live process is the session's when it carries the marker, runs in one
of its namespaces, has its cwd or a command-line argument inside a watched folder,
or descends from the pytest process (its ancestors never count). Nothing else on the
machine is looked at: other runs' demos have other tags and other folders. What is
found is reported, then killed and removed, so a failing run leaves nothing behind.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import psutil
from portbook.sim import hosts as simhosts

__all__ = [
    "SESSION_ENV",
    "Leftovers",
    "Session",
    "begin",
    "create_host",
    "current",
    "find",
    "finish",
    "session_tempdir",
    "watch",
]

SESSION_ENV = "PORTBOOK_TEST_SESSION"


@dataclass
class Session:
    """One test run's tag, its folder, and the folders whose contents count as its own."""

    tag: str
    folder: Path
    watched: list[Path]
    pid: int

    @property
    def netns_prefix(self) -> str:
        """The start of every network namespace's name this run creates."""
        return f"pbt{self.tag}-"


@dataclass
class Leftovers:
    """What a session left: processes (with why they are its own), folders, namespaces."""

    processes: list[tuple[psutil.Process, str]] = field(default_factory=list)
    folders: list[str] = field(default_factory=list)
    namespaces: list[str] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.processes or self.folders or self.namespaces)

    def lines(self, session: Session) -> list[str]:
        """The report: one line per leftover, naming pids and command lines."""
        out = [f"LEAK: this test run (tag {session.tag}) left behind what it started:"]
        for proc, why in self.processes:
            out.append(f"  pid {proc.pid} ({why}): {_describe(proc)}")
        out += [f"  folder {path}" for path in self.folders]
        out += [f"  network namespace {name}" for name in self.namespaces]
        out.append("  (killed and removed now; fix the fixture or test that started them)")
        return out


_session: Session | None = None


def begin() -> Session:
    """Tag this run: create its folder and put its marker in ``os.environ``."""
    global _session
    while True:
        tag = secrets.token_hex(3)
        folder = Path(tempfile.gettempdir(), f"pbt-{tag}")
        with contextlib.suppress(FileExistsError):
            folder.mkdir(mode=0o755)
            break
    folder.chmod(0o755)  # hosts' sshd and services read below it, whatever the umask
    os.environ[SESSION_ENV] = tag
    _session = Session(tag, folder, [folder], os.getpid())
    return _session


def current() -> Session | None:
    """This process's session, or None outside a tagged test run."""
    return _session


def watch(path: Path) -> None:
    """Count processes whose cwd or arguments lie in ``path`` as this session's too."""
    if _session is not None and path not in _session.watched:
        _session.watched.append(path)


def session_tempdir(prefix: str) -> str:
    """``mkdtemp`` in the session folder (in the system's temp folder outside a session)."""
    return tempfile.mkdtemp(prefix=prefix, dir=str(_session.folder) if _session else None)


def create_host(
    address: str | None = None,
    peer: str | None = None,
    netns: str | None = None,
    folder: Path | None = None,
    client_key: Path | None = None,
    veth: str | None = None,
) -> simhosts.SshHost:
    """``simhosts.create_host`` with the session's names: netns ``pbtTAG-XXXX``, folder inside."""
    if _session is not None:
        token = secrets.token_hex(2)
        netns = netns or f"{_session.netns_prefix}{token}"
        folder = folder or _session.folder / f"host-{token}"
    return simhosts.create_host(address, peer, netns, folder, client_key, veth)


def find(session: Session) -> Leftovers:
    """Everything of ``session``'s still there: live processes, folders, namespaces."""
    namespaces = _namespaces(session)
    ns_ids = {_ns_id(f"/run/netns/{name}") for name in namespaces} - {None}
    me = psutil.Process(session.pid)
    mine = {p.pid for p in me.children(recursive=True)}
    skip = {session.pid, *(p.pid for p in me.parents())}
    left = Leftovers(namespaces=namespaces)
    for proc in psutil.process_iter(["name", "cmdline", "cwd", "environ", "status"]):
        if proc.pid in skip or proc.info["status"] in (psutil.STATUS_ZOMBIE, psutil.STATUS_DEAD):
            continue
        why = _why_ours(session, proc, proc.pid in mine, ns_ids)
        if why:
            left.processes.append((proc, why))
    if session.folder.is_dir():
        left.folders = sorted(str(p) for p in session.folder.iterdir())
    return left


def _ns_id(path: str) -> tuple[int, int] | None:
    """The (device, inode) naming a network namespace; None when ``path`` is gone."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    return st.st_dev, st.st_ino


def _namespaces(session: Session) -> list[str]:
    try:
        names = os.listdir("/run/netns")
    except OSError:
        return []
    return sorted(n for n in names if n.startswith(session.netns_prefix))


def _why_ours(
    session: Session, proc: psutil.Process, descendant: bool, ns_ids: set[tuple[int, int] | None]
) -> str:
    """Why ``proc`` is the session's ("" when it is not)."""
    info = proc.info
    if (info["environ"] or {}).get(SESSION_ENV) == session.tag:
        return f"{SESSION_ENV}={session.tag}"
    if ns_ids and _ns_id(f"/proc/{proc.pid}/ns/net") in ns_ids:
        return "in the run's network namespace"
    for folder in map(str, session.watched):
        inside = [info["cwd"] or "", *(info["cmdline"] or [])]
        if any(arg == folder or folder + "/" in arg for arg in inside):
            return f"uses {folder}"
    return "started by the pytest process" if descendant else ""


def _describe(proc: psutil.Process) -> str:
    info = proc.info
    cmdline = " ".join(info["cmdline"] or []) or f"[{info['name']}]"
    return f"{cmdline} (cwd {info['cwd'] or '?'})"


def finish(grace: float = 5.0) -> list[str]:
    """End the session: the report of its leftovers ([] when none), which are then removed.

    Processes still exiting get ``grace`` seconds before they count as left running.
    """
    session = _session
    if session is None:
        return []
    left = find(session)
    deadline = time.monotonic() + grace
    while left.processes and time.monotonic() < deadline:
        time.sleep(0.1)
        left = find(session)
    report = left.lines(session) if left else []
    _remove(session, left)
    return report


def _remove(session: Session, left: Leftovers) -> None:
    """Kill the processes (again while new ones appear), delete namespaces and the folder."""
    for _ in range(5):
        if not left.processes:
            break
        procs = [proc for proc, _ in left.processes]
        for proc in procs:
            with contextlib.suppress(psutil.Error):
                proc.kill()  # psutil checks the pid was not reused meanwhile
        psutil.wait_procs(procs, timeout=5)
        left = find(session)
    for name in left.namespaces:
        simhosts.stop_host_by_name(name, veth=name)  # no such link: the pair dies with the netns
    shutil.rmtree(session.folder, ignore_errors=True)  # never follows a link (a demo's venv)
