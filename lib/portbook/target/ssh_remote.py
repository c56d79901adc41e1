"""The program SshTarget runs ON THE HOST: JSON requests in, one JSON reply line each out.

Nothing is installed on the host. ``ssh_exec.program()`` joins ``ssh_remote_facts``,
``ssh_remote_files``, ``ssh_remote_spawn`` and this file into one program sent over
the SSH channel; the request is a JSON object ``{"op": ..., ...}`` and the reply one
JSON line on stdout: ``{"ok": RESULT}`` or ``{"error": TEXT, "kind": KIND}``.
``serve`` answers requests read from stdin, one per line, for as long as the
connection lasts, so a call is one round trip on an open channel, not a new shell
and Python.

This file holds the actions (run, XML-RPC relay, lock, glob) and ``main``; the
facts (processes, sockets) are in ``ssh_remote_facts``, the files in
``ssh_remote_files``, starting, signalling and reaping processes in
``ssh_remote_spawn``. Standard library only, Python 3.7 or later, no imports from
portbook: on the host each file is executed on its own.

Two requests outlive their reply. ``acquire`` flocks a folder for the serving
process until ``release``, or until the process ends (stdin at EOF: the
controller let go, or its SSH connection died; the kernel drops the flock).
``spawn`` (``ssh_remote_spawn``) leaves a waiter process that reaps the new process
and writes its exit code for ``exit_code``.
"""

from __future__ import annotations

import contextlib
import importlib
import json
import os
import sys
import time
from collections.abc import Callable
from typing import Any

# Other modules are imported where they are used: a short-lived program (the unit tests,
# a one-off request) should not pay ~20 ms for http.client, subprocess or tempfile.


class Fail(Exception):
    """A failure reported to the controller as ``{"error": text, "kind": kind}``."""

    def __init__(self, kind: str, text: str) -> None:
        super().__init__(text)
        self.kind = kind
        self.text = text


def op_facts(req: dict[str, Any]) -> dict[str, Any]:
    """The interpreter's real path, the environment, who we are, whether psutil is there."""
    try:
        importlib.import_module("psutil")
        has_psutil = True
    except ImportError:
        has_psutil = False
    return {
        "python": sys.executable,
        "env": dict(os.environ),
        "uid": os.getuid(),
        "gid": os.getgid(),
        "psutil": has_psutil,
    }


def op_run(req: dict[str, Any]) -> dict[str, Any]:
    """Run a command to completion, output captured, stdin empty; killed at the timeout."""
    import subprocess

    try:
        done = subprocess.run(
            req["argv"],
            cwd=req.get("cwd"),
            env=req.get("env"),
            stdin=subprocess.DEVNULL,
            capture_output=True,
            timeout=req["timeout"],
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        raise Fail("timeout", f"did not finish within {req['timeout']:g}s") from exc
    return {
        "code": done.returncode,
        "stdout": done.stdout.decode("utf-8", "replace"),
        "stderr": done.stderr.decode("utf-8", "replace"),
    }


def op_glob(req: dict[str, Any]) -> list[str]:
    """Sorted paths matching a shell pattern."""
    import glob

    return sorted(glob.glob(req["pattern"]))


def op_rpc(req: dict[str, Any]) -> dict[str, Any]:
    """POST an XML-RPC body (built by the controller) to the socket; the HTTP status and body."""
    import base64
    import http.client
    import socket

    class UnixHTTP(http.client.HTTPConnection):
        """HTTP over a unix socket, as supervisorctl talks to supervisord."""

        def connect(self) -> None:
            self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            self.sock.settimeout(self.timeout)
            self.sock.connect(req["socket"])

    conn = UnixHTTP("localhost", timeout=req["timeout"])
    try:
        conn.request("POST", "/RPC2", base64.b64decode(req["body"]), {"Content-Type": "text/xml"})
        answer = conn.getresponse()
        data = answer.read()
    except (OSError, http.client.HTTPException) as exc:
        raise Fail("connect", getattr(exc, "strerror", None) or str(exc) or repr(exc)) from exc
    finally:
        conn.close()
    return {"status": answer.status, "body": base64.b64encode(data).decode()}


def _holder(info: str) -> str:
    deadline = time.monotonic() + 1.0  # the holder writes its pid just after it takes the lock
    while True:
        try:
            with open(info, "rb") as handle:
                words = handle.read(200).decode("utf-8", "replace").split()
        except OSError:
            words = []
        if len(words) >= 2:
            return f"locked by pid {words[0]} since {words[1]}"
        if time.monotonic() > deadline:
            return "locked by another portbook run"
        time.sleep(0.02)


def _write_info(path: str, text: str) -> None:
    import tempfile

    folder = os.path.dirname(path)
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".portbook-", dir=folder)
    with os.fdopen(fd, "w") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())
    os.chmod(tmp, 0o644)
    os.replace(tmp, path)


_HELD: dict[str, tuple[int, str]] = {}
"""Folders this process has flocked: folder -> (its descriptor, the info file)."""


def _cancelled(timeout: float) -> bool:
    """True when stdin turns readable while we wait: the controller never sends anything
    while it waits for our reply, so that is EOF: it let go, or its connection died."""
    import select

    return bool(select.select([sys.stdin], [], [], timeout)[0])


def op_acquire(req: dict[str, Any]) -> dict[str, Any]:
    """flock ``folder`` for this process ("PID TIME" in ``info``) until ``release``.

    The kernel drops the flock when this process exits, so a connection that dies
    takes the lock with it: never stale.
    """
    import fcntl

    folder, info = req["folder"], req["info"]
    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            break
        except BlockingIOError:
            if not req["wait"]:
                os.close(fd)
                raise Fail("locked", _holder(info)) from None
            if _cancelled(0.2):
                os.close(fd)
                raise Fail("cancelled", "the controller went away while waiting") from None
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S%z")
    try:
        _write_info(info, f"{os.getpid()} {stamp}\n")
    except BaseException:
        os.close(fd)
        raise
    _HELD[folder] = (fd, info)
    return {"pid": os.getpid(), "since": stamp}


def op_release(req: dict[str, Any]) -> None:
    """Let go of ``folder``: remove the info file (and its folder if empty), unlock."""
    fd, info = _HELD.pop(req["folder"], (-1, ""))
    if fd < 0:
        return
    with contextlib.suppress(OSError):
        os.unlink(info)
    with contextlib.suppress(OSError):
        os.rmdir(os.path.dirname(info))
    os.close(fd)


def release_all() -> None:
    """Release every lock still held (the controller is gone)."""
    for folder in list(_HELD):
        op_release({"folder": folder})


OPS: dict[str, Callable[[dict[str, Any]], Any]] = {
    "facts": op_facts,
    "glob": op_glob,
    "acquire": op_acquire,
    "release": op_release,
    "rpc": op_rpc,
    "run": op_run,
}


def reply(doc: dict[str, Any]) -> None:
    """Write one JSON line to stdout, now."""
    sys.stdout.write(json.dumps(doc) + "\n")
    sys.stdout.flush()


def answer(req: dict[str, Any], ops: dict[str, Callable[[dict[str, Any]], Any]]) -> dict[str, Any]:
    """The reply to one request: ``{"ok": result}`` or ``{"error": text, "kind": kind}``."""
    try:
        return {"ok": ops[req["op"]](req)}
    except Fail as exc:
        return {"error": exc.text, "kind": exc.kind}
    except OSError as exc:
        return {"error": exc.strerror or str(exc), "kind": "os"}


def serve(ops: dict[str, Callable[[dict[str, Any]], Any]]) -> int:
    """Answer requests, one JSON line in and one out, until stdin closes.

    One Python for the whole run instead of one per call: a call costs a round
    trip on an open channel, not a shell start and a Python start. Stdin closes
    when the controller lets go or its connection dies. Spawn's reapers are our
    children: collected between requests so none stays a zombie.
    """
    reapers: list[int] = []
    reply({"ok": "serving"})
    stdin = sys.stdin.buffer
    while True:
        line = stdin.readline()
        if not line:
            release_all()
            return 0
        req: dict[str, Any] = {}
        try:
            req = json.loads(line)
            doc = answer(req, ops)
        except Exception as exc:  # a malformed request must not end the session
            doc = {"error": f"{type(exc).__name__}: {exc}", "kind": "protocol"}
        reply(doc)
        if req.get("op") == "spawn" and "ok" in doc:
            reapers.append(int(doc["ok"]["waiter"]))
        reapers = [pid for pid in reapers if not _collected(pid)]


def _collected(pid: int) -> bool:
    try:
        return os.waitpid(pid, os.WNOHANG)[0] == pid
    except ChildProcessError:
        return True


def main(argv: list[str], ops: dict[str, Callable[[dict[str, Any]], Any]]) -> int:
    """Answer the request in ``argv[1]`` with ``ops[op]``; errors become ``{"error", "kind"}``.

    ``serve`` answers requests from stdin instead, until it closes.
    """
    req = json.loads(argv[1])
    if req["op"] == "serve":
        return serve(ops)
    reply(answer(req, ops))
    return 0
