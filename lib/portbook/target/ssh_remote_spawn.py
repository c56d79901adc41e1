"""Start, signal and reap processes ON THE HOST, for the program SshTarget sends (see ssh_remote).

``spawn`` leaves a waiter process that reaps the new process and writes its exit code
to a status file; ``exit_code`` reads it (and removes it), ``signal`` signals one process.

Standard library only, Python 3.7 or later, no imports from portbook: on the host this
file is executed on its own (``ssh_exec.program``; ``OPS`` is what it offers). A failure
to start raises OSError, which ``ssh_remote.answer`` reports as ``{"kind": "os"}``.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
from collections.abc import Callable
from typing import Any

WAITER = (
    "import os,sys\n"
    "p=int(sys.argv[1]);s=os.waitpid(p,0)[1]\n"
    "c=-os.WTERMSIG(s) if os.WIFSIGNALED(s) else os.WEXITSTATUS(s)\n"
    "t=sys.argv[2]+'.tmp'\n"
    "with open(t,'w') as f:f.write(str(c))\n"
    "os.rename(t,sys.argv[2])\n"
)
"""What the spawn reaper execs into (a short command line in ps): wait, record the code."""


def _exec_child(req: dict[str, Any], errors: int) -> None:
    """In the new process: own session, cwd, log, user, then exec; report failure on ``errors``."""
    try:
        os.setsid()
        os.chdir(req["cwd"])
        log = os.open(req["log"], os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o666)
        null = os.open(os.devnull, os.O_RDONLY)
        os.dup2(null, 0)
        os.dup2(log, 1)
        os.dup2(log, 2)
        user = req.get("user")
        if user and os.geteuid() == 0:
            import pwd

            entry = pwd.getpwnam(user)
            os.initgroups(user, entry.pw_gid)
            os.setgid(entry.pw_gid)
            os.setuid(entry.pw_uid)
        os.execvpe(req["argv"][0], req["argv"], req["env"])
    except BaseException as exc:  # anything: report it, never return into the reaper's code
        text = getattr(exc, "strerror", None) or str(exc)
        os.write(errors, text.encode("utf-8", "replace"))
    finally:
        os._exit(127)


def _read_all(fd: int) -> bytes:
    data = b""
    while True:
        chunk = os.read(fd, 4096)
        if not chunk:
            return data
        data += chunk


def _reap(req: dict[str, Any], report: int, status: str) -> None:
    """In the reaper: start the process, report its pid, then exec into the waiter."""
    os.setsid()
    os.chdir("/")
    null = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):  # let go of the SSH channel so the launcher's command can end
        os.dup2(null, fd)
    err_r, err_w = os.pipe()  # close-on-exec: EOF without data means the exec worked
    child = os.fork()
    if child == 0:
        os.close(err_r)
        _exec_child(req, err_w)
    os.close(err_w)
    failure = _read_all(err_r)
    if failure:
        os.waitpid(child, 0)
        os.write(report, json.dumps({"error": failure.decode("utf-8", "replace")}).encode())
        os._exit(0)
    os.write(report, json.dumps({"pid": child}).encode())
    os.close(report)
    os.execv(sys.executable, [sys.executable, "-c", WAITER, str(child), status])


def op_spawn(req: dict[str, Any]) -> dict[str, Any]:
    """Start a command in its own session, output appended to ``log``; its pid and waiter.

    The launcher (this process) forks a reaper, which forks the command and
    then becomes the waiter that records its exit code in ``dir/status``.
    """
    import tempfile

    folder = tempfile.mkdtemp(prefix="portbook-spawn-")
    read_end, write_end = os.pipe()
    reaper = os.fork()
    if reaper == 0:
        try:
            os.close(read_end)
            _reap(req, write_end, os.path.join(folder, "status"))
        finally:
            os._exit(1)
    os.close(write_end)
    answer = json.loads(_read_all(read_end).decode() or '{"error": "the reaper died"}')
    if "error" in answer:
        with contextlib.suppress(OSError):
            os.waitpid(reaper, 0)
            os.rmdir(folder)
        raise OSError(answer["error"])  # answered as {"error": text, "kind": "os"}
    return {"pid": answer["pid"], "waiter": reaper, "dir": folder}


def _stat_fields(pid: int) -> list[str]:
    """/proc/PID/stat after the command name: [state, ppid, ...]."""
    with open(f"/proc/{pid}/stat", "rb") as handle:
        return handle.read().rsplit(b")", 1)[1].decode().split()


def alive(pid: int) -> bool:
    """True while ``pid`` exists and is not a zombie."""
    try:
        return _stat_fields(pid)[0] not in ("Z", "X")
    except (OSError, IndexError):
        return False


def op_signal(req: dict[str, Any]) -> None:
    """Signal one process; one already gone is fine."""
    with contextlib.suppress(ProcessLookupError):
        os.kill(req["pid"], req["signum"])


def op_exit_code(req: dict[str, Any]) -> int | None:
    """A spawned process's exit code; None while it, or its waiter about to record it, runs.

    ``dir`` is the folder the waiter writes ``status`` to (removed once read);
    without it, as locally for a process portbook did not start: None while
    alive, else 0. A waiter that died without recording gives -1.
    """
    pid, folder = req["pid"], req.get("dir")
    if folder:
        status = os.path.join(folder, "status")
        with contextlib.suppress(OSError), open(status) as handle:
            code = int(handle.read())
            os.unlink(status)
            os.rmdir(folder)
            return code
    if alive(pid):
        return None
    if folder and req.get("waiter") and alive(req["waiter"]):
        return None
    return -1 if folder else 0


OPS: dict[str, Callable[[dict[str, Any]], Any]] = {
    "exit_code": op_exit_code,
    "signal": op_signal,
    "spawn": op_spawn,
}
