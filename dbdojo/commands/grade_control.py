"""Start, find and stop the check server of a state directory
(:mod:`dbdojo.commands.grade_server`): ``dojo up`` starts it, ``dojo down`` stops it, the
tests and benchmarks ask it how many grades it served."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

from dbdojo.commands import grade_client

MARKER = "dbdojo.commands.grade_server"  # its module, run with -m: found by its command line
LOCK_FILE = "check-server.lock"  # held by the running server: one per state directory
LOG_FILE = "check-server.log"


def _root(state_dir: Path | None) -> Path:
    from dbdojo.paths import state_dir as default

    return state_dir or default()


def _socket(state_dir: Path | None) -> str:
    return grade_client.socket_path(str(_root(state_dir)))


def running(state_dir: Path | None = None) -> int | None:
    """The pid of the state directory's check server, if one runs (found by its command line:
    also while it starts, before it listens)."""
    import psutil

    wanted = [MARKER, str(_root(state_dir))]
    for proc in psutil.process_iter(["cmdline", "status"]):
        found = (proc.info["cmdline"] or [])[-2:] == wanted and proc.pid != os.getpid()
        if found and proc.info["status"] != psutil.STATUS_ZOMBIE:
            return proc.pid
    return None


def start(state_dir: Path | None = None, wait: float = 0.0) -> int | None:
    """Start the check server unless one runs (or ``DOJO_CHECK_SERVER=0``, or the state
    directory's path is too long for a socket); its pid. ``wait``: seconds to wait until it
    answers."""
    from dbdojo import procs

    root = _root(state_dir)
    if not grade_client.enabled() or len(_socket(root)) > grade_client.MAX_SOCKET_PATH:
        return None
    pid = running(state_dir)
    if pid is None:
        pid = procs.spawn([sys.executable, "-m", MARKER, str(root)], root / LOG_FILE, None)
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline and not ping(state_dir):
        time.sleep(0.05)
    return pid


def ping(state_dir: Path | None = None) -> dict | None:
    """The server's pid and how many requests it served, or None if it does not answer."""
    return grade_client.call(_socket(state_dir), {"ping": True}, timeout=5.0)


def stop(state_dir: Path | None = None) -> bool:
    """Stop the check server; whether one was running."""
    from dbdojo import procs

    pid = running(state_dir)
    started = procs.started_at(pid) if pid else None
    return procs.stop(pid, started, MARKER, timeout=10)
