"""The check server: one long-lived process per checkout, started by ``dojo up`` and stopped by
``dojo down``, that keeps the checker's imports and connections warm so ``dojo grade`` takes
about 0.1 s, not the ~0.4 s of a fresh process (imports, then eight logins).

It listens on ``check.sock`` in the state directory (mode 0600, and only processes of its own
user are served: ``SO_PEERCRED``) and runs one ``dojo grade`` at a time: the same click command,
in the client's environment and working directory, its output captured and sent back with the
exit status (:mod:`dbdojo.commands.grade_client` prints them). It refuses a client of another
Python environment or ``PYTHONPATH`` (the client then grades in its own process); when the kit's
code changes on disk it starts itself again; it exits when its socket or state directory is
removed. PostgreSQL connections idle for :data:`IDLE_CLOSE` seconds are closed.

    python -m dbdojo.commands.grade_server STATE_DIR

:mod:`dbdojo.commands.grade_control` starts, finds and stops it.
"""

from __future__ import annotations

import contextlib
import fcntl
import io
import json
import os
import signal
import socket
import struct
import sys
import time
import traceback
from pathlib import Path
from typing import Any

from dbdojo.commands import grade_client
from dbdojo.commands.grade_control import LOCK_FILE, MARKER

POLL = 1.0  # seconds between looks at the socket, the code and idle connections
IDLE_CLOSE = 60.0
MAX_REQUEST = 4 * 1024 * 1024
READ_TIMEOUT = 10.0
WARM = (
    "dbdojo.cli",
    "dbdojo.checking.commands",
    "dbdojo.checking.engine",
    "dbdojo.checking.connections",
    "dbdojo.checking.runners.sql",
    "dbdojo.checking.runners.redis",
    "dbdojo.checking.runners.mongo",
    "dbdojo.pgroles",
    "psycopg",
)


class _Stop(BaseException):
    """SIGTERM: leave whatever runs, remove the socket, exit."""


def code_stamp() -> tuple[int, int]:
    """The kit's Python files, as seen now: their number and newest change."""
    from dbdojo.paths import PACKAGE_DIR

    count = newest = 0
    for base, dirs, files in os.walk(PACKAGE_DIR):
        dirs[:] = [d for d in dirs if d != "__pycache__"]
        for name in files:
            if name.endswith(".py"):
                with contextlib.suppress(OSError):
                    newest = max(newest, os.stat(os.path.join(base, name)).st_mtime_ns)
                    count += 1
    return count, newest


class Server:
    """The serving loop of one state directory."""

    def __init__(self, state_dir: Path) -> None:
        self.path = grade_client.socket_path(str(state_dir))
        self.stamp = code_stamp()
        self.identity = grade_client.identity()
        self.served = 0
        self.last = time.monotonic()
        self.inode: int | None = None

    def listen(self) -> socket.socket:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.path)  # a crashed server's: the lock says no other runs
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        old = os.umask(0o177)
        try:
            sock.bind(self.path)
        finally:
            os.umask(old)
        self.inode = os.stat(self.path).st_ino
        sock.listen(16)
        sock.settimeout(POLL)
        return sock

    def gone(self) -> bool:
        """Whether our socket was removed or replaced (the state directory deleted, say)."""
        try:
            return os.stat(self.path).st_ino != self.inode
        except OSError:
            return True

    def serve(self) -> str:
        """Serve until stopped; returns why: ``"gone"``, ``"stale"`` (code changed) or
        ``"stopped"``."""
        sock = self.listen()
        looked = time.monotonic()
        try:
            while True:
                if time.monotonic() - looked >= POLL:  # also while requests keep coming
                    looked = time.monotonic()
                    if why := self.look():
                        return why
                try:
                    conn, _ = sock.accept()
                except TimeoutError:
                    continue
                with conn:
                    if self.handle(conn) == "stale":
                        return "stale"
        except _Stop:
            return "stopped"
        finally:
            sock.close()
            if not self.gone():
                with contextlib.suppress(OSError):
                    os.unlink(self.path)

    def look(self) -> str:
        """Why to stop now (``"gone"``, ``"stale"``), if at all; idle connections closed."""
        if self.gone():
            return "gone"
        if code_stamp() != self.stamp:
            return "stale"
        if time.monotonic() - self.last > IDLE_CLOSE:
            from dbdojo.checking import connections

            connections.close_pg()
        return ""

    def handle(self, conn: socket.socket) -> str:
        conn.settimeout(READ_TIMEOUT)
        try:
            uid = struct.unpack("3i", conn.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, 12))[1]
            if uid != os.geteuid():
                return _log(f"refused a process of uid {uid}")
            message = _read(conn)
            reply, outcome = self.answer(message)
            conn.settimeout(READ_TIMEOUT)
            conn.sendall(json.dumps(reply).encode())
        except (OSError, ValueError) as exc:  # the client went away, or sent nonsense
            return _log(f"request dropped: {exc}")
        finally:
            self.last = time.monotonic()
        return outcome

    def answer(self, message: Any) -> tuple[dict, str]:
        """The reply to one request, and ``"stale"`` if the server must start again."""
        if not isinstance(message, dict):
            return {"refused": "not a request"}, ""
        if message.get("ping"):
            return {"pid": os.getpid(), "served": self.served, "stamp": list(self.stamp)}, ""
        if code_stamp() != self.stamp:
            return {"refused": "the kit's code changed: the server starts again"}, "stale"
        if message.get("protocol") != grade_client.PROTOCOL:
            return {"refused": "another protocol"}, ""
        if {k: message.get(k) for k in self.identity} != self.identity:
            return {"refused": "another Python environment or PYTHONPATH"}, ""
        argv, env, cwd = message.get("argv"), message.get("env"), message.get("cwd")
        if not (isinstance(argv, list) and argv[:1] == ["grade"] and isinstance(env, dict)):
            return {"refused": "only `dojo grade` is served"}, ""
        if not all(isinstance(x, str) for x in [*argv, *env, *env.values(), cwd]):
            return {"refused": "malformed request"}, ""
        reply = run_command(argv, env, cwd)
        self.served += "exit" in reply
        return reply, ""


def run_command(argv: list[str], env: dict[str, str], cwd: str) -> dict:
    """Run ``dojo <argv>`` here as the client's own process would: its environment, working
    directory and output streams, then put this process's back."""
    from dbdojo import paths
    from dbdojo.cli import main

    out, err = io.StringIO(), io.StringIO()
    saved_env, saved_cwd = dict(os.environ), os.getcwd()
    code: int = 0
    try:
        os.chdir(cwd)
        os.environ.clear()
        os.environ.update(env)
        paths.project_root.cache_clear()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                main(argv, prog_name="dojo")
            except SystemExit as done:
                if isinstance(done.code, str):
                    print(done.code, file=sys.stderr)
                code = 1 if isinstance(done.code, str) else done.code or 0
            except Exception:  # a bug: its traceback, as the command would print it
                traceback.print_exc()
                code = 1
    except (OSError, ValueError) as exc:  # a working directory gone, a variable with a NUL
        return {"refused": f"cannot take the client's place: {exc}"}
    finally:
        os.environ.clear()
        os.environ.update(saved_env)
        os.chdir(saved_cwd)
        paths.project_root.cache_clear()
    return {"exit": code, "stdout": out.getvalue(), "stderr": err.getvalue()}


def _read(conn: socket.socket) -> Any:
    chunks, size = [], 0
    while chunk := conn.recv(1 << 16):
        chunks.append(chunk)
        size += len(chunk)
        if size > MAX_REQUEST:
            raise ValueError("request too large")
    return json.loads(b"".join(chunks))


def _log(line: str) -> str:
    print(f"{time.strftime('%Y-%m-%d %H:%M:%S')} {line}", flush=True)
    return ""


def _hold_lock(lock: Path):
    """The lock file, locked for this process's life; None if another server holds it."""
    fh = open(lock, "a")  # noqa: SIM115 - held open (and locked) until the process ends
    try:
        fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        fh.close()
        return None
    return fh


def main(state_dir: Path) -> None:
    held = _hold_lock(state_dir / LOCK_FILE)
    if held is None:
        _log("another check server runs here: not starting")
        return
    for module in WARM:
        __import__(module)

    def on_term(signum: int, frame: Any) -> None:
        raise _Stop

    signal.signal(signal.SIGTERM, on_term)
    server = Server(state_dir)
    _log(f"serving on {server.path} (pid {os.getpid()})")
    why = server.serve()
    _log(f"stopping: {why}")
    if why == "stale":  # the same pid, the new code: `dojo down` still finds it
        held.close()
        os.execv(sys.executable, [sys.executable, "-m", MARKER, str(state_dir)])


if __name__ == "__main__":
    main(Path(sys.argv[1]))
