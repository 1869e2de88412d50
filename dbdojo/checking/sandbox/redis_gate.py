"""The Redis gate: a Valkey user that may use one logical database and no server-wide
command, created afresh (new password) for each check, and connections already logged in as
it, which the answer receives through the relay without ever knowing the password.

Valkey 9 enforces per-database ACLs (``resetdbs db=N``): ``SELECT``, ``MOVE``, ``SWAPDB``,
``COPY ... DB`` and scripts that switch database are refused for any other database.
"""

from __future__ import annotations

import contextlib
import random
import secrets
import socket
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import urlsplit

# Commands that act on the whole server or on other clients, or reveal their commands.
DENIED = [
    "flushall",
    "config|set",
    "config|rewrite",
    "config|resetstat",
    "shutdown",
    "debug",
    "monitor",
    "acl",
    "script|kill",
    "function|kill",
    "function|flush",
    "function|delete",
    "function|restore",
    "client|kill",
    "client|pause",
    "client|unpause",
    "client|list",
    "client|no-evict",
    "client|no-touch",
    "save",
    "bgsave",
    "bgrewriteaof",
    "replicaof",
    "slaveof",
    "failover",
    "sync",
    "psync",
    "migrate",
    "module",
    "cluster",
    "latency",
    "slowlog",
    "memory|purge",
    "swapdb",
    "lastsave",
    "commandlog",
]


def user_name(db: int) -> str:
    return f"dojo_answer_{db}"


def open_user(admin: Any, db: int) -> str:
    """(Re)create the answer user of logical database ``db``; returns its new password."""
    password = secrets.token_urlsafe(24)
    rules = ["reset", "on", f">{password}", "~*", "&*", "+@all", "resetdbs", f"db={db}"]
    admin.execute_command("ACL", "SETUSER", user_name(db), *rules, *(f"-{c}" for c in DENIED))
    return password


def close_user(admin: Any, db: int) -> None:
    """Disable the user and end its connections (a blocked command, a subscriber)."""
    admin.execute_command("ACL", "SETUSER", user_name(db), "off", "resetpass")
    admin.execute_command("CLIENT", "KILL", "USER", user_name(db))


def stop_scripts(admin: Any) -> None:
    """End a script or function the answer left running (it would block every client)."""
    import redis

    for command in (("SCRIPT", "KILL"), ("FUNCTION", "KILL")):
        # none running, or one that already wrote (that one runs to its end)
        with contextlib.suppress(redis.ResponseError):
            admin.execute_command(*command)


class ScriptWatch:
    """While an answer runs: a script of its that keeps the server busy past the server's
    ``busy-reply-threshold`` is killed at once, not at the answer's deadline, so other learners
    wait about a second, not the whole time limit."""

    def __init__(self, admin: Any, interval: float = 0.25) -> None:
        self.admin, self.interval = admin, interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)

    def __enter__(self) -> ScriptWatch:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def _watch(self) -> None:
        import redis

        while not self._stop.wait(self.interval):
            try:
                self.admin.ping()
            except redis.exceptions.BusyLoadingError:
                continue
            except redis.ResponseError as exc:
                if str(exc).startswith("BUSY"):
                    stop_scripts(self.admin)
            except redis.RedisError:
                continue


def connector(server_url: str, db: int, password: str):
    """A function opening a TCP connection to the server, logged in as the answer user of
    ``db`` with ``db`` selected."""
    parts = urlsplit(server_url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 6379
    login = _command("AUTH", user_name(db), password) + _command("SELECT", str(db))

    def connect() -> socket.socket:
        sock = socket.create_connection((host, port), timeout=5)
        sock.sendall(login)
        replies = b""
        while replies.count(b"\r\n") < 2:
            chunk = sock.recv(256)
            if not chunk:
                raise OSError("the Redis server closed the connection")
            replies += chunk
        if replies != b"+OK\r\n+OK\r\n":
            sock.close()
            raise OSError(f"Redis refused the answer user: {replies[:200]!r}")
        sock.settimeout(None)
        return sock

    return connect


HOLD_SECONDS = 0.004  # the longest a command is held by :func:`jittered`


def jittered(
    framer: Callable[[socket.socket], Iterator[bytes]], longest: float = HOLD_SECONDS
) -> Callable[[socket.socket], Iterator[bytes]]:
    """``framer``'s requests, each held a random 0 to ``longest`` seconds before it goes on,
    as a slow network would: what several clients send at about the same moment reaches the
    server interleaved, so one client's read and its later write meet another's write in
    between."""

    def frames(sock: socket.socket) -> Iterator[bytes]:
        for request in framer(sock):
            time.sleep(random.uniform(0, longest))
            yield request

    return frames


MAX_LOGGED = 10_000  # commands kept per check
MAX_ARG_SHOWN = 64  # characters of each argument kept in the log


class CommandLog:
    """What the answer sent, one line per command (``XADD key MAXLEN ~ 100 * n 1``): the record
    of *how* an answer worked, which its end state cannot show."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.last = time.monotonic()  # when the answer's last command passed

    def idle(self) -> float:
        """Seconds since the answer's last command (what a TTL has lost since it was set)."""
        return time.monotonic() - self.last

    def commands(self, sock: socket.socket) -> Iterator[bytes]:
        """The client's commands (RESP arrays, or inline), each logged as it passes."""
        reader = sock.makefile("rb")
        while line := reader.readline(65536):
            if not line.startswith(b"*"):
                self._log(line.split())
                yield line
                continue
            raw, args = [line], []
            for _ in range(int(line[1:])):
                header = reader.readline(65536)
                if not header.startswith(b"$"):
                    raise ValueError("malformed RESP from the answer")
                data = reader.read(int(header[1:]) + 2)
                raw += [header, data]
                args.append(data[:-2])
            self._log(args)
            yield b"".join(raw)

    def _log(self, args: list[bytes]) -> None:
        self.last = time.monotonic()
        if args and len(self.lines) < MAX_LOGGED:
            text = [a[:MAX_ARG_SHOWN].decode(errors="replace") for a in args]
            self.lines.append(" ".join([text[0].upper(), *text[1:]]))


def _command(*args: str) -> bytes:
    out = [f"*{len(args)}\r\n".encode()]
    for arg in args:
        data = arg.encode()
        out.append(b"$%d\r\n%s\r\n" % (len(data), data))
    return b"".join(out)
