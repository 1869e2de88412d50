"""Run SQL answers on MariaDB/MySQL (kind ``sql`` with ``options.database: mysql``).

Answers are checked on the seeded data, MariaDB's ``dojo_template`` (only ``dojo seed`` writes
it; a learner's experiments go to the workspace's database ``dojo``), whatever the workspace,
and on its copy of each edge case (``dojo_template_edge_<variant>``) for the edge workspaces.

Containment, in layers: the answer runs as ``dojo_answer``, who may only ``SELECT`` from
those seeded copies (:func:`dbdojo.dataset.mysql_data._answer_user`); inside a ``READ ONLY``
transaction that is rolled back; one statement (the connection does not allow several); with
the server's ``max_statement_time``; and a watchdog that ``KILL``\\s the statement from an
administrator's connection if it outlives the time limit anyway.
"""

from __future__ import annotations

import contextlib
import re
import threading
from typing import Any

from dbdojo.checking.result import MAX_ROWS, ResultSet
from dbdojo.checking.runners import AnswerError
from dbdojo.workspace import MAIN, Workspace

WATCHDOG_GRACE = 1.0  # seconds past the time limit before the kit kills the query
QUERY_START = re.compile(r"^\s*(\(|SELECT\b|WITH\b|VALUES\b|TABLE\b)", re.IGNORECASE)
COMMENTS = re.compile(r"(--[^\n]*|#[^\n]*|/\*(?!!).*?\*/)", re.DOTALL)
TIMED_OUT = (1969, 3024)  # MariaDB's max_statement_time, MySQL's max_execution_time


def answer_url(database: str) -> str:
    """MariaDB's seeded copy ``database`` as ``dojo_answer``."""
    from urllib.parse import quote, urlsplit, urlunsplit

    from dbdojo import state
    from dbdojo.connect import server_url
    from dbdojo.dataset.mysql_data import ANSWER_USER

    parts = urlsplit(server_url("mysql"))
    password = quote(state.secret("mysql_answer"), safe="")
    netloc = f"{ANSWER_USER}:{password}@{parts.hostname}:{parts.port or 3306}"
    return urlunsplit((parts.scheme, netloc, "/" + database, parts.query, ""))


def query_text(source: str) -> str:
    """The one query of an answer, without trailing comment lines and a final semicolon."""
    lines = source.strip().splitlines()
    while lines and (not lines[-1].strip() or lines[-1].strip().startswith(("--", "#"))):
        lines.pop()
    text = "\n".join(lines).strip().rstrip(";").strip()
    if not COMMENTS.sub(" ", text).strip():
        raise AnswerError("the answer has no query: write one SELECT statement")
    if not QUERY_START.match(COMMENTS.sub(" ", text)):
        raise AnswerError(
            "answers on MariaDB are one query (SELECT or WITH ...): they only read the data",
            "write a single SELECT; the lesson's notebook is the place for DDL and changes",
        )
    return text


def run_query(source: str, ws: Workspace, options: dict[str, Any], timeout: float) -> ResultSet:
    """Run the answer's query as ``dojo_answer`` in a rolled-back read-only transaction, on
    the seeded copy of ``ws``'s data (the main template; an edge case's own for its workspace)."""
    import pymysql

    from dbdojo.connect import NotSeeded, ServiceDown
    from dbdojo.dataset import mysql_data

    query = query_text(source)
    dataset = mysql_data.dataset_of(ws)
    try:
        conn = _connect(timeout, mysql_data.template(dataset))
    except pymysql.err.OperationalError as exc:
        if exc.args and exc.args[0] in (1044, 1045, 1049):  # no template, no answer user yet
            what = "seeded data" if dataset == MAIN else f"copy of the {dataset} edge case"
            message = f"MariaDB holds no {what} ({exc.args[1]}): run `dojo seed`"
            raise NotSeeded(message) from exc
        raise ServiceDown("mysql", str(exc)) from exc
    watchdog = threading.Timer(timeout + WATCHDOG_GRACE, _kill, (conn.thread_id(),))
    try:
        with conn.cursor() as cur:
            cur.execute(f"SET SESSION max_statement_time = {timeout:g}")
            cur.execute("START TRANSACTION READ ONLY")
            watchdog.start()
            try:
                cur.execute(query)
            finally:
                watchdog.cancel()
            if cur.description is None:
                raise AnswerError("the answer returns no rows: end with a query (SELECT ...)")
            rows = cur.fetchmany(MAX_ROWS + 1)
            columns = [d[0] for d in cur.description]
    except pymysql.err.MySQLError as exc:
        raise _answer_error(exc, timeout) from exc
    finally:
        with contextlib.suppress(pymysql.err.MySQLError):  # the watchdog's KILL ended it
            conn.rollback()
        with contextlib.suppress(pymysql.err.MySQLError):
            conn.close()
    if len(rows) > MAX_ROWS:
        raise AnswerError(f"more than {MAX_ROWS:,} rows: the answer is meant to be much smaller")
    return ResultSet(columns, [tuple(_text(v) for v in r) for r in rows])


def _text(value: Any) -> Any:
    """``BINARY col`` and ``COLLATE utf8mb4_bin`` results as the same text."""
    if isinstance(value, bytes | bytearray):
        try:
            return bytes(value).decode("utf-8")
        except UnicodeDecodeError:
            return value
    return value


def _connect(timeout: float, database: str):
    """The answer user's connection to ``database``; its password set again once if refused."""
    import pymysql

    from dbdojo.connect import mysql_connect_url
    from dbdojo.dataset import mysql_data

    url = answer_url(database)
    try:
        return mysql_connect_url(url, autocommit=False, read_timeout=timeout + 10)
    except pymysql.err.OperationalError as exc:
        if not exc.args or exc.args[0] != 1045 or mysql_data.template_checksum() is None:
            raise
    mysql_data.ensure_answer_user()
    return mysql_connect_url(url, autocommit=False, read_timeout=timeout + 10)


def _answer_error(exc: Exception, timeout: float) -> AnswerError:
    code = exc.args[0] if exc.args and isinstance(exc.args[0], int) else 0
    message = exc.args[1] if len(exc.args) > 1 else str(exc)
    if code in TIMED_OUT or code in (2013, 1317):  # lost / interrupted: the watchdog's KILL
        return AnswerError(
            f"stopped after {timeout:g} s: the query runs too long",
            "a missing join condition (a cross join) makes a query run long; so can a "
            "correlated subquery that a join or a derived table would do at once",
            timeout=True,
        )
    if code in (1305, 1370) and (name := re.search(r"(?:routine|FUNCTION) [`']?([\w.]+)", message)):
        function = name.group(1).split(".")[-1]
        return AnswerError(
            f"MariaDB has no function {function}()",
            "it may be PostgreSQL's: the X3 notebook shows MariaDB's counterparts",
        )
    if code in (1142, 1044, 1227, 1792):  # denied, or a write in a READ ONLY transaction
        return AnswerError(
            f"MariaDB: {message}",
            "answers only read the data: they run as a user who may SELECT and nothing else",
        )
    return AnswerError(f"MariaDB error {code}: {message}")


def _kill(thread_id: int) -> None:
    """Stop a query that outlived its limit, from an administrator's connection."""
    from dbdojo.connect import mysql_connect_url, server_url

    try:
        with mysql_connect_url(server_url("mysql")) as admin, admin.cursor() as cur:
            cur.execute(f"KILL QUERY {int(thread_id)}")
    except Exception:  # already gone, or the server is down: nothing to stop
        pass
