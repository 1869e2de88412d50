"""Kind ``sql-concurrent``: the answer (a transaction's statements) runs in several PostgreSQL
sessions at once, interleaved statement by statement; a probe then judges the end state.

The run, for the reference and for the answer alike:

1. a scratch schema (:mod:`.pg_scratch`); the exercise's ``setup`` creates its tables there,
   as the answer role, committed;
2. ``sessions`` connections as the answer role; session ``i`` has ``dojo.session = i`` and
   the settings of its entry in ``sessions`` (``current_setting('dojo.<name>')``). A session
   whose entry has a ``script`` runs the author's statements instead of the answer (the other
   traffic: a writer, a reader holding a lock);
3. lock step: in turn, session 1 runs one statement, then session 2, ..., then session 1 its
   next one; each session's transactions are ``BEGIN``, the statements, ``COMMIT``, one after
   the other (a script session with ``autocommit`` runs its statements without BEGIN/COMMIT,
   each committed at once). A statement that waits for a lock another session holds is left
   waiting and the session's turns pass until it is through: the schedule is the same on
   every run, whatever the machine's speed. A transaction that fails with a serialization
   failure or a deadlock is rolled back and begun again, as an application retries it;
4. each session commits ``repeat`` transactions (its entry's ``repeat`` if it has one); then
   ``probe`` (a query, as the answer role) gives the result compared with the reference's;
5. unless ``vary`` is false, steps 1-4 again with one more transaction per answer session:
   an answer that writes the end state it expects (not one computed from the traffic) fails.

What happened on the way (lock waits, deadlocks, serialization failures) is counted; options
``forbid`` turns those into failures ("no worker ever waits" for a ``SKIP LOCKED`` queue).
Answers are contained like other SQL answers: statements split by PostgreSQL's scanner,
transaction control refused, the answer role, a watchdog per statement; the kit's superuser
only creates and drops the schema and watches for lock waits (``pg_blocking_pids``).
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from dbdojo import pgroles
from dbdojo.checking.result import ResultSet
from dbdojo.checking.runners import AnswerError, CannotCheck, lockstep
from dbdojo.checking.runners import pg_scratch as scratch
from dbdojo.checking.runners.lockstep import EVENTS, Run, Session
from dbdojo.checking.runners.sql import execute, fetch, statements_of
from dbdojo.checking.sqltext import split_statements

if TYPE_CHECKING:
    import psycopg

RETRYABLE = {"40001": "serialization", "40P01": "deadlock"}
MAX_SESSIONS = 6
OPTIONS = {"setup", "probe", "sessions", "repeat", "retries", "forbid", "timeout", "ordered",
           "order_by", "tolerance", "vary", "form", "function", "quiet", "database"}  # fmt: skip
QUIET_WAIT = 60.0  # seconds a ``quiet`` run waits for other transactions on the server to end

# Waiting for a lock that a live session holds: once the holder commits, the waiter's list
# is empty before it wakes, so a waiter about to go on is not taken for a waiting one.
_WAITING = "SELECT cardinality(pg_blocking_pids(%s)) > 0"
# Transactions anywhere on the server that hold a transaction id: each one keeps the xmin of
# every snapshot (pg_snapshot_xmin, the horizon an outbox relay moves by) at or below its id.
_XID_HOLDERS = """
    SELECT format('pid %s in database %s (%s since %s): %s', pid, datname, state,
                  date_trunc('second', xact_start), left(query, 60))
    FROM pg_stat_activity WHERE backend_xid IS NOT NULL AND pid <> pg_backend_pid()
    UNION ALL
    SELECT format('prepared transaction %L in database %s', gid, database)
    FROM pg_prepared_xacts"""


def problems(options: dict[str, Any]) -> list[str]:
    """What is wrong with an exercise's options for this kind (empty when fine)."""
    found = [f"options.{name} is required" for name in ("setup", "probe") if name not in options]
    found += [f"unknown option {name!r}" for name in sorted(set(options) - OPTIONS)]
    sessions = options.get("sessions", 2)
    count = len(sessions) if isinstance(sessions, list) else sessions
    if not isinstance(count, int) or not 2 <= count <= MAX_SESSIONS:
        found.append(f"options.sessions: a number or a list of 2 to {MAX_SESSIONS} sessions")
    elif isinstance(sessions, list):
        if not all(isinstance(s, dict) for s in sessions):
            found.append("options.sessions: each session's settings are a dict")
        elif all("script" in s for s in sessions):
            found.append("options.sessions: at least one session must run the answer")
        elif any(not isinstance(s.get("script", ""), str) for s in sessions):
            found.append("options.sessions: a session's script is SQL text")
        elif any(s.get("autocommit") and "script" not in s for s in sessions):
            found.append("options.sessions: only a script session may autocommit")
    for name in ("repeat", "retries"):
        value = options.get(name, 1)
        if not isinstance(value, int) or not 0 <= value <= 50:
            found.append(f"options.{name}: a whole number from 0 to 50")
    for name, default in (("vary", True), ("quiet", False)):
        if not isinstance(options.get(name, default), bool):
            found.append(f"options.{name}: true or false")
    if options.get("form", "sql") not in ("sql", "python"):
        found.append("options.form: 'sql' (the default) or 'python' (a solve(conn) function)")
    elif options.get("form") == "python":
        from dbdojo.checking.runners import pg_concurrent_py

        found += pg_concurrent_py.problems(options)
    if options.get("database", "postgres") == "mysql" and (
        options.get("form", "sql") != "sql" or options.get("quiet")
    ):
        found.append("options.database 'mysql' runs SQL answers: no form 'python', no quiet")
    found += [f"options.forbid: {e!r} is not one of {', '.join(EVENTS)}"
              for e in options.get("forbid", []) if e not in EVENTS]  # fmt: skip
    return found


def run(source: str, options: dict[str, Any], timeout: float) -> ResultSet:
    """Run ``source`` concurrently as the options say, then (unless ``vary`` is false) again
    with one more transaction per answer session (:func:`.lockstep.judged_runs`). The second
    run tells an answer that computes the end state from the traffic apart from one that
    writes the expected end state (``SET balance = 80``)."""
    if options.get("form") == "python":
        from dbdojo.checking.runners import pg_concurrent_py

        traffic = pg_concurrent_py.traffic(source, options)
    else:
        statements = statements_of(
            source,
            "the checker begins and commits each session's transaction: leave out BEGIN, "
            "COMMIT and ROLLBACK",
            "write only the statements inside the transaction",
        )

        def traffic(schema, settings, record, timeout, more):
            with scratch.connect() as observer:
                backend = PgBackend(schema, observer, timeout)
                lockstep.interleave(backend, statements, settings, options, timeout, record, more)

    return lockstep.judged_runs(
        options, lambda record, extra: _scenario(traffic, options, timeout, record, extra)
    )


def _scenario(
    traffic: Callable[..., None], options: dict[str, Any], timeout: float, record: Run, extra: int
) -> ResultSet:
    """One run in a fresh scratch schema (answer sessions commit ``extra`` more transactions
    than the options say): the probe's rows."""
    with scratch.schema() as name:
        with _answer_conn(name, timeout) as conn, conn.cursor() as cur:
            conn.autocommit = False
            execute(cur, options["setup"], timeout, "the exercise's setup")
            conn.commit()
        if options.get("quiet"):
            _wait_for_quiet_server()
        traffic(name, lockstep.settings_of(options), record, timeout, extra)
        with _answer_conn(name, timeout) as conn, conn.cursor() as cur:
            conn.autocommit = False
            execute(cur, options["probe"], timeout, "the check after your transactions")
            result = fetch(cur)
            conn.rollback()
    return result


def _wait_for_quiet_server() -> None:
    """Wait until no other transaction on the server holds a transaction id (option ``quiet``:
    the answer reads the server-wide snapshot horizon, which any of them holds back; the same
    answer would then give another end state). Transactions that start later are younger than
    the run's own and change nothing."""
    limit = QUIET_WAIT
    deadline = time.monotonic() + limit
    with scratch.connect() as admin:
        while holders := [row[0] for row in admin.execute(_XID_HOLDERS).fetchall()]:
            if time.monotonic() > deadline:
                raise CannotCheck(
                    f"this exercise needs the PostgreSQL server without other running "
                    f"transactions (they hold back pg_snapshot_xmin), and after {limit:g} s "
                    f"there still are: {'; '.join(holders[:3])}. End them (COMMIT or ROLLBACK "
                    f"in the session that has one open) and check again."
                )
            time.sleep(0.05)


@contextlib.contextmanager
def _answer_conn(schema: str, timeout: float):
    """A connection as the answer role to the run's schema."""
    ms = max(1, int(timeout * 1000))
    conn = scratch.connect(
        pgroles.ANSWER,
        application_name=schema,
        options=f"-c search_path={schema} -c statement_timeout={ms}",
    )
    try:
        yield conn
    finally:
        with contextlib.suppress(Exception):
            conn.close()


class PgBackend:
    """PostgreSQL's side of the lock step: sessions as the answer role in the run's schema,
    settings as ``dojo.<name>``, lock waits seen by the kit's superuser (``observer``)."""

    opening = "BEGIN"
    stuck_hint = (
        "a lock held past the end of a transaction (a session-level advisory lock, "
        "pg_advisory_lock, lasts until unlocked or the session ends) keeps the next "
        "transaction waiting"
    )

    def __init__(self, schema: str, observer: psycopg.Connection, timeout: float) -> None:
        self.schema, self.observer, self.timeout = schema, observer, timeout

    def split(self, script: str) -> list[str]:
        return split_statements(script)

    @contextlib.contextmanager
    def session(self, number: int, values: dict[str, Any], autocommit: bool):
        with _answer_conn(self.schema, self.timeout) as conn:
            for key, value in values.items():
                conn.execute("SELECT set_config(%s, %s, false)", (f"dojo.{key}", str(value)))
            yield conn

    def execute(self, s: Session, statement: str, kit: bool, timeout: float) -> None:
        if kit:
            try:
                s.conn.execute(statement)
            except Exception as exc:
                raise AnswerError(f"PostgreSQL error at {statement}: {exc}") from exc
            return
        with s.conn.cursor() as cur:
            execute(cur, statement, timeout, in_transaction=not s.autocommit)

    def waiting(self, s: Session) -> bool:
        row = self.observer.execute(_WAITING, (s.conn.info.backend_pid,)).fetchone()
        return bool(row and row[0])

    def retryable(self, exc: BaseException) -> str | None:
        return RETRYABLE.get(getattr(exc, "sqlstate", None) or "")

    def rollback(self, s: Session) -> None:
        s.conn.execute("ROLLBACK")

    def cancel(self, s: Session) -> None:
        s.conn.cancel_safe()
