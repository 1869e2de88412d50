"""Connections the checker reuses across checks: one per database URL, per process.

A check runs the answer and the reference on up to eight workspaces; opening a new connection
for each run cost more than the queries. Connections are checked before reuse (a reset
terminates the sessions of the workspace it replaces) and dropped after any failure that is
not the answer's own error.

A learner's kernel checks inside :func:`bounded`: it holds at most two PostgreSQL connections
during a check (the least recently used is closed first, so the edge-case workspaces open and
close theirs in turn) and none once the check is over: a class of learners sharing one server
costs only their own notebook connections while idle (see :mod:`dbdojo.budget`).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from dbdojo.connect import mongo_client, pg_connect, postgres_url, server_url
from dbdojo.workspace import Workspace

if TYPE_CHECKING:
    import psycopg
    import pymongo

_pg: dict[str, psycopg.Connection] = {}
_mongo: dict[str, pymongo.MongoClient] = {}
_pid = os.getpid()
_limit: int | None = None  # most PostgreSQL connections held at once (None: no bound)


def _forget_after_fork() -> None:
    """A forked child must not share its parent's sockets."""
    global _pid
    if os.getpid() != _pid:
        _pg.clear()
        _mongo.clear()
        _pid = os.getpid()


def pg(ws: Workspace) -> psycopg.Connection:
    """A live autocommit connection to the workspace's PostgreSQL database, as the kit's own
    (administrative) user: for references, probes and catalog reads, never for answers."""
    return _live(postgres_url(ws), lambda: pg_connect(ws, autocommit=True))


def answer_pg(ws: Workspace) -> psycopg.Connection:
    """A live autocommit connection to the workspace's database as the answer role (see
    :mod:`dbdojo.pgroles`). The database is made fit for it when connecting: a live connection
    means the database was not replaced since (a reset ends its sessions).

    The roles are made or refreshed once per process and server (an admin connection to the
    first workspace); whether a database needs work is read on the answer connection itself,
    so an admin connection to it is opened only when it does (a new or re-seeded database):
    a check on eight workspaces opens nine connections, not sixteen."""
    from dbdojo import pgroles

    url = pgroles.url(ws, pgroles.ANSWER)

    def connect() -> psycopg.Connection:
        conn = _answer_login(ws, url)
        try:
            if not pgroles.fit(conn):
                pgroles.prepare(pg(ws))
        except BaseException:
            conn.close()
            raise
        return conn

    return _live(url, connect)


def _answer_login(ws: Workspace, url: str) -> psycopg.Connection:
    """A new connection as the answer role, the roles made first (once per process) unless the
    login and what it may read show them as :func:`pgroles.prepare_server` leaves them."""
    from dbdojo import pgroles

    if not pgroles.answer_role_ready(ws):
        conn = None
        with contextlib.suppress(Exception):  # no such role yet, another password: made below
            conn = pg_connect(ws, autocommit=True, conninfo=url)
        try:
            if conn is not None and pgroles.answer_role_intact(conn, ws):
                return conn
        except Exception:
            pass
        if conn is not None:
            conn.close()
        pgroles.prepare_server(pg(ws))
    return pg_connect(ws, autocommit=True, conninfo=url)


def open_answer_pg(workspaces: list[Workspace]) -> None:
    """Open the answer connections :func:`answer_pg` will return for ``workspaces`` at once, in
    threads (connecting is mostly waiting for the server): only those already fit for the
    answer role are kept; anything else (a database to prepare, a refusal) is left to
    :func:`answer_pg`, which says why. Nothing is opened inside :func:`bounded`."""
    from dbdojo import pgroles
    from dbdojo.checking import threads

    _forget_after_fork()
    if is_bounded():
        return
    missing = {pgroles.url(ws, pgroles.ANSWER): ws for ws in workspaces}
    missing = {url: ws for url, ws in missing.items() if url not in _pg}
    if len(missing) < 2:
        return
    first, *_ = missing.items()
    if not pgroles.answer_role_ready(first[1]):  # the roles first (see _answer_login)
        try:
            answer_pg(first[1])
        except Exception:  # not seeded, the server down: the check says so when it connects
            return
        del missing[first[0]]
        if not missing:
            return

    def open_fit(url: str) -> psycopg.Connection | None:
        try:
            conn = pg_connect(missing[url], autocommit=True, conninfo=url)
        except Exception:  # answer_pg connects again and reports it
            return None
        try:
            if pgroles.fit(conn):
                return conn
        except Exception:
            pass
        conn.close()
        return None

    opened = dict(zip(missing, threads.pool().map(open_fit, missing), strict=True))
    for url, conn in opened.items():
        if conn is not None:
            _pg[url] = conn


def _live(url: str, connect: Callable[[], psycopg.Connection]) -> psycopg.Connection:
    import psycopg

    _forget_after_fork()
    conn = _pg.pop(url, None)
    if conn is not None:
        _pg[url] = conn  # the most recently used last
        try:
            if not conn.closed and not conn.broken:
                conn.execute("SELECT 1")  # one round trip: the server may have ended it
                return conn
        except psycopg.Error:
            pass
        _discard(url)
    _make_room(1)
    conn = connect()
    _make_room(1)  # connect() may have opened another (the answer role's admin connection)
    _pg[url] = conn
    return conn


def _make_room(needed: int) -> None:
    """Close the least recently used connections until ``needed`` more fit the bound."""
    while _limit is not None and _pg and len(_pg) + needed > _limit:
        _discard(next(iter(_pg)))


@contextlib.contextmanager
def bounded(limit: int = 2) -> Iterator[None]:
    """Hold at most ``limit`` PostgreSQL connections inside, and close them all on leaving."""
    global _limit
    before, _limit = _limit, limit
    try:
        yield
    finally:
        _limit = before
        close_pg()


def is_bounded() -> bool:
    """Whether this process checks inside :func:`bounded` (a learner's kernel)."""
    return _limit is not None


def close_pg() -> None:
    """Close every PostgreSQL connection this process holds for the checker."""
    for url in list(_pg):
        _discard(url)


def discard_pg(ws: Workspace) -> None:
    """Close and forget the workspace's connections (after a failure they may have left)."""
    from dbdojo import pgroles

    _discard(postgres_url(ws))
    _discard(pgroles.url(ws, pgroles.ANSWER))


def _discard(url: str) -> None:
    conn = _pg.pop(url, None)
    if conn is not None:
        with contextlib.suppress(Exception):  # already gone
            conn.close()


def mongo(ws: Workspace) -> Any:
    """The workspace's MongoDB database on a shared client (one per server URL)."""
    import pymongo.errors

    from dbdojo.connect import ServiceDown

    _forget_after_fork()
    url = server_url("mongo")
    client = _mongo.get(url)
    if client is None:
        client = mongo_client()
        try:
            client.admin.command("ping")
        except pymongo.errors.PyMongoError as exc:
            client.close()
            raise ServiceDown("mongo", str(exc).splitlines()[0][:200]) from exc
        _mongo[url] = client
    return client[ws.database]
