"""The kernel's clients (``pg``, ``db``, ``r``), bound to one workspace: one session per kernel.

A database that is down is named with the command that starts it; the others still connect.
Under the tests (``DOJO_STRICT=1``) any database that does not connect is an error.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import Any

from dbdojo import pgroles, settings
from dbdojo.connect import NotSeeded, ServiceDown, mongo_db, redis_client
from dbdojo.notebook import banner, sqlmagic
from dbdojo.settings import BadURL, strict
from dbdojo.workspace import Workspace, current


class NotebookSession:
    """The clients of one kernel, bound to one workspace."""

    def __init__(self, ip: Any) -> None:
        self.ip = ip
        self.workspace: Workspace | None = None
        self.clients: dict[str, Any] = {}

    def connect(self, ws: Workspace) -> list[str]:
        """Connect all three databases to ``ws``; return the problems (empty if none)."""
        self.close()
        self.workspace = ws
        parts, problems = [], []
        for name, opener in _OPENERS.items():
            try:
                client, part = opener(self.ip, ws)
            except (ServiceDown, NotSeeded, BadURL) as exc:
                problems.append(str(exc))
                continue
            self.clients[name] = client
            parts.append(part)
        self.ip.push(self.clients)
        if parts:
            print(banner.line(parts))
        for problem in problems:
            print(f"⚠ {problem}")
        if problems and strict():
            raise RuntimeError("dbdojo could not connect: " + " | ".join(problems))
        return problems

    def close(self) -> None:
        """Close every client (a reset drops the databases they point at)."""
        sqlmagic.disconnect(self.ip)
        for name, client in self.clients.items():
            closer = client.client.close if name == "db" else client.close
            with contextlib.suppress(Exception):  # a dead connection is what we are closing
                closer()
            self.ip.user_ns.pop(name, None)
        self.clients = {}


def _open_postgres(ip: Any, ws: Workspace) -> tuple[Any, str]:
    """``pg`` logs in as the learner's role, never as the kit's superuser (dbdojo.pgroles)."""
    conn = pgroles.connect(ws, pgroles.LEARNER)
    sqlmagic.install_lazy(ip, ws, strict=strict())
    return conn, banner.postgres(conn)


def _open_mongo(ip: Any, ws: Workspace) -> tuple[Any, str]:
    """``db`` with a time limit on every operation (``timeoutMS``, sent as ``maxTimeMS``): an
    interrupted or runaway query stops on the server instead of keeping the single-threaded
    emulator busy for minutes."""

    database = mongo_db(ws, timeoutMS=int(settings.mongo_time_limit() * 1000))
    return database, banner.mongo(database)


def _open_redis(ip: Any, ws: Workspace) -> tuple[Any, str]:
    client = redis_client(ws)
    return client, banner.redis(client)


_OPENERS: dict[str, Callable[[Any, Workspace], tuple[Any, str]]] = {
    "pg": _open_postgres,
    "db": _open_mongo,
    "r": _open_redis,
}

_session: NotebookSession | None = None


def session() -> NotebookSession | None:
    """The kernel's session, if ``%load_ext dbdojo`` ran."""
    return _session


def start(ip: Any) -> NotebookSession:
    """A new session for the kernel ``ip`` (the previous one closed), connected to the current
    workspace."""
    global _session
    end()
    _session = NotebookSession(ip)
    _session.connect(current())
    return _session


def end() -> None:
    """Close the kernel's session, if any."""
    global _session
    if _session is not None:
        _session.close()
        _session = None
