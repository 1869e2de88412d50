"""``%load_ext dbdojo``: everything a notebook needs, connected to the current workspace.

Injects ``pg`` (psycopg, autocommit), ``db`` (pymongo Database), ``r`` (redis-py, str
responses) and ``dojo`` (the package), points ``%sql`` at the workspace's PostgreSQL, registers
``%%expect_error``, ``%explain`` and the labs' ``%%check``, and prints a one-line banner. A
database that is down is named with the command that starts it; the others still connect.
Under the tests (``DOJO_STRICT=1``) any database that does not connect is an error. Before each
cell, a PostgreSQL connection the server closed (``dojo reset`` in a terminal) is replaced
(:mod:`.heal`).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable
from typing import Any

from dbdojo import pgroles
from dbdojo.connect import NotSeeded, ServiceDown, mongo_db, redis_client
from dbdojo.notebook import banner, explain, heal, sqlmagic
from dbdojo.settings import BadURL
from dbdojo.workspace import Workspace, current

STRICT_ENV = "DOJO_STRICT"


def strict() -> bool:
    """True under the tests: errors must raise, not only print."""
    return os.environ.get(STRICT_ENV, "") not in ("", "0", "false", "no")


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
    from dbdojo.services.busy import notebook_mongo_limit

    database = mongo_db(ws, timeoutMS=int(notebook_mongo_limit() * 1000))
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


def load_ipython_extension(ip: Any) -> None:
    global _session
    import dbdojo
    from dbdojo.notebook.errors import expect_error_magic, install_learner_handler

    if _session is not None:
        _session.close()
    if not strict():
        install_learner_handler(ip)
    ip.register_magic_function(
        lambda line, cell: expect_error_magic(ip, line, cell),
        magic_kind="cell",
        magic_name="expect_error",
    )
    _register_check(ip)
    explain.register(ip)
    ip.push({"dojo": dbdojo})
    _session = NotebookSession(ip)
    _session.connect(current())
    heal.install(ip, _session)


def unload_ipython_extension(ip: Any) -> None:
    global _session
    if _session is not None:
        _session.close()
        _session = None


def _register_check(ip: Any) -> None:
    """The labs' ``%%check`` magic, from the checker when it is installed."""
    try:
        from dbdojo.checking.magics import register
    except ImportError:
        return
    register(ip)
