"""What makes checking fast stays correct: shared connections survive a reset and leave
nothing behind, reference results are reused only on the same seeded data, stored digests
refuse a workspace seeded at another scale.

Uses the fixture workspaces of tests/fixtures/checking, plus a ``dataset_info`` table written
here into the edge one (the fixture has none, so nothing else is cached)."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from dbdojo.checking import connections, refcache
from dbdojo.checking.engine import Checker
from dbdojo.checking.model import Exercise
from dbdojo.connect import pg_connect
from tests.fixtures.checking import FixtureWorkspaces, require_servers, workspaces

COUNT = "SELECT count(*) AS n FROM orders"
TABLE = "CREATE TABLE IF NOT EXISTS dataset_info (key text PRIMARY KEY, value text)"


@pytest.fixture(scope="module")
def fx(request) -> FixtureWorkspaces:
    require_servers(request)
    return workspaces()


@pytest.fixture
def checksum(fx) -> Iterator[Callable[[str], None]]:
    """Set the edge workspace's seeded checksum (a ``dataset_info`` row); dropped after."""

    def set_to(value: str) -> None:
        with pg_connect(fx.edge) as conn:
            conn.execute(
                "CREATE TABLE IF NOT EXISTS dataset_info (key text PRIMARY KEY, value text)"
            )
            conn.execute(
                "INSERT INTO dataset_info VALUES ('checksum', %s), ('scale', 'tiny'), "
                "('seed', '1'), ('generator_version', '2') "
                "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                (value,),
            )

    refcache.clear()
    yield set_to
    with pg_connect(fx.edge) as conn:
        conn.execute("DROP TABLE IF EXISTS dataset_info")
    refcache.clear()


def sql_exercise(reference: str, **options) -> Exercise:
    return Exercise("t.reuse", "t", "sql", "--", ["h"], options, reference=reference, wrong=[])


def test_edge_reference_is_reused_on_the_same_checksum_only(fx, checksum):
    checker = Checker(fx.main, [fx.edge], fx.redis_source)
    exercise = sql_exercise(COUNT)
    checksum("a")
    assert checker.check(exercise, COUNT).passed
    with pg_connect(fx.edge) as conn:  # a change the checksum does not record
        conn.execute(
            "INSERT INTO orders VALUES (999999, NULL, 1, 'delivered', '2025-01-01T00:00:00Z')"
        )
        try:
            # the reused reference does not count the new row: the answer does
            assert not checker.check(exercise, COUNT).passed
            checksum("b")  # a new seed: the reference runs again
            assert checker.check(exercise, COUNT).passed
        finally:
            conn.execute("DELETE FROM orders WHERE order_id = 999999")


def test_main_reference_is_reused_only_when_asked(fx, checksum):
    checksum("a")
    exercise = sql_exercise(COUNT)
    assert Checker(fx.main, [], fx.redis_source).check(exercise, COUNT).passed
    assert refcache._results == {}  # main has no checksum here, and cache_main is off
    cached = Checker(fx.edge, [], fx.redis_source, cache_main=True)
    assert cached.check(exercise, COUNT).passed
    assert len(refcache._results) == 1


def test_shared_connection_survives_a_terminated_session(fx):
    checker = Checker(fx.main, [fx.edge], fx.redis_source)
    exercise = sql_exercise(COUNT)
    assert checker.check(exercise, COUNT).passed
    pid = connections.pg(fx.main).info.backend_pid
    with pg_connect(fx.main) as admin:  # what a reset does to the workspace's sessions
        admin.execute("SELECT pg_terminate_backend(%s)", (pid,))
    assert checker.check(exercise, COUNT).passed
    assert connections.pg(fx.main).info.backend_pid != pid


def test_an_answer_leaves_nothing_on_the_shared_connection(fx):
    checker = Checker(fx.main, [], fx.redis_source)
    exercise = sql_exercise(COUNT)
    answer = f"PREPARE leftover AS SELECT 1; SELECT pg_advisory_lock(42); {COUNT}"
    assert checker.check(exercise, answer).passed
    conn = connections.pg(fx.main)
    assert conn.execute("SELECT count(*) FROM pg_prepared_statements").fetchone() == (0,)
    assert conn.execute(
        "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid()"
    ).fetchone() == (0,)


@pytest.mark.parametrize("control", ["COMMIT", "ROLLBACK", "BEGIN", "END"])
def test_transaction_control_in_an_answer_is_refused(fx, control):
    checker = Checker(fx.main, [], fx.redis_source)
    answer = f"UPDATE orders SET total = 0; {control}; {COUNT}"
    verdict = checker.check(sql_exercise(COUNT), answer)
    assert verdict.status == "error" and "leave out BEGIN, COMMIT and ROLLBACK" in verdict.message
    with pg_connect(fx.main) as conn:
        assert conn.execute("SELECT sum(total) FROM orders").fetchone()[0] > 0


def test_rollback_to_a_savepoint_is_allowed(fx):
    checker = Checker(fx.main, [], fx.redis_source)
    answer = f"SAVEPOINT s; UPDATE orders SET total = 0; ROLLBACK TO SAVEPOINT s; {COUNT}"
    assert checker.check(sql_exercise(COUNT), answer).passed


def test_stored_digests_refuse_another_scale(fx, checksum):
    checksum("a")
    checker = Checker(fx.edge, [], fx.redis_source)
    expected = checker.expectation(sql_exercise(COUNT))
    built = {"scale": "default", "seed": "1", "generator_version": "2"}
    expected.dataset = built
    student = Exercise("t.reuse", "t", "sql", "--", ["h"], expected=expected.to_dict())
    verdict = checker.check(student, COUNT)
    assert verdict.status == "error", verdict.text()
    assert "'default' scale" in verdict.message and "yours is 'tiny'" in verdict.message
    assert "dojo seed --scale default" in verdict.message
    expected.dataset = {**built, "scale": "tiny"}
    same = Exercise("t.reuse", "t", "sql", "--", ["h"], expected=expected.to_dict())
    assert checker.check(same, COUNT).passed
