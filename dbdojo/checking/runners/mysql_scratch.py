"""Answers that change data or schema on MariaDB/MySQL (kind ``sql-ddl`` with
``options.database: mysql``; lesson X3), checked in a scratch database of their own.

Each run gets a fresh database ``dojocheck<hex>`` made by the kit's administrator, who runs the
exercise's ``setup`` in it; then a user of its own, who may read, write and change the schema
of that database and nothing else (no ``FILE``, ``PROCESS``, ``SUPER``, no grant option, no
other database), runs the answer's statements one by one in autocommit mode (as the ``mariadb``
client does), each with the server's ``max_statement_time`` and all together under a watchdog
that kills the connection. The ``probe`` runs as the same user on a new connection (work left
uncommitted is gone, as when a client disconnects). Afterwards the user's connections are
killed and the user and the database dropped, whatever the answer did.
"""

from __future__ import annotations

import contextlib
import secrets
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from dbdojo.checking.result import MAX_ROWS, ResultSet
from dbdojo.checking.runners import AnswerError
from dbdojo.checking.runners import mysql as read_only

PREFIX = "dojocheck"  # no '_': it is a wildcard in GRANT's database names
STALE = 3600  # seconds: a scratch database this old was left by a killed check
HOSTS = ("127.0.0.1", "localhost", "::1")
PRIVILEGES = (
    "SELECT, INSERT, UPDATE, DELETE, CREATE, DROP, ALTER, INDEX, REFERENCES, "
    "CREATE VIEW, SHOW VIEW, CREATE TEMPORARY TABLES"
)
EXPLAIN_COLUMNS = ("table", "partitions")  # what a probe's EXPLAIN keeps: which partitions
DENIED = (1044, 1045, 1142, 1143, 1227, 1095, 1211, 1410)


@dataclass(frozen=True)
class Scratch:
    """A run's database and the user who may change it (the user is named as the database)."""

    database: str
    password: str

    @property
    def user(self) -> str:
        return self.database


def statements(source: str) -> list[str]:
    """The SQL statements of ``source``, one by one, without their comments (the server
    takes one statement per call: a comment after its semicolon would be a second one)."""
    import sqlparse

    found = []
    for piece in sqlparse.split(source):
        text = sqlparse.format(piece, strip_comments=True).strip().rstrip(";").strip()
        if text:
            found.append(text)
    return found


def probes(options: dict[str, Any]) -> list[str]:
    """``options.probe``: one query or a list of them."""
    probe = options["probe"]
    return [probe] if isinstance(probe, str) else list(probe)


def run_ddl(source: str, options: dict[str, Any], timeout: float) -> ResultSet:
    """Run the answer in a fresh scratch database, then the probe; the probe's rows (several
    probes: their rows one after the other, under the first one's column names)."""
    todo = statements(source)
    if not todo:
        raise AnswerError("the answer has no statement: write the SQL that makes the change")
    with scratch(options.get("setup"), timeout) as where:
        _run_answer(where, todo, timeout)
        return probed(where, options, timeout)


def probed(where: Scratch, options: dict[str, Any], timeout: float) -> ResultSet:
    """The rows of the probes (``options.probe``), one after the other under the first one's
    column names, each run as the run's user on a new connection."""
    results = [_probe(where, query, timeout) for query in probes(options)]
    first = results[0]
    for other in results[1:]:
        if len(other.columns) != len(first.columns):
            raise ValueError("the probes of an exercise must return as many columns")
        first.rows.extend(other.rows)
    return first


@contextlib.contextmanager
def scratch(setup: str | None, timeout: float, connections: int = 3) -> Iterator[Scratch]:
    """A new database with ``setup`` run in it and a user who may change only it (with at
    most ``connections`` connections at once); both dropped afterwards."""
    name = f"{PREFIX}{int(time.time()):08x}{secrets.token_hex(4)}"  # born when, and whose
    where = Scratch(name, secrets.token_urlsafe(24))
    try:
        with admin() as conn, conn.cursor() as cur:
            _sweep(cur)
            cur.execute(f"CREATE DATABASE `{where.database}` CHARACTER SET utf8mb4")
            for host in HOSTS:
                user = f"'{where.user}'@'{host}'"
                cur.execute(
                    f"CREATE USER {user} IDENTIFIED BY %s WITH MAX_USER_CONNECTIONS "
                    f"{int(connections)}",
                    (where.password,),
                )
                cur.execute(f"GRANT {PRIVILEGES} ON `{where.database}`.* TO {user}")
            if setup:
                cur.execute(f"USE `{where.database}`")
                for statement in statements(setup):
                    cur.execute(statement)
        yield where
    finally:
        drop(where)


def _sweep(cur) -> None:
    """Drop the scratch databases (and users) of checks killed before they could."""
    cur.execute("SHOW DATABASES LIKE %s", (PREFIX + "%",))
    for (database,) in cur.fetchall():
        with contextlib.suppress(ValueError):  # not one of ours
            born = int(database[len(PREFIX) : len(PREFIX) + 8], 16)
            if len(database) == len(PREFIX) + 16 and time.time() - born > STALE:
                with contextlib.suppress(Exception):  # another check sweeps it meanwhile
                    drop(Scratch(database, ""))


def drop(where: Scratch) -> None:
    """End the user's connections, drop the user and the database (if the answer has not)."""
    with admin() as conn, conn.cursor() as cur:
        cur.execute("SET SESSION lock_wait_timeout = 30")
        cur.execute("SELECT ID FROM information_schema.PROCESSLIST WHERE USER = %s", (where.user,))
        for (thread,) in cur.fetchall():
            with contextlib.suppress(Exception):  # ended meanwhile
                cur.execute(f"KILL CONNECTION {int(thread)}")
        for host in HOSTS:
            cur.execute(f"DROP USER IF EXISTS '{where.user}'@'{host}'")
        cur.execute(f"DROP DATABASE IF EXISTS `{where.database}`")


def admin():
    import pymysql

    from dbdojo.connect import ServiceDown, mysql_connect_url, server_url

    try:
        return mysql_connect_url(server_url("mysql"))
    except pymysql.err.OperationalError as exc:
        raise ServiceDown("mysql", str(exc)) from exc


def connect(where: Scratch, timeout: float, autocommit: bool = True):
    """A connection as the run's user to its database (no local files)."""
    from urllib.parse import urlsplit

    import pymysql

    from dbdojo.connect import ServiceDown, server_url

    parts = urlsplit(server_url("mysql"))
    try:
        return pymysql.connect(
            host=parts.hostname, port=parts.port or 3306, user=where.user,
            password=where.password, database=where.database, charset="utf8mb4",
            autocommit=autocommit, connect_timeout=5, read_timeout=timeout + 10,
            local_infile=False,
        )  # fmt: skip
    except pymysql.err.OperationalError as exc:
        if exc.args and exc.args[0] == 1049:  # the answer dropped its own database
            raise AnswerError(
                "your statements dropped the scratch database the check looks in",
                "change the tables the exercise names; leave the database alone",
            ) from exc
        raise ServiceDown("mysql", str(exc)) from exc


def _run_answer(where: Scratch, todo: list[str], timeout: float) -> None:
    """The statements one by one; the first error ends the answer and is reported."""
    import pymysql

    conn = connect(where, timeout)
    stopped = threading.Event()
    limit = timeout + read_only.WATCHDOG_GRACE
    watchdog = threading.Timer(limit, kill, (conn.thread_id(), stopped))
    try:
        with conn.cursor() as cur:
            cur.execute(f"SET SESSION max_statement_time = {timeout:g}")
            watchdog.start()
            for number, statement in enumerate(todo, 1):
                try:
                    cur.execute(statement)
                    if cur.description is not None:
                        cur.fetchmany(MAX_ROWS)
                except pymysql.err.MySQLError as exc:
                    raise answer_error(exc, timeout, number, len(todo), stopped) from exc
    finally:
        watchdog.cancel()
        with contextlib.suppress(Exception):
            conn.close()


def _probe(where: Scratch, query: str, timeout: float) -> ResultSet:
    """The author's probe, as the answer's user on a connection of its own."""
    import pymysql

    conn = connect(where, timeout)
    try:
        with conn.cursor() as cur:
            cur.execute(f"SET SESSION max_statement_time = {timeout:g}")
            cur.execute(query)
            if cur.description is None:
                raise ValueError(f"a probe returns no rows: {query[:60]}")
            rows = cur.fetchmany(MAX_ROWS + 1)
            columns = [d[0] for d in cur.description]
    except pymysql.err.MySQLError as exc:
        message = exc.args[1] if len(exc.args) > 1 else str(exc)
        raise AnswerError(
            f"the check after your statements fails: MariaDB: {message}",
            "the table, column or partition it looks at is missing or named otherwise",
        ) from exc
    finally:
        conn.close()
    if len(rows) > MAX_ROWS:
        raise AnswerError(f"more than {MAX_ROWS:,} rows in the check after your statements")
    if query.lstrip()[:7].upper() == "EXPLAIN":
        keep = [columns.index(c) for c in EXPLAIN_COLUMNS]
        columns, rows = list(EXPLAIN_COLUMNS), [tuple(r[i] for i in keep) for r in rows]
    return ResultSet(
        columns, [tuple(read_only._text(v) for v in r) for r in rows], noun="checked row"
    )


def answer_error(
    exc: Exception, timeout: float, number: int, count: int, stopped: threading.Event
) -> AnswerError:
    code = exc.args[0] if exc.args and isinstance(exc.args[0], int) else 0
    message = exc.args[1] if len(exc.args) > 1 else str(exc)
    where = f"statement {number} of {count}" if count > 1 else "the statement"
    if stopped.is_set():
        code = read_only.TIMED_OUT[0]
    if code in DENIED:
        return AnswerError(
            f"MariaDB refused {where}: {message}",
            "answers here may create and change tables in their own scratch database, "
            "nothing else: no other database, no files, no server settings, no grants",
        )
    error = read_only._answer_error(exc, timeout)
    return AnswerError(f"{where}: {error}", error.hint, error.timeout)


def kill(thread_id: int, stopped: threading.Event) -> None:
    """End the answer's connection once its time is up (it may have lifted its own limit)."""
    stopped.set()
    with contextlib.suppress(Exception), admin() as conn, conn.cursor() as cur:
        cur.execute(f"KILL CONNECTION {int(thread_id)}")
