"""Kind ``sql-concurrent``: the answer (a transaction's statements) runs in several PostgreSQL
sessions at once, interleaved statement by statement; a probe then judges the end state.

The run, for the reference and for the answer alike:

1. a scratch schema (:mod:`.pg_scratch`); the exercise's ``setup`` creates its tables there,
   as the answer role, committed;
2. ``sessions`` connections as the answer role; session ``i`` has ``dojo.session = i`` and
   the settings of its entry in ``sessions`` (``current_setting('dojo.<name>')``);
3. rounds in lock step: every session still owing a transaction runs ``BEGIN``, the answer's
   first statement, the next session its first statement, ... then each its second, and so on
   to ``COMMIT``. A statement that waits for a lock another session holds is left waiting and
   the turn passes on (the lock-step schedule is the same on every run: it does not depend on
   timing). A transaction that fails with a serialization failure or a deadlock is rolled
   back and run again in the next round, as an application retries it;
4. each session commits ``repeat`` transactions; then ``probe`` (a query, as the answer role)
   gives the result compared with the reference's.

What happened on the way (lock waits, deadlocks, serialization failures) is counted; options
``forbid`` turns those into failures ("no worker ever waits" for a ``SKIP LOCKED`` queue).
Answers are contained like other SQL answers: statements split by PostgreSQL's scanner,
transaction control refused, the answer role, a watchdog per statement; the kit's superuser
only creates and drops the schema and watches ``pg_stat_activity`` for lock waits.
"""

from __future__ import annotations

import contextlib
import time
from collections import Counter
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from dbdojo import pgroles
from dbdojo.checking.result import ResultSet
from dbdojo.checking.runners import AnswerError
from dbdojo.checking.runners import pg_scratch as scratch
from dbdojo.checking.runners.sql import execute, fetch
from dbdojo.checking.sqltext import controls_transaction, split_statements

if TYPE_CHECKING:
    import psycopg

EVENTS = ("wait", "deadlock", "serialization")
RETRYABLE = {"40001": "serialization", "40P01": "deadlock"}
MAX_SESSIONS = 6
RETRIES = 10  # retryable failures in a row before a session gives up
POLL = 0.005  # seconds between looks at a running statement
OPTIONS = {"setup", "probe", "sessions", "repeat", "retries", "forbid", "timeout", "ordered",
           "order_by", "tolerance"}  # fmt: skip

_WAITING = "SELECT wait_event_type = 'Lock' FROM pg_stat_activity WHERE pid = %s"


def problems(options: dict[str, Any]) -> list[str]:
    """What is wrong with an exercise's options for this kind (empty when fine)."""
    found = [f"options.{name} is required" for name in ("setup", "probe") if name not in options]
    found += [f"unknown option {name!r}" for name in sorted(set(options) - OPTIONS)]
    sessions = options.get("sessions", 2)
    count = len(sessions) if isinstance(sessions, list) else sessions
    if not isinstance(count, int) or not 2 <= count <= MAX_SESSIONS:
        found.append(f"options.sessions: a number or a list of 2 to {MAX_SESSIONS} sessions")
    elif isinstance(sessions, list) and not all(isinstance(s, dict) for s in sessions):
        found.append("options.sessions: each session's settings are a dict")
    for name in ("repeat", "retries"):
        value = options.get(name, 1)
        if not isinstance(value, int) or not 0 <= value <= 50:
            found.append(f"options.{name}: a whole number from 0 to 50")
    found += [f"options.forbid: {e!r} is not one of {', '.join(EVENTS)}"
              for e in options.get("forbid", []) if e not in EVENTS]  # fmt: skip
    return found


@dataclass
class Session:
    """One connection of the run and where it is in its current transaction."""

    number: int
    conn: psycopg.Connection
    owed: int  # transactions still to commit
    steps: list[str] = field(default_factory=list)
    step: int = 0
    pending: Future | None = None
    failures: int = 0  # retryable failures in a row
    waited: int = -1  # the last step seen waiting for a lock (counted once)

    @property
    def pid(self) -> int:
        return self.conn.info.backend_pid


@dataclass
class Run:
    """Counts of what happened, with the first example of each."""

    events: Counter[str] = field(default_factory=Counter)
    examples: dict[str, str] = field(default_factory=dict)

    def record(self, event: str, example: str) -> None:
        self.events[event] += 1
        self.examples.setdefault(event, example)


def run(source: str, options: dict[str, Any], timeout: float) -> ResultSet:
    """Run ``source`` concurrently as the options say; the probe's rows, with the problems
    (forbidden events) and notes (retries) of the run."""
    statements = split_statements(source)
    if any(controls_transaction(s) for s in statements):
        raise AnswerError(
            "the checker begins and commits each session's transaction: leave out BEGIN, "
            "COMMIT and ROLLBACK",
            "write only the statements inside the transaction",
        )
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
        record = _interleave(name, statements, settings, options, timeout)
        with _answer_conn(name, timeout) as conn, conn.cursor() as cur:
            conn.autocommit = False
            execute(cur, options["probe"], timeout, "the check after your transactions")
            result = fetch(cur)
            conn.rollback()
    result.problems, result.notes = _judge(record, options.get("forbid", []))
    return result


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
) -> Run:
    record = Run()
    repeat, retries = int(options.get("repeat", 1)), int(options.get("retries", RETRIES))
    with contextlib.ExitStack() as stack:
        observer = stack.enter_context(scratch.connect())
        sessions = []
        for number, extra in enumerate(settings, start=1):
            conn = stack.enter_context(_answer_conn(schema, timeout))
            for key, value in {"session": number, **extra}.items():
                conn.execute("SELECT set_config(%s, %s, false)", (f"dojo.{key}", str(value)))
            sessions.append(Session(number, conn, repeat))
        pool = stack.enter_context(ThreadPoolExecutor(len(sessions), "dojo-session"))
        stack.callback(_stop, sessions)  # runs first: no statement outlives the run
        turn = 0
        while active := [s for s in sessions if s.owed]:
            first = turn % len(active)  # each round another session goes first: no starving
            active, turn = active[first:] + active[:first], turn + 1
            for s in active:
                s.steps, s.step = ["BEGIN", *statements, "COMMIT"], 0
            _round(active, pool, observer, record, retries, timeout)
    return record


def _round(
    active: list[Session],
    pool: ThreadPoolExecutor,
    observer: psycopg.Connection,
    record: Run,
    retries: int,
    timeout: float,
) -> None:
    """Every session runs its transaction, one statement per turn, until all are through."""
    while any(s.step < len(s.steps) or s.pending for s in active):
        for s in active:
            if s.pending is not None:
                if not _settled(s, observer, record):
                    continue  # still waiting for a lock: its turn passes
                _collect(s, record, retries)
            if s.step < len(s.steps):
                kit = s.step in (0, len(s.steps) - 1)  # BEGIN, COMMIT
                s.pending = pool.submit(_statement, s, s.steps[s.step], kit, timeout)
                s.step += 1
                if not _settled(s, observer, record):
                    continue
                _collect(s, record, retries)


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


def _collect(s: Session, record: Run, retries: int) -> None:
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
    if event is None:
        raise exc
    statement = s.steps[s.step - 1]
    record.record(event, f"session {s.number} at `{_short(statement)}`: {exc}")
    s.conn.execute("ROLLBACK")
    s.step = len(s.steps)  # this round is over for it; the next round runs it again
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
        execute(cur, statement, timeout)


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
