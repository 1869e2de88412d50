"""sql-concurrent in Python (options.form: python, dbdojo/checking/runners/pg_concurrent_py.py):
the answer's solve(conn) runs in the sandbox from several sessions at once, each message held a
few milliseconds; the probe judges the end state. No retry, no lock and an open transaction are
caught; correct alternatives pass; the sessions reach their scratch schema's tables only."""

from __future__ import annotations

import pytest

from dbdojo.checking.engine import Checker
from dbdojo.checking.model import Exercise, problems
from dbdojo.checking.runners import pg_scratch
from tests.fixtures.checking import require_servers, workspaces

WALLET = """CREATE TABLE wallets (wallet_id int PRIMARY KEY, balance numeric(10,2) NOT NULL);
INSERT INTO wallets VALUES (1, 100.00);"""
OPTIONS = {"form": "python", "setup": WALLET, "probe": "SELECT balance FROM wallets",
           "sessions": 4, "repeat": 2, "timeout": 20}  # fmt: skip

RETRIED = """import psycopg


def solve(conn):
    conn.isolation_level = psycopg.IsolationLevel.SERIALIZABLE
    while True:
        try:
            with conn.transaction():
                (b,) = conn.execute("SELECT balance FROM wallets WHERE wallet_id = 1").fetchone()
                conn.execute("UPDATE wallets SET balance = %s WHERE wallet_id = 1", (b + 10,))
            return float(b)
        except psycopg.errors.SerializationFailure:
            continue
"""
ATOMIC = """def solve(conn):
    with conn.transaction():
        conn.execute("UPDATE wallets SET balance = balance + 10 WHERE wallet_id = 1")
"""
LOCKED = """def solve(conn):
    (b,) = conn.execute("SELECT balance FROM wallets WHERE wallet_id = 1 FOR UPDATE").fetchone()
    conn.execute("UPDATE wallets SET balance = %s WHERE wallet_id = 1", (b + 10,))
    conn.commit()
"""
NO_RETRY = RETRIED.replace("continue", "raise")
LOST = """def solve(conn):
    (b,) = conn.execute("SELECT balance FROM wallets WHERE wallet_id = 1").fetchone()
    conn.execute("UPDATE wallets SET balance = %s WHERE wallet_id = 1", (b + 10,))
    conn.commit()
"""
OPEN = """def solve(conn):
    conn.execute("UPDATE wallets SET balance = balance + 10 WHERE wallet_id = 1")
"""
WRITES_END_STATE = """def solve(conn):
    conn.execute("UPDATE wallets SET balance = 180 WHERE wallet_id = 1")
    conn.commit()
"""


@pytest.fixture(scope="module")
def checker(request) -> Checker:
    require_servers(request)
    return Checker(workspaces().main, [])


def ex(options: dict = OPTIONS) -> Exercise:
    return Exercise("t.concurrent-py", "test", "sql-concurrent", "def solve(conn):\n    ...",
                    ["h"], dict(options), reference=RETRIED, wrong=["a", "b"],
                    difficulty="hard")  # fmt: skip


def test_script_sessions_and_other_forbidden_events_are_refused():
    assert problems(ex({**OPTIONS, "form": "ruby"}))
    assert any(
        "no script" in p
        for p in problems(ex({**OPTIONS, "sessions": [{}, {"script": "SELECT 1"}]}))
    )
    assert any("lock waits only" in p for p in problems(ex({**OPTIONS, "forbid": ["deadlock"]})))
    assert problems(ex()) == []


@pytest.mark.parametrize("answer", [ATOMIC, LOCKED], ids=["atomic", "for update"])
def test_correct_alternatives_pass(answer, checker):
    verdict = checker.check(ex(), answer)
    assert verdict.passed, verdict.text()


@pytest.mark.parametrize(
    ("answer", "said"),
    [
        (NO_RETRY, "could not serialize access"),
        (LOST, "missing"),
        (OPEN, "transaction still open"),
        (WRITES_END_STATE, "missing"),
    ],
    ids=["no retry", "lost update", "left open", "writes the end state"],
)
def test_mistakes_are_caught(answer, said, checker):
    verdict = checker.check(ex(), answer)
    assert verdict.status in ("failed", "error") and said in verdict.text(), verdict.text()


QUEUE = {
    "form": "python",
    "setup": "CREATE TABLE jobs (job_id int PRIMARY KEY, done boolean NOT NULL DEFAULT false);\n"
    "INSERT INTO jobs (job_id) SELECT g FROM generate_series(1, 12) AS g;",
    "probe": "SELECT job_id, done FROM jobs ORDER BY job_id",
    "sessions": 3,
    "repeat": 3,
    "forbid": ["wait"],
    "timeout": 20,
}
CLAIM = """def solve(conn):
    with conn.transaction():
        row = conn.execute("SELECT job_id FROM jobs WHERE NOT done ORDER BY job_id LIMIT 1 "
                           "FOR UPDATE {lock}").fetchone()
        conn.execute("SELECT pg_sleep(0.05)")
        conn.execute("UPDATE jobs SET done = true WHERE job_id = %s", row)
"""


def test_a_worker_that_waits_for_a_lock_fails_when_waits_are_forbidden(checker):
    exercise = ex(QUEUE)
    exercise.reference = CLAIM.format(lock="SKIP LOCKED")
    verdict = checker.check(exercise, CLAIM.format(lock=""))
    assert verdict.status == "failed" and "waited for a lock" in verdict.text(), verdict.text()


@pytest.mark.parametrize(
    "reach",
    [
        "conn.execute('CREATE TABLE mine (x int)')",
        "conn.execute('SELECT count(*) FROM pg_authid')",
        "conn.execute('SET ROLE dojo_answer')",
        "conn.execute('SELECT pg_terminate_backend(pg_backend_pid() + 1)')",
        "__import__('psycopg').connect(__import__('os').environ['DOJO_POSTGRES_URL'].replace("
        "'/dojocheck_concurrent', '/postgres'))",
    ],
    ids=["create", "catalog secrets", "answer role", "other sessions", "another database"],
)
def test_the_sessions_reach_their_tables_only(reach, checker):
    verdict = checker.check(ex(), f"def solve(conn):\n    {reach}\n    conn.commit()\n")
    assert verdict.status in ("failed", "error") and verdict.graded, verdict.text()


def test_the_sessions_role_may_use_its_schema_only_and_is_dropped_after(checker):
    with pg_scratch.schema() as schema:
        with pg_scratch.writer(schema, 5) as (role, _):
            with pg_scratch.connect() as admin:
                rights = admin.execute(
                    "SELECT has_schema_privilege(%s, %s, 'USAGE'), "
                    "has_schema_privilege(%s, %s, 'CREATE'), "
                    "has_schema_privilege(%s, 'public', 'USAGE')",
                    (role, schema, role, schema, role),
                ).fetchone()
            assert rights == (True, False, False)
        with pg_scratch.connect() as admin:
            left = admin.execute("SELECT count(*) FROM pg_roles WHERE rolname = %s", (role,))
            assert left.fetchone() == (0,)
