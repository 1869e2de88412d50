"""Processes the kit starts: as whom, whether a pid is still ours, stopping it, free ports.

Servers outlive the ``dojo`` command that started them, so the kit identifies them later by
pid *and* start time *and* a marker in the command line: after a reboot the pid may belong to
someone else, and the kit must never signal a process it did not start.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psutil

from dbdojo import settings
from dbdojo.errors import DojoError

_CREATE_TIME_SLACK = 1.0  # seconds; psutil's create_time is rounded to clock ticks


class StartFailed(DojoError, RuntimeError):
    """A server did not come up; the message says which, why, and ends with its log."""


@dataclass(frozen=True)
class RunAs:
    """The unprivileged account servers run as when the kit itself runs as root."""

    name: str
    uid: int
    gid: int

    def subprocess_kwargs(self) -> dict:
        return {"user": self.uid, "group": self.gid, "extra_groups": []}


def run_as() -> RunAs | None:
    """Whom servers run as: ``None`` (the current user) unless we are root.

    PostgreSQL refuses to run as root, and a database server has no business being root.
    ``DOJO_RUN_AS`` names another account than ``nobody``.
    """
    if os.geteuid() != 0:
        return None
    name = settings.run_as()
    try:
        entry = pwd.getpwnam(name)
    except KeyError as exc:
        raise StartFailed(
            f"running as root, the kit starts servers as the unprivileged user {name!r}, "
            "which does not exist: create it or set DOJO_RUN_AS to an existing user"
        ) from exc
    return RunAs(name, entry.pw_uid, entry.pw_gid)


def can_reach(path: Path, user: RunAs | None, mode: str = "x") -> bool:
    """Whether ``user`` can access ``path`` (``x``: enter/execute, ``w``: write), asked of the
    kernel as that user, so every parent directory's permissions count."""
    if user is None:
        flags = {"x": os.X_OK, "w": os.W_OK, "r": os.R_OK}[mode]
        return os.access(path, flags)
    result = subprocess.run(
        ["test", f"-{mode}", str(path)], check=False, **user.subprocess_kwargs()
    )
    return result.returncode == 0


def give_to(path: Path, user: RunAs | None) -> None:
    """Make ``path`` (recursively) owned by ``user``, so a server running as it can use it."""
    if user is None:
        return
    os.chown(path, user.uid, user.gid)
    if path.is_dir():
        for root, dirs, files in os.walk(path):
            for name in (*dirs, *files):
                os.chown(os.path.join(root, name), user.uid, user.gid, follow_symlinks=False)


def run(
    cmd: Sequence[str], user: RunAs | None, *, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    """Run a short command as ``user``, capturing its output (never raises on failure)."""
    kwargs = user.subprocess_kwargs() if user else {}
    return subprocess.run(
        list(cmd),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        stdin=subprocess.DEVNULL,
        cwd="/",
        **kwargs,
    )


_children: dict[int, subprocess.Popen] = {}


def spawn(
    cmd: Sequence[str],
    log_file: Path,
    user: RunAs | None,
    cwd: Path | None = None,
    env: dict[str, str] | None = None,
) -> int:
    """Start a long-running process that outlives the ``dojo`` command; return its pid.

    It gets its own session (a Ctrl-C or a closed terminal does not reach it), no stdin, and
    its output appended to ``log_file``; ``env`` is added to this environment. For servers
    that daemonize themselves, prefer :func:`run` and read their pid file.
    """
    kwargs = user.subprocess_kwargs() if user else {}
    with open(log_file, "ab") as log:
        proc = subprocess.Popen(
            list(cmd),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=cwd or "/",
            start_new_session=True,
            close_fds=True,
            env={**os.environ, **env} if env else None,
            **kwargs,
        )
    _children[proc.pid] = proc  # kept so a child that dies while we live can be reaped
    return proc.pid


def started_at(pid: int) -> float | None:
    """The start time of process ``pid`` (seconds since the epoch), or None if it is gone."""
    try:
        proc = psutil.Process(pid)
        if proc.status() == psutil.STATUS_ZOMBIE:
            _reap(pid)
            return None
        return proc.create_time()
    except psutil.Error:
        return None


def is_ours(pid: int | None, started: float | None, marker: str) -> bool:
    """Whether ``pid`` is alive and still the process the kit started: same start time and
    ``marker`` in its command line. A reused pid or a zombie is not ours."""
    if not pid:
        return False
    try:
        proc = psutil.Process(pid)
        if proc.status() == psutil.STATUS_ZOMBIE:
            _reap(pid)
            return False
        if started is not None and abs(proc.create_time() - started) > _CREATE_TIME_SLACK:
            return False
        return marker in " ".join(_cmdline(proc))
    except psutil.Error:
        return False


def _cmdline(proc: psutil.Process, patience: float = 1.0) -> list[str]:
    """The command line, waiting out the moment during exec when the kernel reports none."""
    deadline = time.monotonic() + patience
    while not (cmdline := proc.cmdline()) and time.monotonic() < deadline:
        time.sleep(0.01)
    return cmdline


def _reap(pid: int) -> None:
    child = _children.pop(pid, None)
    if child is not None:
        child.poll()
        return
    with contextlib.suppress(ChildProcessError, OSError):
        os.waitpid(pid, os.WNOHANG)


def stop(
    pid: int | None,
    started: float | None,
    marker: str,
    *,
    sig: int = signal.SIGTERM,
    timeout: float = 30,
    insist: Callable[[], object] | None = None,
) -> bool:
    """Stop process ``pid`` if it is ours: ``sig``, then SIGKILL after ``timeout`` seconds
    (first ``insist()``, given 5 more seconds, if given: a server's own way to stop at once).

    Returns False if there was nothing of ours to stop (already gone, or the pid now belongs
    to someone else, which is left alone).
    """
    if not is_ours(pid, started, marker):
        return False
    assert pid is not None
    try:
        proc = psutil.Process(pid)
        proc.send_signal(sig)
        if not _wait_gone(proc, timeout) and not (insist and _insist(insist, proc)):
            proc.kill()
            _wait_gone(proc, 5)
    except psutil.NoSuchProcess:
        pass
    _reap(pid)
    return True


def _insist(insist: Callable[[], object], proc: psutil.Process) -> bool:
    with contextlib.suppress(OSError):
        insist()
    return _wait_gone(proc, 5)


def _wait_gone(proc: psutil.Process, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if proc.status() == psutil.STATUS_ZOMBIE:
                _reap(proc.pid)
                return True
        except psutil.NoSuchProcess:
            return True
        time.sleep(0.02)
    return False


def port_free(port: int, host: str = "127.0.0.1") -> bool:
    """Whether nothing listens on ``host:port`` (so a server of ours can bind it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def free_port(host: str = "127.0.0.1") -> int:
    """A port nothing listens on now, chosen by the kernel."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def listening(port: int) -> Any:
    """The TCP socket listening on ``port`` (a psutil connection; its ``pid`` is None when
    another user's process holds it and we are not root), or None."""
    try:
        conns = psutil.net_connections(kind="tcp")
    except psutil.Error:
        return None
    for conn in conns:
        if conn.status == psutil.CONN_LISTEN and conn.laddr and conn.laddr.port == port:
            return conn
    return None


def port_owner(port: int) -> str | None:
    """Who listens on ``port`` ("pid 123 postgres (user nobody)"), if the system tells us."""
    conn = listening(port)
    if conn is None:
        return None
    if conn.pid is None:
        return "another user's process (run as root to see which)"
    try:
        proc = psutil.Process(conn.pid)
        return f"pid {conn.pid} {proc.name()} (user {proc.username()})"
    except psutil.Error:
        return f"pid {conn.pid}"


def server_in(directory: Path, names: Sequence[str]) -> psutil.Process | None:
    """The kit's server working in ``directory``, found without any pid file: a live process
    whose working directory it is, whose program is one of ``names``, run by the server user
    (:func:`run_as`, else us), and whose parent is not such a process (a PostgreSQL backend's
    parent is its postmaster). None if there is none."""
    user = run_as()
    uid = user.uid if user else os.geteuid()
    found = [
        proc for proc in processes_in(directory) if _program(proc) in names and _uid(proc) == uid
    ]
    pids = {proc.pid for proc in found}
    mains = [proc for proc in found if proc.ppid() not in pids]
    return mains[0] if mains else None


def _program(proc: psutil.Process) -> str:
    try:
        cmdline = _cmdline(proc, patience=0.2)
        first = Path(cmdline[0]).name if cmdline else proc.name()
        return first.split()[0] if first else ""  # Valkey renames itself "valkey-server addr"
    except psutil.Error:
        return ""


def _uid(proc: psutil.Process) -> int | None:
    try:
        return proc.uids().real
    except psutil.Error:
        return None


def listening_port(pid: int) -> int | None:
    """The TCP port process ``pid`` listens on (its first), or None."""
    try:
        conns = psutil.Process(pid).net_connections(kind="tcp")
    except psutil.Error:
        return None
    ports = sorted(c.laddr.port for c in conns if c.status == psutil.CONN_LISTEN and c.laddr)
    return ports[0] if ports else None


def processes_in(directory: Path) -> list[psutil.Process]:
    """Live processes whose working directory is ``directory`` (a server's leftovers)."""
    target = str(directory)
    found = []
    for proc in psutil.process_iter(["cwd", "status"]):
        if proc.info.get("cwd") == target and proc.info.get("status") != psutil.STATUS_ZOMBIE:
            found.append(proc)
    return found


def mirror_tree(source: Path, target: Path, parts: Sequence[str] = (".",)) -> Path:
    """Copy ``parts`` of ``source`` (relative paths) to the same places under ``target``
    (hard links where possible), unless ``target`` is already there.

    Used when the unprivileged server user cannot reach binaries inside a private directory
    (a virtual environment under /root, say); relative paths between the parts still hold.
    """
    if target.exists():
        return target
    staging = target.with_name(target.name + ".partial")
    shutil.rmtree(staging, ignore_errors=True)

    def link_or_copy(src: str, dst: str) -> None:
        try:
            os.link(src, dst)
        except OSError:
            shutil.copy2(src, dst)

    staging.mkdir(mode=0o755, parents=True)
    for part in parts:
        destination = staging / part
        destination.parent.mkdir(mode=0o755, parents=True, exist_ok=True)
        shutil.copytree(
            source / part,
            destination,
            symlinks=True,
            copy_function=link_or_copy,
            dirs_exist_ok=True,
        )
    staging.rename(target)
    return target


def tail(path: Path | str | None, lines: int = 20) -> str:
    """The last ``lines`` lines of a log file (empty if there is none)."""
    if not path or not Path(path).exists():
        return ""
    with open(path, "rb") as fh:
        fh.seek(0, os.SEEK_END)
        size = fh.tell()
        fh.seek(max(0, size - 64 * 1024))
        text = fh.read().decode(errors="replace")
    return "\n".join(text.splitlines()[-lines:])
