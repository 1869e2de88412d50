"""Start the answer's process, hold it to its deadline, read what it reports, leave nothing.

As root, each check gets a sandbox user of its own (a numeric uid from a small pool, locked
for the duration), so everything that user still runs afterwards, a daemonized grandchild
included, is the answer's and is killed.

At most :data:`RUNNING` answers' processes run at once (on the machine as root, per state
directory otherwise): the others wait for a turn before their clock starts, so thirty learners
checking at the same moment on two cores queue for a few seconds instead of being stopped at
their time limit while they waited for the CPU.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psutil

from dbdojo import settings, slots
from dbdojo.checking.runners import SandboxError
from dbdojo.paths import state_dir

UID_BASE = settings.sandbox_uid_base()
SLOTS = 64
RUNNING = 2 * (os.cpu_count() or 1)  # answers' processes running at once
TURN_WAIT = 120.0  # seconds an answer waits for its turn; then it runs anyway
STARTUP_SECONDS = 8.0  # the interpreter, its imports and the clean-up, on a loaded machine
MAX_REPLY = 64 * 1024 * 1024


def timed_out(seconds: float) -> dict[str, Any]:
    """The reply for an answer stopped at its time limit."""
    return {"error": f"stopped after {seconds:g} s: the answer runs too long", "timeout": True}


@dataclass
class Box:
    path: Path
    uid: int | None


@contextlib.contextmanager
def box() -> Iterator[Box]:
    """A scratch directory (and, as root, a sandbox uid) for one answer's process."""
    with _uid_slot() as uid:
        path = Path(tempfile.mkdtemp(prefix="dojo-answer-"))
        if uid is not None:
            os.chown(path, uid, uid)
        try:
            yield Box(path, uid)
        finally:
            _kill_leftovers(uid)
            shutil.rmtree(path, ignore_errors=True)


@contextlib.contextmanager
def _uid_slot() -> Iterator[int | None]:
    if os.geteuid() != 0:
        yield None
        return
    with slots.first_free(_lock_dir(), "sandbox", range(SLOTS)) as slot:
        if slot is None:
            raise SandboxError(f"all {SLOTS} answer sandboxes are busy; try again in a moment")
        _kill_leftovers(UID_BASE + slot)
        yield UID_BASE + slot


def _lock_dir() -> Path:
    """Where the uid slots and turns are locked: as root one place per machine (every checkout
    and test worker draws from the same uids), writable by root alone; as anyone else the
    checkout's state directory (root's place is closed to them, and they switch no uids)."""
    if os.geteuid() != 0:
        return state_dir()
    path = Path("/run/dbdojo-sandbox")
    try:
        path.mkdir(mode=0o700, exist_ok=True)
    except OSError:
        return state_dir()
    return path


def _kill_leftovers(uid: int | None) -> None:
    """Kill every process of the sandbox user, a fork bomb included: ``kill -9 -1`` run as
    that user signals all of its processes at once (itself too)."""
    if uid is None:
        return
    kill = shutil.which("kill")
    for _ in range(5):
        alive = [p for p in psutil.process_iter(["uids"]) if _runs_as(p, uid)]
        if not alive:
            return
        if kill:
            user = {"user": uid, "group": uid, "extra_groups": []}
            subprocess.run([kill, "-9", "-1"], check=False, capture_output=True, **user)
        for proc in alive:
            with contextlib.suppress(psutil.Error):
                proc.kill()


def _runs_as(proc: psutil.Process, uid: int) -> bool:
    uids = proc.info.get("uids")
    return bool(uids) and uid in uids


def run(b: Box, request: dict[str, Any], seconds: float, env: dict[str, str]) -> dict[str, Any]:
    """Run the child on ``request``; its reply (``{"error": ...}`` when the answer failed)."""
    config = {"scratch": str(b.path), "uid": b.uid, "cpu": int(seconds) + 5}
    child_env = {
        "PATH": os.defpath,
        "HOME": str(b.path),
        "TMPDIR": str(b.path),
        "LANG": "C.UTF-8",
        "DOJO_HOME": str(b.path),
        "DOJO_STATE_DIR": str(b.path / "state"),
        "PYTHONDONTWRITEBYTECODE": "1",
        # the kit's own interpreter may find libpython only through it (a relocated Python)
        **{k: v for k, v in os.environ.items() if k == "LD_LIBRARY_PATH"},
        **env,
    }
    command = [sys.executable, "-I", "-m", "dbdojo.checking.sandbox.child", json.dumps(config)]
    with turn():
        return _run(b, command, child_env, request, seconds)


_held = threading.local()


@contextlib.contextmanager
def turn() -> Iterator[None]:
    """A turn to run an answer's process (waiting up to :data:`TURN_WAIT` for one). Taken
    around what must come just before the answer, an exercise's setup whose TTLs would
    otherwise age while the answer waits; :func:`run` inside it takes no second one."""
    if getattr(_held, "turn", False):
        yield
        return
    with slots.wait_free(_lock_dir(), "running", range(RUNNING), TURN_WAIT):
        _held.turn = True
        try:
            yield
        finally:
            _held.turn = False


def _run(
    b: Box, command: list[str], child_env: dict[str, str], request: dict[str, Any], seconds: float
) -> dict[str, Any]:
    with open(b.path / "stderr", "wb") as stderr:
        proc = subprocess.Popen(
            command,
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            stderr=stderr,
            cwd=b.path,
            env=child_env,
            start_new_session=True,
        )
    try:
        with contextlib.suppress(BrokenPipeError):
            assert proc.stdin is not None
            proc.stdin.write(json.dumps(request).encode())
            proc.stdin.close()
        proc.wait(timeout=seconds + STARTUP_SECONDS)
    except subprocess.TimeoutExpired:
        _kill_group(proc)
        return timed_out(seconds)
    finally:
        _kill_group(proc)
    return _reply(b, proc.returncode)


def _kill_group(proc: subprocess.Popen) -> None:
    """Kill the child's process group and its worker's (a group of its own: child.py)."""
    with contextlib.suppress(psutil.Error):
        for worker in psutil.Process(proc.pid).children():
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(worker.pid, signal.SIGKILL)
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()


def _reply(b: Box, returncode: int) -> dict[str, Any]:
    path = b.path / "result.json"
    try:
        with open(path, "rb") as fh:
            data = fh.read(MAX_REPLY + 1)
    except OSError:
        data = b""
    if data and len(data) <= MAX_REPLY:
        try:
            reply = json.loads(data)
        except ValueError:
            reply = None
        if isinstance(reply, dict):
            return reply
    if returncode in (-signal.SIGXCPU, -signal.SIGKILL):
        return {"error": "the answer used more than its CPU time and was stopped", "timeout": True}
    if returncode == 0 or not data:
        detail = _stderr_tail(b)
        return {
            "error": "the answer's process ended before it gave a result"
            + (f" (exit status {returncode})" if returncode else "")
            + (f": {detail}" if detail else ""),
            "hint": "do not call sys.exit() or os._exit() in an answer",
        }
    raise SandboxError(f"the answer's process wrote an unreadable result ({len(data)} bytes)")


def _stderr_tail(b: Box) -> str:
    try:
        text = (b.path / "stderr").read_bytes()[-600:].decode(errors="replace").strip()
    except OSError:
        return ""
    lines = [line for line in text.splitlines() if line.strip()]
    return lines[-1][:300] if lines else ""
