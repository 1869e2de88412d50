"""Kind sql-concurrent (dbdojo/checking/runners/pg_concurrent.py): the answer runs in several
sessions at once, in lock step, and a probe judges the end state. Races that can happen do
happen (a lost update, a job run twice), correct alternatives pass, forbidden events (a wait,
a deadlock) fail, and hostile answers stay in their scratch schema, as the answer role."""

from __future__ import annotations

import secrets
import time

import pytest

from dbdojo import pgroles
from dbdojo.checking.engine import Checker
from dbdojo.checking.model import Exercise, problems
from dbdojo.checking.runners import pg_concurrent, pg_scratch
from tests.fixtures.checking import require_servers, workspaces

WALLET = """CREATE TABLE wallets (wallet_id int PRIMARY KEY, balance numeric(10,2) NOT NULL);
INSERT INTO wallets VALUES (1, 20.00), (2, 5.00);"""
TOP_UP = {"setup": WALLET, "probe": "SELECT wallet_id, balance FROM wallets ORDER BY wallet_id",
          "sessions": 3, "repeat": 2}  # fmt: skip
STASH = "SELECT set_config('my.balance', balance::text, true) FROM wallets WHERE wallet_id = 1"
LEVEL = "SET TRANSACTION ISOLATION LEVEL"
WRITE_STASHED = (
    "UPDATE wallets SET balance = current_setting('my.balance')::numeric + 10 WHERE wallet_id = 1"
)

QUEUE = """CREATE TABLE jobs (job_id int PRIMARY KEY, status text NOT NULL DEFAULT 'queued');
CREATE TABLE job_runs (job_id int NOT NULL, worker int NOT NULL);
INSERT INTO jobs (job_id) SELECT g FROM generate_series(1, 12) AS g;"""  # 3 x (3 + 1)
QUEUE_OPTIONS = {
    "setup": QUEUE,
    "probe": "SELECT j.job_id, j.status, count(r.job_id) AS runs FROM jobs j "
    "LEFT JOIN job_runs r USING (job_id) GROUP BY j.job_id, j.status ORDER BY j.job_id",
    "sessions": 3,
    "repeat": 3,
    "forbid": ["wait"],
}


def claim(lock: str) -> str:
    return (
        f"WITH next AS (SELECT job_id FROM jobs WHERE status = 'queued' ORDER BY job_id LIMIT 1 "
        f"{lock}), done AS (UPDATE jobs SET status = 'done' FROM next "
        "WHERE jobs.job_id = next.job_id RETURNING jobs.job_id) "
        "INSERT INTO job_runs SELECT job_id, current_setting('dojo.session')::int FROM done"
    )


TRANSFER = {
    "setup": WALLET,
    "probe": "SELECT wallet_id, balance FROM wallets ORDER BY wallet_id",
    "sessions": [{"source": 1, "target": 2}, {"source": 2, "target": 1}],
    "repeat": 2,
    "forbid": ["deadlock"],
}
SOURCE, TARGET = "current_setting('dojo.source')::int", "current_setting('dojo.target')::int"
DEBIT = f"UPDATE wallets SET balance = balance - 1 WHERE wallet_id = {SOURCE}"
CREDIT = f"UPDATE wallets SET balance = balance + 1 WHERE wallet_id = {TARGET}"
BOTH_IN_ORDER = (
    "SELECT wallet_id FROM wallets WHERE wallet_id IN (current_setting('dojo.source')::int, "
    "current_setting('dojo.target')::int) ORDER BY wallet_id FOR NO KEY UPDATE"
)


@pytest.fixture(scope="module")
def checker(request) -> Checker:
    """Concurrent checks need no workspace data: the main fixture workspace, no edges."""
    require_servers(request)
    return Checker(workspaces().main, [])


def ex(reference: str, options: dict, timeout: float | None = None) -> Exercise:
    opts = dict(options, **({"timeout": timeout} if timeout else {}))
    return Exercise("t.concurrent", "test", "sql-concurrent", "-- answer", ["h"], opts,
                    reference=reference, wrong=["a", "b"])  # fmt: skip


def admin_rows(sql: str, params=None) -> list[tuple]:
    with pg_scratch.connect() as conn:
        return conn.execute(sql, params).fetchall()


# --- options ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("options", "complaint"),
    [
        ({"probe": "SELECT 1"}, "options.setup is required"),
        ({"setup": "SELECT 1"}, "options.probe is required"),
        ({**TOP_UP, "sessions": 1}, "2 to 6 sessions"),
        ({**TOP_UP, "sessions": 9}, "2 to 6 sessions"),
        ({**TOP_UP, "sessions": [{"script": "SELECT 1"}] * 2}, "must run the answer"),
        ({**TOP_UP, "sessions": [{"autocommit": True}, {}]}, "only a script session may"),
        ({**TOP_UP, "forbid": ["waits"]}, "'waits' is not one of"),
        ({**TOP_UP, "repeat": 99}, "options.repeat"),
        ({**TOP_UP, "colour": "red"}, "unknown option 'colour'"),
    ],
)
def test_malformed_options_are_named(options, complaint):
    found = problems(ex("SELECT 1", options))
    assert any(complaint in p for p in found), found


def test_well_formed_options_pass_and_two_wrong_answers_are_required():
    assert pg_concurrent.problems(TOP_UP) == []
    one_wrong = Exercise("t.c", "t", "sql-concurrent", "--", ["h"], TOP_UP, reference="SELECT 1",
                         wrong=["x"])  # fmt: skip
    assert any("two planted wrong answers" in p for p in problems(one_wrong))


# --- lost updates ----------------------------------------------------------------------------

LOST = {
    "read in a CTE, then write": "WITH c AS (SELECT balance FROM wallets WHERE wallet_id = 1) "
    "UPDATE wallets SET balance = c.balance + 10 FROM c WHERE wallet_id = 1",
    "read in a subquery evaluated before the lock": "UPDATE wallets SET balance = "
    "(SELECT balance FROM wallets WHERE wallet_id = 1) + 10 WHERE wallet_id = 1",
    "read, then write what was read": f"{STASH}; {WRITE_STASHED}",
    "FOR SHARE: both read, then deadlock on the write": f"{STASH} FOR SHARE; {WRITE_STASHED}",
}
KEPT = {
    "atomic increment": "UPDATE wallets SET balance = balance + 10 WHERE wallet_id = 1",
    "read with FOR UPDATE, then write": f"{STASH} FOR UPDATE; {WRITE_STASHED}",
    "read with FOR NO KEY UPDATE, then write": f"{STASH} FOR NO KEY UPDATE; {WRITE_STASHED}",
    "REPEATABLE READ, retried": f"{LEVEL} REPEATABLE READ; {STASH}; {WRITE_STASHED}",
    "SERIALIZABLE, retried": f"{LEVEL} SERIALIZABLE; {STASH}; {WRITE_STASHED}",
}


@pytest.mark.parametrize("answer", list(LOST.values()), ids=list(LOST))
def test_a_read_then_write_without_a_lock_loses_updates(answer, checker):
    exercise = ex(KEPT["atomic increment"], {**TOP_UP, "forbid": ["deadlock"]})
    verdict = checker.check(exercise, answer)
    assert verdict.status == "failed", verdict.text()
    lost = ("balance=40.00", "balance=50.00")  # 60.00 and 70.00 without a lost update
    assert any(b in verdict.text() for b in lost) or "deadlock" in verdict.message


@pytest.mark.parametrize("answer", list(KEPT.values()), ids=list(KEPT))
def test_correct_formulations_keep_every_top_up(answer, checker):
    verdict = checker.check(ex(KEPT["atomic increment"], TOP_UP), answer)
    assert verdict.passed, verdict.text()


def test_serialization_failures_are_retried_and_said(checker):
    answer = KEPT["REPEATABLE READ, retried"]
    verdict = checker.check(ex(KEPT["atomic increment"], TOP_UP), answer)
    assert verdict.passed and any("serialization failure" in n for n in verdict.notes)
    forbidding = {**TOP_UP, "forbid": ["serialization"]}
    refused = checker.check(ex(KEPT["atomic increment"], forbidding), answer)
    assert refused.status == "failed" and "serialization failure" in refused.message


def test_the_schedule_is_the_same_on_every_run(checker):
    exercise = ex(KEPT["atomic increment"], TOP_UP)
    answer = LOST["read, then write what was read"]
    texts = {checker.check(exercise, answer).text() for _ in range(3)}
    assert len(texts) == 1, texts


# --- queues ----------------------------------------------------------------------------------


def test_a_queue_without_a_lock_runs_jobs_twice(checker):
    verdict = checker.check(ex(claim("FOR UPDATE SKIP LOCKED"), QUEUE_OPTIONS), claim(""))
    assert verdict.status == "failed"
    unforbidden = {**QUEUE_OPTIONS, "forbid": []}
    verdict = checker.check(ex(claim("FOR UPDATE SKIP LOCKED"), unforbidden), claim(""))
    assert verdict.status == "failed" and "runs=3" in verdict.text(), verdict.text()


def test_a_queue_with_for_update_but_without_skip_locked_makes_workers_wait(checker):
    verdict = checker.check(ex(claim("FOR UPDATE SKIP LOCKED"), QUEUE_OPTIONS), claim("FOR UPDATE"))
    assert verdict.status == "failed" and "waited for a lock" in verdict.message


def test_skip_locked_queues_pass_in_other_forms(checker):
    exercise = ex(claim("FOR UPDATE SKIP LOCKED"), QUEUE_OPTIONS)
    update_first = (
        "WITH done AS (UPDATE jobs SET status = 'done' WHERE job_id = (SELECT job_id FROM jobs "
        "WHERE status = 'queued' ORDER BY job_id LIMIT 1 FOR NO KEY UPDATE SKIP LOCKED) "
        "RETURNING job_id) "
        "INSERT INTO job_runs SELECT job_id, current_setting('dojo.session')::int FROM done"
    )
    two_statements = (
        "SELECT set_config('my.job', job_id::text, true) FROM jobs WHERE status = 'queued' "
        "ORDER BY job_id LIMIT 1 FOR UPDATE SKIP LOCKED; "
        "UPDATE jobs SET status = 'done' WHERE job_id = current_setting('my.job')::int; "
        "INSERT INTO job_runs "
        "VALUES (current_setting('my.job')::int, current_setting('dojo.session')::int)"
    )
    for answer in (claim("FOR UPDATE SKIP LOCKED"), update_first, two_statements):
        verdict = checker.check(exercise, answer)
        assert verdict.passed, verdict.text()


# --- deadlocks -------------------------------------------------------------------------------


def test_opposite_lock_orders_deadlock_and_one_order_does_not(checker):
    exercise = ex(f"{BOTH_IN_ORDER}; {DEBIT}; {CREDIT}", TRANSFER)
    verdict = checker.check(exercise, f"{DEBIT}; {CREDIT}")
    assert verdict.status == "failed" and "deadlock" in verdict.message, verdict.text()
    assert checker.check(exercise, f"{BOTH_IN_ORDER}; {DEBIT}; {CREDIT}").passed
    allowed = ex(f"{BOTH_IN_ORDER}; {DEBIT}; {CREDIT}", {**TRANSFER, "forbid": []})
    retried = checker.check(allowed, f"{DEBIT}; {CREDIT}")
    assert retried.passed and any("deadlock" in n for n in retried.notes), retried.text()


def test_script_sessions_run_the_authors_statements(checker):
    options = {
        "setup": "CREATE TABLE parents (id int PRIMARY KEY, note text); "
        "INSERT INTO parents VALUES (1, 'a'); "
        "CREATE TABLE children (parent_id int REFERENCES parents, session int)",
        "probe": "SELECT count(*) AS children FROM children",
        "sessions": [{}, {"script": "SELECT 1; INSERT INTO children VALUES (1, 2)"}],
        "forbid": ["wait"],
    }
    no_key = "SELECT 1 FROM parents WHERE id = 1 FOR NO KEY UPDATE; UPDATE parents SET note = 'b'"
    exercise = ex(no_key, options)
    assert checker.check(exercise, no_key).passed
    blocking = "SELECT 1 FROM parents WHERE id = 1 FOR UPDATE; UPDATE parents SET note = 'b'"
    verdict = checker.check(exercise, blocking)
    assert verdict.status == "failed" and "session 2" in verdict.message, verdict.text()


# --- containment -----------------------------------------------------------------------------

HOSTILE = {
    "transaction control": "UPDATE wallets SET balance = 0; COMMIT",
    "a COMMIT inside DO": "DO $$ BEGIN COMMIT; END $$",
    "the workspace's data": "SELECT count(*) FROM orders",
    "other sessions": "SELECT pg_terminate_backend(pid) FROM pg_stat_activity",
    "cancelling the watcher": "SELECT pg_cancel_backend(pg_backend_pid() - 1)",
    "objects outside its schema": "CREATE TABLE public.evil (a int)",
    "a schema of its own": "CREATE SCHEMA evil",
    "a superuser": "SET ROLE postgres",
    "its own role": "ALTER ROLE dojo_answer SUPERUSER",
    "the database's settings": "ALTER DATABASE dojocheck_concurrent SET deadlock_timeout = '1h'",
    "server files": "SELECT pg_read_file('postgresql.conf')",
    "a program": "COPY wallets TO PROGRAM 'id'",
}


@pytest.mark.parametrize("answer", list(HOSTILE.values()), ids=list(HOSTILE))
def test_hostile_answers_are_refused(answer, checker):
    verdict = checker.check(ex(KEPT["atomic increment"], TOP_UP), answer)
    assert verdict.status in ("failed", "error") and verdict.graded, verdict.text()


def test_a_stalling_answer_is_stopped_and_leaves_no_session_behind(checker):
    exercise = ex(KEPT["atomic increment"], TOP_UP, timeout=1)
    tag = f"stall_{secrets.token_hex(4)}"
    for answer in (
        f"SET application_name = '{tag}'; SET statement_timeout = 0; SELECT pg_sleep(60)",
        f"SET application_name = '{tag}'; SELECT pg_advisory_lock(7); "
        "UPDATE wallets SET balance = balance + 10 WHERE wallet_id = 1",
    ):
        start = time.monotonic()
        verdict = checker.check(exercise, answer)
        assert time.monotonic() - start < 15, "the watchdog did not stop the answer in time"
        assert verdict.status == "error" and "stopped after" in verdict.message, verdict.text()
    left = admin_rows("SELECT count(*) FROM pg_stat_activity WHERE application_name = %s", (tag,))
    assert left == [(0,)]


def test_a_schema_renamed_or_dropped_by_the_answer_is_still_cleaned_up(checker):
    exercise = ex(KEPT["atomic increment"], TOP_UP)
    escaped = f"escaped_{secrets.token_hex(4)}"
    for answer in (
        "DO $$ BEGIN EXECUTE format('ALTER SCHEMA %I RENAME TO "
        f"{escaped}', current_schema()); END $$",
        "DO $$ BEGIN EXECUTE format('DROP SCHEMA %I CASCADE', current_schema()); END $$",
    ):
        verdict = checker.check(exercise, answer)
        assert verdict.status in ("failed", "error"), verdict.text()
    assert admin_rows("SELECT count(*) FROM pg_namespace WHERE nspname = %s", (escaped,)) == [(0,)]


def test_the_scratch_schema_goes_with_its_run():
    with pg_scratch.schema() as name:
        assert admin_rows("SELECT nspowner::regrole::text FROM pg_namespace WHERE nspname = %s",
                          (name,)) == [(pgroles.ANSWER,)]  # fmt: skip
    assert admin_rows("SELECT count(*) FROM pg_namespace WHERE nspname = %s", (name,)) == [(0,)]


def test_answers_run_as_the_answer_role_not_the_kit(checker):
    exercise = ex(
        "INSERT INTO seen SELECT current_user, session_user",
        {"setup": "CREATE TABLE seen (current_name name, session_name name)",
         "probe": "SELECT DISTINCT current_name, session_name FROM seen"},
    )  # fmt: skip
    verdict = checker.check(exercise, "INSERT INTO seen SELECT 'dojo_answer', 'dojo_answer'")
    assert verdict.passed, verdict.text()


def test_an_isolation_level_set_too_late_is_explained(checker):
    late = f"{STASH}; SET TRANSACTION ISOLATION LEVEL SERIALIZABLE; {WRITE_STASHED}"
    verdict = checker.check(ex(KEPT["atomic increment"], TOP_UP), late)
    assert verdict.status == "error" and "SET TRANSACTION comes first" in verdict.hint


# --- the server-wide snapshot horizon (option quiet) -----------------------------------------

OUTBOX = {
    "setup": "CREATE TABLE outbox (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, "
    "txid xid8 NOT NULL DEFAULT pg_current_xact_id(), payload text NOT NULL); "
    "CREATE TABLE relay_position (last_xmin xid8 NOT NULL); "
    "INSERT INTO relay_position VALUES ('0'); "
    "CREATE TABLE delivered (message_id bigint NOT NULL)",
    "probe": "SELECT (SELECT count(*) FROM outbox) AS written, count(*) AS deliveries, "
    "count(DISTINCT message_id) AS delivered_once FROM delivered",
    "sessions": [
        {"script": "INSERT INTO outbox (payload) VALUES ('slow'); SELECT 1; SELECT 1"},
        {"script": "INSERT INTO outbox (payload) VALUES ('fast')"},
        {"repeat": 4},
    ],
    "vary": False,
}
RELAY = (
    "WITH bounds AS (SELECT last_xmin AS since, pg_snapshot_xmin(pg_current_snapshot()) AS upto "
    "FROM relay_position), moved AS (UPDATE relay_position SET last_xmin = (SELECT upto FROM "
    "bounds)) INSERT INTO delivered (message_id) SELECT o.id FROM outbox o, bounds "
    "WHERE o.txid >= bounds.since AND o.txid < bounds.upto ORDER BY o.txid, o.id"
)


def open_transaction_elsewhere():
    """A connection to another database with a transaction holding a transaction id."""
    conn = pg_scratch.connect(autocommit=False, dbname="postgres")
    conn.execute("SELECT pg_current_xact_id()")
    return conn


def test_a_transaction_elsewhere_on_the_server_changes_a_relays_outcome(checker):
    """Why ``quiet`` exists: the horizon is the server's, so an open transaction in another
    database holds the same correct relay back (it delivers nothing)."""
    reference = checker.run(ex(RELAY, OUTBOX), RELAY, checker.workspace, trusted=True)
    holder = open_transaction_elsewhere()
    try:
        held = checker.run(ex(RELAY, OUTBOX), RELAY, checker.workspace, trusted=True)
    finally:
        holder.close()
    assert reference.rows == [(2, 2, 2)] and held.rows == [(2, 0, 0)], (reference, held)


def test_a_quiet_check_waits_for_other_transactions_to_end(checker):
    import threading

    exercise = ex(RELAY, {**OUTBOX, "quiet": True})
    holder = open_transaction_elsewhere()
    threading.Timer(1.0, holder.close).start()
    started = time.monotonic()
    verdict = checker.check(exercise, RELAY)
    assert verdict.passed and time.monotonic() - started >= 0.9, verdict.text()


def test_a_quiet_check_that_cannot_get_a_quiet_server_says_who_holds_it(checker, monkeypatch):
    monkeypatch.setattr(pg_concurrent, "QUIET_WAIT", 0.5)
    holder = open_transaction_elsewhere()
    pid = holder.info.backend_pid
    try:
        verdict = checker.check(ex(RELAY, {**OUTBOX, "quiet": True, "timeout": 2}), RELAY)
    finally:
        holder.close()
    assert verdict.status == "error" and not verdict.graded, verdict.text()
    assert f"pid {pid}" in verdict.message and "postgres" in verdict.message


# --- on MariaDB (options.database: mysql; runners/mysql_concurrent.py) -----------------------

BATCH = {
    "database": "mysql",
    "setup": "CREATE TABLE orders (id INT AUTO_INCREMENT PRIMARY KEY, status VARCHAR(10) NOT "
    "NULL); INSERT INTO orders (status) VALUES ('done'), ('new'), ('done')",
    "probe": "SELECT status, COUNT(*) AS n FROM orders GROUP BY status ORDER BY status",
    "sessions": [
        {},
        {"script": "DO 0; DO 0; INSERT INTO orders (status) VALUES ('new')", "autocommit": True},
    ],
    "forbid": ["wait"],
}
ARCHIVE = "UPDATE orders SET status = 'archived' WHERE status = 'done'"


@pytest.mark.parametrize(("level", "waits"), [("REPEATABLE READ", True), ("READ COMMITTED", False)])
def test_mariadb_gap_locks_are_seen_and_read_committed_has_none(checker, level, waits):
    """A batch scanning an unindexed column at REPEATABLE READ next-key locks the whole table,
    the gap after the last row too: the script's insert (its third statement, so after the
    batch's UPDATE and before its COMMIT) waits for it, and the wait is seen. At READ
    COMMITTED it does not."""
    from tests.helpers import require_mysql_binary

    require_mysql_binary()
    reference = f"SET TRANSACTION ISOLATION LEVEL READ COMMITTED; {ARCHIVE}"
    verdict = checker.check(
        ex(reference, BATCH), f"SET TRANSACTION ISOLATION LEVEL {level}; {ARCHIVE}"
    )
    assert (verdict.status == "failed") is waits, verdict
    assert ("waited for a lock" in verdict.text()) is waits, verdict.text()


def test_mariadb_deadlocks_are_retried_and_may_be_forbidden(checker):
    """Two sessions take one gap lock with FOR UPDATE on a missing row, then both insert into
    it: InnoDB's deadlock (1213) rolls one back; it runs again, unless forbidden."""
    from tests.helpers import require_mysql_binary

    require_mysql_binary()
    options = {
        "database": "mysql",
        "setup": "CREATE TABLE c (k INT PRIMARY KEY, n INT NOT NULL); "
        "INSERT INTO c VALUES (1, 1), (9, 1)",
        "probe": "SELECT k, n FROM c ORDER BY k",
    }
    answer = (
        "SELECT n FROM c WHERE k = 5 FOR UPDATE; INSERT IGNORE INTO c VALUES (5, 0); "
        "UPDATE c SET n = n + 1 WHERE k = 5"
    )
    upsert = "INSERT INTO c VALUES (5, 1) ON DUPLICATE KEY UPDATE n = n + 1"
    retried = checker.check(ex(upsert, options), answer)
    assert retried.passed and any("deadlock" in n for n in retried.notes), retried
    forbidden = checker.check(ex(upsert, {**options, "forbid": ["deadlock"]}), answer)
    assert forbidden.status == "failed" and "deadlock" in forbidden.text(), forbidden
