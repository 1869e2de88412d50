"""``sql-concurrent`` in Python (option ``"form": "python"``): the answer is a function
``solve(conn)`` (a psycopg connection) that does one unit of work and commits it, as an
application's worker does: a retry loop around a serializable transaction, a job claimed with
``SELECT ... FOR UPDATE SKIP LOCKED``.

The run is that of the SQL form (:mod:`.pg_concurrent`: a scratch schema the ``setup`` fills, a
``probe`` that judges the end state, a second run with one more unit of work per session)
except for the traffic: ``sessions`` threads in the sandbox (:func:`.sandbox.run_pg_sessions`),
each with a connection of its own (``current_setting('dojo.session')`` is its number, and its
entry's settings are there as in the SQL form), released together by a barrier, call
``solve(conn)`` ``repeat`` times each. Every message to the server is held a few random
milliseconds, so one session's read and its later write meet another's write in between. A
session's ``solve`` that raises (a serialization failure it did not retry) fails the answer,
and so does one that returns with its transaction still open (its work would be lost). While
they run, the grader looks for sessions waiting for another's lock (``forbid: ["wait"]``).
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable
from typing import Any

from dbdojo.checking.runners import AnswerError

POLL = 0.005  # seconds between looks for waiting sessions
# The sessions of the answer's role that wait for a lock another session holds.
_WAITING = (
    "SELECT count(*) FROM pg_stat_activity "
    "WHERE usename = %s AND cardinality(pg_blocking_pids(pid)) > 0"
)


def problems(options: dict[str, Any]) -> list[str]:
    """What the Python form does not take (empty when fine)."""
    sessions = options.get("sessions", 2)
    if isinstance(sessions, list) and any("script" in s for s in sessions):
        return ["options.sessions: a Python answer's sessions run the answer (no script)"]
    if options.get("forbid") and set(options["forbid"]) - {"wait"}:
        return ["options.forbid: the Python form watches for lock waits only"]
    return []


def traffic(source: str, options: dict[str, Any]) -> Callable[..., None]:
    """What runs between the setup and the probe: the answer's sessions, in the sandbox."""
    from dbdojo.checking import sandbox
    from dbdojo.checking.runners import pg_scratch

    def run(schema: str, settings: list[dict[str, Any]], record, timeout: float, more: int):
        repeat = int(options.get("repeat", 1))
        sessions = [
            {"number": n, "repeat": int(s.get("repeat", repeat)) + more,
             "settings": {k: str(v) for k, v in s.items() if k != "repeat"}}
            for n, s in enumerate(settings, start=1)
        ]  # fmt: skip
        with pg_scratch.writer(schema, timeout) as (role, password), _watch(role, record):
            replies = sandbox.run_pg_sessions(source, options, timeout, role, password, sessions)
        for number, returns in enumerate(replies, start=1):
            failed = next((r for r in returns if isinstance(r, AnswerError)), None)
            if failed is not None:
                raise AnswerError(
                    f"session {number}'s solve() failed: {failed}", failed.hint, failed.timeout
                )

    return run


@contextlib.contextmanager
def _watch(role: str, record):
    """Count lock waits of the answer's sessions while the block runs (a thread of the
    grader's, reading ``pg_blocking_pids`` as the kit's superuser)."""
    from dbdojo.checking.runners import pg_scratch

    done = threading.Event()

    def look() -> None:
        with contextlib.suppress(Exception), pg_scratch.connect() as observer:
            waiting = False
            while not done.wait(POLL):
                rows = observer.execute(_WAITING, (role,)).fetchone()
                now = bool(rows and rows[0])
                if now and not waiting:
                    record.record("wait", "a session's statement waited for another's lock")
                waiting = now

    watcher = threading.Thread(target=look, daemon=True)
    watcher.start()
    try:
        yield
    finally:
        done.set()
        watcher.join(timeout=2)


def run_sessions(
    solve: Callable[[Any], Any],
    connect: Callable[[], Any],
    sessions: list[dict[str, Any]],
    timeout: float,
) -> list[list[dict[str, Any]]]:
    """In the answer's process: a thread per session, each with its own connection from
    ``connect()``, its settings set; released together, each calls ``solve(conn)`` its
    ``repeat`` times. Per session, per call: ``{"returned": encoded}`` or ``{"error": ...}``."""
    from dbdojo.checking.sandbox.values import encode

    barrier = threading.Barrier(len(sessions))
    replies: list[list[dict[str, Any]]] = [[] for _ in sessions]

    def one(index: int, session: dict[str, Any]) -> None:
        out = replies[index]
        try:
            conn = connect()
        except Exception as exc:
            out.append({"error": f"could not connect: {type(exc).__name__}: {exc}"})
            return
        try:
            settings = {"session": str(session["number"]), **session["settings"]}
            for key, value in settings.items():
                conn.execute("SELECT set_config(%s, %s, false)", (f"dojo.{key}", value))
            conn.commit()
            barrier.wait(timeout)
            for _ in range(session["repeat"]):
                out.append({"returned": encode(call(solve, conn, timeout))})
        except AnswerError as exc:
            out.append({"error": str(exc), "hint": exc.hint, "timeout": exc.timeout})
        except Exception as exc:  # the barrier, a return value it cannot encode
            out.append({"error": f"{type(exc).__name__}: {exc}"})
        finally:
            with contextlib.suppress(Exception):
                conn.close()

    threads = [threading.Thread(target=one, args=(i, s), daemon=True)
               for i, s in enumerate(sessions)]  # fmt: skip
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return replies


def call(solve: Callable[[Any], Any], conn: Any, timeout: float) -> Any:
    """``solve(conn)``, its failures as the learner reads them; it must leave no transaction
    open (uncommitted work is lost when the connection closes)."""
    import psycopg
    from psycopg.pq import TransactionStatus

    try:
        returned = solve(conn)
    except AnswerError:
        raise
    except psycopg.errors.QueryCanceled as exc:
        raise AnswerError(f"stopped after {timeout:g} s: {exc}", timeout=True) from exc
    except psycopg.errors.SerializationFailure as exc:
        raise AnswerError(
            f"PostgreSQL error: {exc}".strip(),
            "a serialization failure means: roll back and run the whole transaction again "
            "(a retry loop around it), it is not a bug of the server",
        ) from exc
    except psycopg.Error as exc:
        raise AnswerError(f"PostgreSQL error: {exc}".strip()) from exc
    except Exception as exc:
        raise AnswerError(f"{type(exc).__name__}: {exc}") from exc
    if conn.info.transaction_status != TransactionStatus.IDLE:
        conn.rollback()
        raise AnswerError(
            "solve() returned with its transaction still open: its work was not committed",
            "end the work with conn.commit(), or run it in `with conn.transaction():`",
        )
    return returned
