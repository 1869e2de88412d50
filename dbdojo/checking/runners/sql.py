"""Run SQL answers inside a transaction that is always rolled back."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import psycopg

from dbdojo.checking import connections
from dbdojo.checking.result import MAX_ROWS, ResultSet
from dbdojo.checking.runners import AnswerError
from dbdojo.checking.sqltext import controls_transaction, split_statements
from dbdojo.failures import pg_session_lost
from dbdojo.workspace import Workspace

WATCHDOG_GRACE = 0.5  # seconds past the time limit before the kit cancels from outside


@contextmanager
def rolled_back(ws: Workspace, timeout: float, setup: str | None) -> Iterator[psycopg.Cursor]:
    """A cursor in a transaction, as the answer role, with a statement timeout; nothing it
    does is kept.

    The connection is the checker's shared one for ``ws``: after the rollback, ``DISCARD ALL``
    also drops what a rollback does not undo (prepared statements, advisory locks, settings)."""
    conn = connections.answer_pg(ws)
    try:
        conn.autocommit = False
        with conn.cursor() as cur:
            cur.execute(f"SET LOCAL statement_timeout = {max(1, int(timeout * 1000))}")
            if setup:
                execute(cur, setup, timeout, "the exercise's setup")
            yield cur
    finally:
        _release(ws, conn)


def _release(ws: Workspace, conn: psycopg.Connection) -> None:
    try:
        conn.rollback()
        conn.autocommit = True
        conn.execute("DISCARD ALL")
    except psycopg.Error:
        connections.discard_pg(ws)


def statements_of(sql: str, refusal: str, hint: str) -> list[str]:
    """``sql`` split as PostgreSQL's scanner splits it; BEGIN, COMMIT, ROLLBACK (and their
    kin) refused with ``refusal``: the kit controls the transaction."""
    statements = split_statements(sql)
    if any(controls_transaction(s) for s in statements):
        raise AnswerError(refusal, hint)
    return statements


def execute(
    cur: psycopg.Cursor, sql: str, timeout: float, what: str = "", in_transaction: bool = True
) -> None:
    """Run ``sql`` one statement at a time, as PostgreSQL's scanner splits it (inside the
    transaction it must not end, unless ``in_transaction`` is false: the author's
    autocommitting scripts of kind sql-concurrent).

    Each statement goes through the extended query protocol (pipeline mode), which refuses a
    string holding several statements: a piece the split got wrong fails instead of running a
    hidden COMMIT. A watchdog outside the session cancels a statement that outlives the time
    limit, whatever ``statement_timeout`` the answer set."""
    conn = cur.connection
    statements = statements_of(
        sql,
        "answers run inside a transaction that is rolled back: leave out "
        "BEGIN, COMMIT and ROLLBACK",
        "write only the statements themselves",
    )
    for statement in statements:
        watchdog = threading.Timer(timeout + WATCHDOG_GRACE, conn.cancel_safe)
        watchdog.start()
        try:
            with conn.pipeline():
                cur.execute(statement.encode())  # bytes: never parsed for %s placeholders
        except psycopg.errors.QueryCanceled as exc:
            raise AnswerError(
                f"stopped after {timeout:g} s (statement_timeout): the query runs too long",
                "a missing join condition (a cross join) or an unbounded recursion makes a "
                "query run long; so can a correct but slow formulation (a correlated "
                "subquery): look for a join that does the same work at once",
                timeout=True,
            ) from exc
        except psycopg.errors.ActiveSqlTransaction as exc:
            block = "transaction block" in (exc.diag.message_primary or "")
            raise AnswerError(
                f"PostgreSQL: {exc.diag.message_primary}",
                "answers run inside a transaction that is rolled back: leave out "
                "CONCURRENTLY / VACUUM and similar commands"
                if block
                else "SET TRANSACTION comes first, before any query of the transaction",
            ) from exc
        except psycopg.Error as exc:
            if pg_session_lost(exc, conn):
                raise _connection_lost(exc) from exc
            raise _database_error(exc, what) from exc
        finally:
            watchdog.cancel()
        if in_transaction and conn.info.transaction_status != psycopg.pq.TransactionStatus.INTRANS:
            raise AnswerError(
                "the answer ended the transaction it runs in: leave out COMMIT and ROLLBACK"
            )


def _connection_lost(exc: psycopg.Error) -> Exception:
    """Why the session ended: the server is down (not the answer's fault: say how to restart
    it), or the answer ended its own session (pg_terminate_backend)."""
    from dbdojo.connect import ServiceDown, pg_connect

    reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    try:
        with pg_connect(connect_timeout=3) as probe:
            probe.execute("SELECT 1")
    except (ServiceDown, psycopg.Error):
        return ServiceDown("postgres", f"the server died or was stopped during the check: {reason}")
    return AnswerError(
        f"the answer's session was ended ({reason}): an answer must not end its own session",
        "leave out pg_terminate_backend and similar commands",
    )


def _database_error(exc: psycopg.Error, what: str) -> AnswerError:
    diag = exc.diag
    message = diag.message_primary or str(exc).strip().splitlines()[0]
    if diag.message_detail:
        message += f" ({diag.message_detail})"
    prefix = f"PostgreSQL error in {what}" if what else "PostgreSQL error"
    return AnswerError(f"{prefix}: {message}", diag.message_hint or "")


def fetch(cur: psycopg.Cursor, noun: str = "row") -> ResultSet:
    if cur.description is None:
        raise AnswerError("the last statement returns no rows: end with a query (SELECT ...)")
    rows = cur.fetchmany(MAX_ROWS + 1)
    if len(rows) > MAX_ROWS:
        raise AnswerError(f"more than {MAX_ROWS:,} rows: the answer is meant to be much smaller")
    return ResultSet([d.name for d in cur.description], [tuple(r) for r in rows], noun=noun)


def run_query(source: str, ws: Workspace, options: dict[str, Any], timeout: float) -> ResultSet:
    """Kind ``sql``: run the statements, return the last one's rows."""
    with rolled_back(ws, timeout, options.get("setup")) as cur:
        execute(cur, source, timeout)
        return fetch(cur)


def run_ddl(source: str, ws: Workspace, options: dict[str, Any], timeout: float) -> ResultSet:
    """Kind ``sql-ddl``: run the DDL, then the author's catalog probe."""
    with rolled_back(ws, timeout, options.get("setup")) as cur:
        execute(cur, source, timeout)
        execute(cur, options["probe"], timeout, "the catalog check after your DDL")
        return fetch(cur, noun="catalog row")


_PLANNER_SETTINGS = (
    "SELECT name, setting FROM pg_settings WHERE category LIKE 'Query Tuning%' AND context = 'user'"
)


@dataclass
class PlanRun:
    """What a ``sql-plan`` answer gave: the plan of each query, and how many indexes it built."""

    trees: list[dict]
    new_indexes: int  # net: indexes after the answer minus before (negative when it drops)
    new_index_kb: float  # the size of the indexes the answer built


def queries(options: dict[str, Any]) -> list[str]:
    """The ``sql-plan`` queries: ``options.query`` is one query or a workload (a list)."""
    query = options["query"]
    return [query] if isinstance(query, str) else list(query)


_INDEXES = "SELECT array_agg(indexrelid::int) FROM pg_index"
_NEW_INDEXES = (
    "SELECT coalesce(sum(pg_relation_size(indexrelid)), 0) / 1024.0 FROM pg_index "
    "WHERE NOT indexrelid::int = ANY(%s)"
)


def explain(source: str, ws: Workspace, options: dict[str, Any], timeout: float) -> PlanRun:
    """Kind ``sql-plan``: run the statements, then return the JSON plans of the author's
    queries (``EXPLAIN ANALYZE`` when the predicate has a budget of buffers)."""
    with rolled_back(ws, timeout, options.get("setup")) as cur:
        planner = cur.execute(_PLANNER_SETTINGS).fetchall()
        (before,) = cur.execute(_INDEXES).fetchone() or ([],)
        execute(cur, source, timeout)
        (after,) = cur.execute(_INDEXES).fetchone() or ([],)
        (kb,) = cur.execute(_NEW_INDEXES, (before,)).fetchone() or (0,)
        _restore_planner(cur, planner)
        # A budget of buffers needs the plan as run: EXPLAIN ANALYZE runs the author's query.
        how = "ANALYZE, BUFFERS, " if "max_buffers" in options["plan"] else ""
        trees = [_plan(cur, f"EXPLAIN ({how}FORMAT JSON) " + q, timeout) for q in queries(options)]
        return PlanRun(trees, len(after or []) - len(before or []), float(kb))


def answer_plan(source: str, ws: Workspace, options: dict[str, Any], timeout: float) -> dict:
    """Kind ``sql`` with option ``answer_plan``: the plan (``EXPLAIN``, not run) of the
    answer's last statement, after its earlier ones, with the planner settings the exercise's
    setup left."""
    *before, last = statements_of(source, "leave out BEGIN, COMMIT and ROLLBACK", "")
    with rolled_back(ws, timeout, options.get("setup")) as cur:
        planner = cur.execute(_PLANNER_SETTINGS).fetchall()
        for statement in before:
            execute(cur, statement, timeout)
        _restore_planner(cur, planner)
        return _plan(cur, "EXPLAIN (FORMAT JSON) " + last, timeout)


def _restore_planner(cur: psycopg.Cursor, planner: list[tuple[str, str]]) -> None:
    """The plan must come from the answer's queries and schema changes, not from `SET
    enable_seqscan = off` in it: put the planner settings back as the setup left them."""
    cur.execute(
        "SELECT set_config(name, value, true) "
        "FROM unnest(%s::text[], %s::text[]) AS s(name, value)",
        ([n for n, _ in planner], [v for _, v in planner]),
    )


def _plan(cur: psycopg.Cursor, explain: str, timeout: float) -> dict:
    """The plan tree an ``EXPLAIN (... FORMAT JSON)`` statement returns, its indexes described."""
    execute(cur, explain, timeout, "the EXPLAIN")
    (plan,) = cur.fetchone() or (None,)
    if isinstance(plan, str):
        plan = json.loads(plan)
    tree = plan[0]["Plan"]
    _describe_indexes(cur, tree)
    return tree


_INDEX_FACTS = """
SELECT c.relname, i.indpred IS NOT NULL, am.amname
FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_am am ON am.oid = c.relam
WHERE c.relname = ANY(%s)
"""


def _describe_indexes(cur: psycopg.Cursor, tree: dict) -> None:
    """Add what the plan does not say about the indexes it uses: ``Index Partial`` (whether
    it holds only the rows of a WHERE) and ``Index Method`` (btree, gin, hnsw...)."""
    from dbdojo.checking.plan import nodes

    used = [n for n in nodes(tree) if n.get("Index Name")]
    if not used:
        return
    facts = {
        name: (partial, method)
        for name, partial, method in cur.execute(
            _INDEX_FACTS, ([n["Index Name"] for n in used],)
        ).fetchall()
    }
    for node in used:
        if node["Index Name"] in facts:
            node["Index Partial"], node["Index Method"] = facts[node["Index Name"]]
