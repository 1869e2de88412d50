"""Kind ``sql-concurrent`` with ``options.database: mysql`` (lesson X3): the answer (one
transaction's statements) runs in several MariaDB/MySQL sessions at once, in the lock step of
:mod:`.lockstep`, in a scratch database of its own (:mod:`.mysql_scratch`).

The run, for the reference and for the answer alike:

1. a fresh database made by the kit's administrator, who runs the exercise's ``setup`` in it
   (committed), and a user of the run who may change only that database;
2. ``sessions`` connections as that user, each with ``max_statement_time`` and a small
   ``innodb_lock_wait_timeout``, the user variables ``@dojo_session`` and ``@dojo_<name>``
   for the settings of its entry in ``sessions``, and autocommit off: the kit's opening step
   (``SET autocommit = 0``) starts no transaction, so a ``SET TRANSACTION ISOLATION LEVEL``
   as the answer's first statement applies to the transaction its next statement begins, and
   the kit's ``COMMIT`` ends it; a ``script`` session with ``autocommit`` commits each
   statement;
3. the lock step: a statement that waits for a lock (InnoDB's ``LOCK WAIT``, a metadata or
   user lock) is left waiting while the others go on; a deadlock (1213) or a lock wait timeout
   (1205) rolls the transaction back and begins it again, up to ``retries`` times in a row;
4. the probe (one query or a list, as for ``sql-ddl``) as the run's user on a new connection;
   with ``vary``, all of it again with one more transaction per answer session.

Containment: the scratch database's user and privileges; transaction control refused in the
answer (the kit begins and commits); a watchdog per statement that kills the session's
connection once it outlives the time limit (it may lift its own); the user's connections
killed and the user and database dropped afterwards.
"""

from __future__ import annotations

import contextlib
import re
import threading
from typing import Any

from dbdojo.checking.result import ResultSet
from dbdojo.checking.runners import AnswerError, lockstep, mysql_scratch
from dbdojo.checking.runners import mysql as read_only
from dbdojo.checking.runners.lockstep import Session

LOCK_WAIT_TIMEOUT = 2  # seconds: innodb_lock_wait_timeout of every session
RETRYABLE = {1213: "deadlock", 1205: "deadlock"}  # 1205: a lock wait that timed out
# A statement of the answer that would end or reshape the kit's transaction.
TRANSACTION_CONTROL = re.compile(
    r"^\s*(SET\s+STATEMENT\b.*?\bFOR\s+)?(BEGIN|START|COMMIT|ROLLBACK|XA|PREPARE|EXECUTE)\b"
    r"|\b(autocommit|completion_type)\b",
    re.IGNORECASE | re.DOTALL,
)
# Waiting for a table's metadata lock or for GET_LOCK(); row and gap locks are InnoDB's.
_WAITING = """
    SELECT COUNT(*) FROM information_schema.PROCESSLIST
    WHERE ID = %s AND (STATE LIKE 'Waiting for %%lock' OR STATE = 'User lock')"""


def run(source: str, options: dict[str, Any], timeout: float) -> ResultSet:
    """Run ``source`` concurrently on MariaDB as the options say (:func:`.lockstep.
    judged_runs`): the probe's rows of the runs, with what happened on the way."""
    statements = mysql_scratch.statements(source)
    if not statements:
        raise AnswerError("the answer has no statement: write the transaction's statements")
    for statement in statements:
        _refuse_transaction_control(statement)
    settings = lockstep.settings_of(options)

    def scenario(record: lockstep.Run, extra: int) -> ResultSet:
        with mysql_scratch.scratch(options["setup"], timeout, len(settings) + 1) as where:
            with mysql_scratch.admin() as observer:
                backend = MysqlBackend(where, observer, timeout)
                lockstep.interleave(backend, statements, settings, options, timeout, record, extra)
            return mysql_scratch.probed(where, options, timeout)

    return lockstep.judged_runs(options, scenario)


def _refuse_transaction_control(statement: str) -> None:
    if TRANSACTION_CONTROL.search(statement):
        raise AnswerError(
            f"the checker begins and commits each session's transaction: "
            f"`{lockstep.short(statement)}` would change that",
            "write only the statements inside the transaction (SET TRANSACTION ISOLATION "
            "LEVEL ... first, if the transaction needs another level); leave out START "
            "TRANSACTION, COMMIT, ROLLBACK and autocommit",
        )


class MysqlBackend:
    """MariaDB's side of the lock step: sessions as the run's user in its database, settings
    as user variables, lock waits seen by the kit's administrator (``observer``)."""

    opening = "SET autocommit = 0"
    stuck_hint = (
        "a lock held past the end of a transaction (GET_LOCK() lasts until RELEASE_LOCK() "
        "or the session ends) keeps the next transaction waiting"
    )

    def __init__(self, where: mysql_scratch.Scratch, observer: Any, timeout: float) -> None:
        self.where, self.observer, self.timeout = where, observer, timeout

    def split(self, script: str) -> list[str]:
        return mysql_scratch.statements(script)

    @contextlib.contextmanager
    def session(self, number: int, values: dict[str, Any], autocommit: bool):
        with lockstep.closing(mysql_scratch.connect(self.where, self.timeout, autocommit)) as conn:
            with conn.cursor() as cur:
                cur.execute(f"SET SESSION max_statement_time = {self.timeout:g}")
                cur.execute(f"SET SESSION innodb_lock_wait_timeout = {LOCK_WAIT_TIMEOUT}")
                for key, value in values.items():
                    if not re.fullmatch(r"\w+", key):
                        raise ValueError(f"options.sessions: {key!r} is not a variable name")
                    cur.execute(f"SET @dojo_{key} = %s", (value,))
            yield conn

    def execute(self, s: Session, statement: str, kit: bool, timeout: float) -> None:
        import pymysql

        if not kit:
            _refuse_transaction_control(statement)
        stopped = threading.Event()
        limit = timeout + read_only.WATCHDOG_GRACE
        watchdog = threading.Timer(limit, mysql_scratch.kill, (s.conn.thread_id(), stopped))
        watchdog.start()
        try:
            with s.conn.cursor() as cur:
                cur.execute(statement)
                if cur.description is not None:
                    cur.fetchall()
        except pymysql.err.MySQLError as exc:
            if kit or _code(exc) in RETRYABLE:
                raise AnswerError(f"MariaDB error at {statement}: {exc}") from exc
            raise mysql_scratch.answer_error(exc, timeout, 1, 1, stopped) from exc
        finally:
            watchdog.cancel()

    def waiting(self, s: Session) -> bool:
        with self.observer.cursor() as cur:
            cur.execute(_WAITING, (s.conn.thread_id(),))
            if cur.fetchone()[0]:
                return True
            cur.execute("SHOW ENGINE INNODB STATUS")
            status = cur.fetchone()[2]
        return s.conn.thread_id() in lock_waiters(status)

    def retryable(self, exc: BaseException) -> str | None:
        return RETRYABLE.get(_code(exc))

    def rollback(self, s: Session) -> None:
        s.conn.rollback()

    def cancel(self, s: Session) -> None:
        read_only._kill(s.conn.thread_id())


def lock_waiters(status: str) -> set[int]:
    """The thread ids of the transactions that wait for a lock, in the text of ``SHOW ENGINE
    INNODB STATUS``."""
    found = set()
    for block in status.split("\n---TRANSACTION ")[1:]:
        head = block.split("\n------- TRX HAS BEEN WAITING")[0]
        thread = re.search(r"(?:MariaDB|MySQL) thread id (\d+),", head)
        if thread and "\nLOCK WAIT " in head:
            found.add(int(thread.group(1)))
    return found


def _code(exc: BaseException) -> int:
    args = getattr(exc, "args", ())
    return args[0] if args and isinstance(args[0], int) else 0
