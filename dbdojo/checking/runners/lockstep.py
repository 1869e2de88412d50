"""The lock-step schedule of kind ``sql-concurrent``, whatever the server: sessions run one
statement each in turn, a statement waiting for a lock is left waiting while the others go on,
retryable failures (deadlocks, serialization failures) roll the transaction back and begin it
again, and the probe's rows of one or two runs are judged with what happened on the way.

What differs between servers (how to connect a session, run a statement, see that it waits
for a lock, which errors an application retries) is a :class:`Backend`:
:mod:`.pg_concurrent` for PostgreSQL, :mod:`.mysql_concurrent` for MariaDB/MySQL.
"""

from __future__ import annotations

import contextlib
import time
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass, field
from typing import Any, Protocol

from dbdojo.checking.result import ResultSet
from dbdojo.checking.runners import AnswerError

EVENTS = ("wait", "deadlock", "serialization")
RETRIES = 10  # retryable failures in a row before a session gives up
POLL = 0.005  # seconds between looks at a running statement


@dataclass
class Session:
    """One connection of the run and where it is in its current transaction."""

    number: int
    conn: Any
    owed: int  # transactions still to commit
    statements: list[str]  # the answer's, or the author's ``script`` for this session
    autocommit: bool = False  # a script whose statements commit one by one (no BEGIN/COMMIT)
    opening: str = "BEGIN"  # the kit's statement that opens each transaction
    steps: list[str] = field(default_factory=list)
    step: int = 0
    pending: Future | None = None
    failures: int = 0  # retryable failures in a row
    waited: int = -1  # the last step seen waiting for a lock (counted once)

    @property
    def busy(self) -> bool:
        return bool(self.owed or self.pending)

    def kit_step(self) -> bool:
        """Whether the next step is the kit's BEGIN or COMMIT."""
        return not self.autocommit and self.step in (0, len(self.steps) - 1)

    def begin(self) -> None:
        """Start the next transaction (or the next pass through an autocommit script)."""
        self.steps = list(self.statements) if self.autocommit else [self.opening,
                                                                    *self.statements,
                                                                    "COMMIT"]  # fmt: skip
        self.step = 0


class Backend(Protocol):
    """What one server needs for the lock step."""

    opening: str  # the kit's statement that opens a transaction
    stuck_hint: str  # why a session can wait for a lock no session releases

    def split(self, script: str) -> list[str]:
        """An author's script, statement by statement."""

    def session(self, number: int, values: dict[str, Any], autocommit: bool) -> Any:
        """A context manager: a new connection with the session's ``values`` set."""

    def execute(self, s: Session, statement: str, kit: bool, timeout: float) -> None:
        """One step: the kit's own statement, or one of the answer's (contained)."""

    def waiting(self, s: Session) -> bool:
        """Whether the session's running statement waits for a lock a live session holds."""

    def retryable(self, exc: BaseException) -> str | None:
        """``"deadlock"`` or ``"serialization"`` when an application would retry ``exc``."""

    def rollback(self, s: Session) -> None:
        """End the session's failed transaction."""

    def cancel(self, s: Session) -> None:
        """Stop the session's running statement."""


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


def settings_of(options: dict[str, Any]) -> list[dict[str, Any]]:
    """Each session's entry of ``options.sessions`` (a number: that many empty ones)."""
    sessions = options.get("sessions", 2)
    return sessions if isinstance(sessions, list) else [{} for _ in range(sessions)]


def judged_runs(options: dict[str, Any], scenario: Callable[[Run, int], ResultSet]) -> ResultSet:
    """``scenario(record, extra)`` once, and again with one more transaction per answer
    session unless ``vary`` is false: the probe's rows of both runs (column ``run``: 1, 2),
    with the problems (forbidden events) and notes (retries) of the runs."""
    record = Run(stop_on=frozenset(options.get("forbid", [])) - {"wait"})
    runs = (0, 1) if options.get("vary", True) else (0,)
    parts: list[ResultSet] = []
    for extra in runs:
        try:
            parts.append(scenario(record, extra))
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


def interleave(
    backend: Backend,
    statements: list[str],
    settings: list[dict[str, Any]],
    options: dict[str, Any],
    timeout: float,
    record: Run,
    more: int = 0,
) -> None:
    """Open one session per entry of ``settings`` and run them in lock step until each has
    committed its transactions (answer sessions ``more`` than the options say)."""
    repeat, retries = int(options.get("repeat", 1)), int(options.get("retries", RETRIES))
    with contextlib.ExitStack() as stack:
        sessions = []
        for number, extra in enumerate(settings, start=1):
            values = {"session": number, **extra}
            script = values.pop("script", None)
            owed = int(values.pop("repeat", repeat)) + (more if script is None else 0)
            autocommit = bool(values.pop("autocommit", False))
            conn = stack.enter_context(backend.session(number, values, autocommit))
            mine = backend.split(script) if script is not None else statements
            sessions.append(Session(number, conn, owed, mine, autocommit, backend.opening))
        pool = stack.enter_context(ThreadPoolExecutor(len(sessions), "dojo-session"))
        stack.callback(_stop, backend, sessions)  # runs first: no statement outlives the run
        while any(s.busy for s in sessions):
            for s in sessions:
                _turn(backend, s, pool, record, retries, timeout)


def _turn(
    backend: Backend,
    s: Session,
    pool: ThreadPoolExecutor,
    record: Run,
    retries: int,
    timeout: float,
) -> None:
    """One step of session ``s``: its last statement's outcome, then its next statement
    (unless the last one still waits for a lock: then the turn passes)."""
    if s.pending is not None:
        if not _settled(backend, s, record):
            return
        _collect(backend, s, record, retries, timeout)
    if not s.owed:
        return
    if s.step == len(s.steps):
        s.begin()
    s.pending = pool.submit(backend.execute, s, s.steps[s.step], s.kit_step(), timeout)
    s.step += 1
    if _settled(backend, s, record):
        _collect(backend, s, record, retries, timeout)


def _settled(backend: Backend, s: Session, record: Run) -> bool:
    """Wait until the session's statement is done (True) or waits for a lock (False)."""
    assert s.pending is not None
    while True:
        try:
            s.pending.exception(timeout=POLL)
            return True
        except FutureTimeout:
            pass
        if backend.waiting(s) and not s.pending.done():
            if s.waited != s.step:
                s.waited = s.step
                record.record("wait", f"session {s.number} at `{short(s.steps[s.step - 1])}`")
            return False


def _collect(backend: Backend, s: Session, record: Run, retries: int, timeout: float) -> None:
    """The result of the session's statement: on to the next one, a retry, or the error."""
    assert s.pending is not None
    future, s.pending = s.pending, None
    exc = future.exception()
    if exc is None:
        if s.step == len(s.steps):
            s.owed, s.failures = s.owed - 1, 0
        return
    event = backend.retryable(exc.__cause__ if isinstance(exc, AnswerError) else exc)
    statement = s.steps[s.step - 1]
    if event is None and isinstance(exc, AnswerError) and exc.timeout and s.waited == s.step:
        raise AnswerError(
            f"stopped after {timeout:g} s: session {s.number} waited for a lock at "
            f"`{short(statement)}` that no session was going to release",
            backend.stuck_hint,
            timeout=True,
        ) from exc
    if event is None:
        raise exc
    record.record(event, f"session {s.number} at `{short(statement)}`")
    if event in record.stop_on:
        raise Stopped(event)
    if not s.autocommit:
        backend.rollback(s)
    s.step = len(s.steps)  # its next turn begins the transaction again
    s.failures += 1
    if s.failures > retries:
        raise AnswerError(
            f"session {s.number}'s transaction failed {s.failures} times in a row ({exc}): "
            f"the checker retries a transaction at most {retries} times",
            "a transaction that always fails again keeps conflicting with itself: look at "
            "what it locks and in which order",
        )


def _stop(backend: Backend, sessions: list[Session]) -> None:
    """Cancel what still runs (an error in one session leaves the others waiting)."""
    for s in sessions:
        if s.pending is not None and not s.pending.done():
            with contextlib.suppress(Exception):
                backend.cancel(s)
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


def short(statement: str, limit: int = 60) -> str:
    """A statement on one line, cut to ``limit`` characters."""
    text = " ".join(statement.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


@contextlib.contextmanager
def closing(conn: Any) -> Iterator[Any]:
    """``conn``, closed afterwards whatever happened to it."""
    try:
        yield conn
    finally:
        with contextlib.suppress(Exception):
            conn.close()
