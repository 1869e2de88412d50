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
from collections import Counter
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from dbdojo import pgroles
from dbdojo.checking.result import ResultSet
from dbdojo.checking.runners import AnswerError, CannotCheck
from dbdojo.checking.runners import pg_scratch as scratch
from dbdojo.checking.runners.sql import execute, fetch, statements_of
from dbdojo.checking.sqltext import split_statements

if TYPE_CHECKING:
    import psycopg

EVENTS = ("wait", "deadlock", "serialization")
RETRYABLE = {"40001": "serialization", "40P01": "deadlock"}
MAX_SESSIONS = 6
RETRIES = 10  # retryable failures in a row before a session gives up
POLL = 0.005  # seconds between looks at a running statement
OPTIONS = {"setup", "probe", "sessions", "repeat", "retries", "forbid", "timeout", "ordered",
           "order_by", "tolerance", "vary", "form", "function", "quiet"}  # fmt: skip
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
    found += [f"options.forbid: {e!r} is not one of {', '.join(EVENTS)}"
              for e in options.get("forbid", []) if e not in EVENTS]  # fmt: skip
    return found


@dataclass
class Session:
    """One connection of the run and where it is in its current transaction."""

    number: int
    conn: psycopg.Connection
    owed: int  # transactions still to commit
    statements: list[str]  # the answer's, or the author's ``script`` for this session
    autocommit: bool = False  # a script whose statements commit one by one (no BEGIN/COMMIT)
    steps: list[str] = field(default_factory=list)
    step: int = 0
    pending: Future | None = None
    failures: int = 0  # retryable failures in a row
    waited: int = -1  # the last step seen waiting for a lock (counted once)

    @property
    def pid(self) -> int:
        return self.conn.info.backend_pid

    @property
    def busy(self) -> bool:
        return bool(self.owed or self.pending)

    def kit_step(self) -> bool:
        """Whether the next step is the kit's BEGIN or COMMIT."""
        return not self.autocommit and self.step in (0, len(self.steps) - 1)

    def begin(self) -> None:
        """Start the next transaction (or the next pass through an autocommit script)."""
        self.steps = list(self.statements) if self.autocommit else ["BEGIN", *self.statements,
                                                                    "COMMIT"]  # fmt: skip
        self.step = 0


class Stopped(Exception):
    """A forbidden deadlock or serialization failure: no point in retrying (it may recur)."""


@dataclass
class Run:
    """Counts of what happened, with the first example of each."""

    events: Counter[str] = field(default_factory=Counter)
    examples: dict[str, str] = field(default_factory=dict)
    stop_on: frozenset[str] = frozenset()  # forbidden retryable events end the run at once

    def record(self, event: str, example: str) -> None:
        self.events[event] += 1
        self.examples.setdefault(event, example)


def run(source: str, options: dict[str, Any], timeout: float) -> ResultSet:
    """Run ``source`` concurrently as the options say, then (unless ``vary`` is false) again
    with one more transaction per answer session: the probe's rows of both runs (column
    ``run``: 1, 2), with the problems (forbidden events) and notes (retries) of the runs. The
    second run tells an answer that computes the end state from the traffic apart from one that
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
            _interleave(schema, statements, settings, options, timeout, record, more)

    record = Run(stop_on=frozenset(options.get("forbid", [])) - {"wait"})
    runs = (0, 1) if options.get("vary", True) else (0,)
    parts: list[ResultSet] = []
    for extra in runs:
        try:
            parts.append(_scenario(traffic, options, timeout, record, extra))
        except Stopped:
            parts = []
            break
    if not parts:
        result = ResultSet([], [])
    elif len(parts) == 1:
        result = parts[0]
    else:
        rows = [(n, *row) for n, part in enumerate(parts, start=1) for row in part.rows]
        result = ResultSet(["run", *parts[0].columns], rows)
    result.problems, result.notes = _judge(record, options.get("forbid", []))
    return result


def _scenario(
    traffic: Callable[..., None], options: dict[str, Any], timeout: float, record: Run, extra: int
) -> ResultSet:
    """One run in a fresh scratch schema (answer sessions commit ``extra`` more transactions
    than the options say): the probe's rows."""
    sessions_option = options.get("sessions", 2)
    settings = (
        sessions_option
        if isinstance(sessions_option, list)
        else [{} for _ in range(sessions_option)]
    )
    with scratch.schema() as name:
        with _answer_conn(name, timeout) as conn, conn.cursor() as cur:
            conn.autocommit = False
            execute(cur, options["setup"], timeout, "the exercise's setup")
            conn.commit()
        if options.get("quiet"):
            _wait_for_quiet_server()
        traffic(name, settings, record, timeout, extra)
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


def _interleave(
    schema: str,
    statements: list[str],
    settings: list[dict[str, Any]],
    options: dict[str, Any],
    timeout: float,
    record: Run,
    more: int = 0,
) -> None:
    repeat, retries = int(options.get("repeat", 1)), int(options.get("retries", RETRIES))
    with contextlib.ExitStack() as stack:
        observer = stack.enter_context(scratch.connect())
        sessions = []
        for number, extra in enumerate(settings, start=1):
            conn = stack.enter_context(_answer_conn(schema, timeout))
            values = {"session": number, **extra}
            script = values.pop("script", None)
            owed = int(values.pop("repeat", repeat)) + (more if script is None else 0)
            autocommit = bool(values.pop("autocommit", False))
            for key, value in values.items():
                conn.execute("SELECT set_config(%s, %s, false)", (f"dojo.{key}", str(value)))
            mine = split_statements(script) if script is not None else statements
            sessions.append(Session(number, conn, owed, mine, autocommit))
        pool = stack.enter_context(ThreadPoolExecutor(len(sessions), "dojo-session"))
        stack.callback(_stop, sessions)  # runs first: no statement outlives the run
        while any(s.busy for s in sessions):
            for s in sessions:
                _turn(s, pool, observer, record, retries, timeout)


def _turn(
    s: Session,
    pool: ThreadPoolExecutor,
    observer: psycopg.Connection,
    record: Run,
    retries: int,
    timeout: float,
) -> None:
    """One step of session ``s``: its last statement's outcome, then its next statement
    (unless the last one still waits for a lock: then the turn passes)."""
    if s.pending is not None:
        if not _settled(s, observer, record):
            return
        _collect(s, record, retries, timeout)
    if not s.owed:
        return
    if s.step == len(s.steps):
        s.begin()
    kit = s.kit_step()
    s.pending = pool.submit(_statement, s, s.steps[s.step], kit, timeout)
    s.step += 1
    if _settled(s, observer, record):
        _collect(s, record, retries, timeout)


def _settled(s: Session, observer: psycopg.Connection, record: Run) -> bool:
    """Wait until the session's statement is done (True) or waits for a lock (False)."""
    assert s.pending is not None
    while True:
        try:
            s.pending.exception(timeout=POLL)
            return True
        except FutureTimeout:
            pass
        row = observer.execute(_WAITING, (s.pid,)).fetchone()
        if row and row[0] and not s.pending.done():
            if s.waited != s.step:
                s.waited = s.step
                record.record("wait", f"session {s.number} at `{_short(s.steps[s.step - 1])}`")
            return False


def _collect(s: Session, record: Run, retries: int, timeout: float) -> None:
    """The result of the session's statement: on to the next one, a retry, or the error."""
    assert s.pending is not None
    future, s.pending = s.pending, None
    exc = future.exception()
    if exc is None:
        if s.step == len(s.steps):
            s.owed, s.failures = s.owed - 1, 0
        return
    cause = exc.__cause__ if isinstance(exc, AnswerError) else exc
    event = RETRYABLE.get(getattr(cause, "sqlstate", None) or "")
    statement = s.steps[s.step - 1]
    if event is None and isinstance(exc, AnswerError) and exc.timeout and s.waited == s.step:
        raise AnswerError(
            f"stopped after {timeout:g} s: session {s.number} waited for a lock at "
            f"`{_short(statement)}` that no session was going to release",
            "a lock held past the end of a transaction (a session-level advisory lock, "
            "pg_advisory_lock, lasts until unlocked or the session ends) keeps the next "
            "transaction waiting",
            timeout=True,
        ) from exc
    if event is None:
        raise exc
    record.record(event, f"session {s.number} at `{_short(statement)}`")
    if event in record.stop_on:
        raise Stopped(event)
    if not s.autocommit:
        s.conn.execute("ROLLBACK")
    s.step = len(s.steps)  # its next turn begins the transaction again
    s.failures += 1
    if s.failures > retries:
        raise AnswerError(
            f"session {s.number}'s transaction failed {s.failures} times in a row ({exc}): "
            f"the checker retries a transaction at most {retries} times",
            "a transaction that always fails again keeps conflicting with itself: look at "
            "what it locks and in which order",
        )


def _statement(s: Session, statement: str, kit: bool, timeout: float) -> None:
    """One step: the kit's BEGIN/COMMIT, or one of the answer's statements (contained)."""
    if kit:
        try:
            s.conn.execute(statement)
        except Exception as exc:
            raise AnswerError(f"PostgreSQL error at {statement}: {exc}") from exc
        return
    with s.conn.cursor() as cur:
        execute(cur, statement, timeout, in_transaction=not s.autocommit)


def _stop(sessions: list[Session]) -> None:
    """Cancel what still runs (an error in one session leaves the others waiting)."""
    for s in sessions:
        if s.pending is not None and not s.pending.done():
            s.conn.cancel_safe()
    deadline = time.monotonic() + 5
    for s in sessions:
        if s.pending is not None:
            with contextlib.suppress(Exception):
                s.pending.exception(timeout=max(0.1, deadline - time.monotonic()))


def _judge(record: Run, forbid: list[str]) -> tuple[list[str], list[str]]:
    """Problems (forbidden events that happened) and notes (the others)."""
    what = {
        "wait": "waited for a lock another session held",
        "deadlock": "was aborted by a deadlock (each session waited for a lock the other held)",
        "serialization": "failed with a serialization failure and had to run again",
    }
    problems, notes = [], []
    for event in EVENTS:
        n = record.events[event]
        if not n:
            continue
        times = f"{n} time{'s' * (n > 1)}"
        line = f"{times} a session {what[event]}; the first: {record.examples[event]}"
        (problems if event in forbid else notes).append(line)
    return problems, notes


def _short(statement: str, limit: int = 60) -> str:
    text = " ".join(statement.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
