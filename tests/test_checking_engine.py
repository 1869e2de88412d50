"""The engine on real servers: every kind, edge cases, timeouts, rollback, stored digests.

Uses the small fixture workspaces of tests/fixtures/checking (a main-like and an edge one)."""

from __future__ import annotations

import time

import pytest

from dbdojo.checking import plan as plans
from dbdojo.checking.engine import Checker, Expectation
from dbdojo.checking.model import Exercise, problems
from tests.fixtures.checking import require_servers, workspaces

SPEND = (
    "SELECT customer_id, sum(total) AS spent FROM orders WHERE status = 'delivered' "
    "GROUP BY customer_id ORDER BY spent DESC, customer_id"
)


@pytest.fixture(scope="module")
def checker(request) -> Checker:
    require_servers(request)
    fx = workspaces()
    return Checker(fx.main, [fx.edge], fx.redis_source)


def ex(kind: str, reference: str, starter: str = "-- your answer", **options) -> Exercise:
    return Exercise(
        f"t.{kind}",
        "test",
        kind,
        starter=starter,
        hints=["h"],
        reference=reference,
        options=options,
    )


def student(exercise: Exercise, checker: Checker) -> Exercise:
    """The same exercise as a student build holds it: digests, no reference."""
    expected = checker.expectation(exercise).to_dict()
    return Exercise(
        exercise.id,
        exercise.title,
        exercise.kind,
        exercise.starter,
        exercise.hints,
        exercise.options,
        reference=None,
        expected=expected,
    )


def test_reference_passes_and_starter_is_not_answered(checker):
    spend = ex("sql", SPEND)
    assert checker.check(spend, SPEND).passed
    verdict = checker.check(spend, "-- your answer\n")
    assert verdict.status == "not-answered" and "not answered yet" in verdict.message


def test_targets_run_together_on_threads_reused_from_check_to_check(checker, monkeypatch):
    """An SQL check runs its targets at once on the process's pool, never on new threads:
    libpg_query takes a pthread key in every new thread that parses (1,024 per process; a CI
    run ran out of them, and matplotlib's import failed after)."""
    import threading

    from dbdojo.checking import threads

    seen: set[str] = set()
    run = Checker.run

    def spy(self, *args, **kwargs):
        seen.add(threading.current_thread().name)
        return run(self, *args, **kwargs)

    monkeypatch.setattr(Checker, "run", spy)
    spend = ex("sql", SPEND)
    for _ in range(3):
        assert checker.check(spend, SPEND).passed
    assert seen and all(name.startswith("dojo-check") for name in seen), seen
    assert len(seen) <= threads.WORKERS


def test_the_pool_keeps_pthread_keys_bounded():
    """1,100 parses on the pool, then a library that needs a pthread key still loads (with a
    thread per parse it fails: "could not initialize the TSS key")."""
    import subprocess
    import sys

    script = (
        "from dbdojo.checking import threads\n"
        "from dbdojo.checking.sqltext import split_statements\n"
        "for _ in range(1100):\n"
        "    threads.pool().submit(split_statements, 'SELECT 1; SELECT 2').result()\n"
        "import matplotlib.cbook\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-500:]


def test_wrong_filter_reports_missing_and_extra_rows(checker):
    verdict = checker.check(ex("sql", SPEND), SPEND.replace("WHERE status = 'delivered' ", ""))
    assert verdict.status == "failed"
    assert "1 row missing" in verdict.message and "should not be there" in verdict.message


def test_right_rows_wrong_order(checker):
    answer = SPEND.replace("ORDER BY spent DESC, customer_id", "ORDER BY customer_id")
    verdict = checker.check(ex("sql", SPEND), answer)
    assert "right rows, wrong order" in verdict.message


def test_a_query_right_by_accident_fails_on_the_edge_data(checker):
    count = ex("sql", "SELECT count(*) AS n FROM customers")
    verdict = checker.check(count, "SELECT count(city) AS n FROM customers")  # NULL city in edge
    assert verdict.status == "failed" and verdict.target.endswith("_edge")
    assert "right on the main data" in verdict.message


def test_database_error_is_shown_with_its_message(checker):
    verdict = checker.check(ex("sql", SPEND), "SELECT nope FROM orders")
    assert verdict.status == "error" and 'column "nope" does not exist' in verdict.message


@pytest.mark.parametrize(
    "answer",
    ["SELEC customer_id FROM orders", "SELECT 1;\nSELEC count(*) AS n FROM orders;"],
)
def test_a_misspelt_statement_gets_the_servers_syntax_error(checker, answer):
    """libpg_query's own split dropped a statement it knew no keyword of: the answer read as
    empty, or as its other statements alone."""
    verdict = checker.check(ex("sql", SPEND), answer)
    assert verdict.status == "error" and 'syntax error at or near "SELEC"' in verdict.message


def test_statements_split_as_the_server_scans_them():
    from dbdojo.checking.sqltext import controls_transaction, split_statements

    body = "CREATE FUNCTION f() RETURNS int AS $$ SELECT 1; $$ LANGUAGE sql"
    assert split_statements(f"{body}; SELECT f(); -- done") == [body, "SELECT f()"]
    assert split_statements("SELECT 'a;b' /* ; */;; -- x") == ["SELECT 'a;b' /* ; */"]
    assert split_statements("-- nothing here") == split_statements(" ; ;") == []
    assert split_statements("SELECT 1; SELECT 'open") == ["SELECT 1; SELECT 'open"]
    atomic = (
        "CREATE FUNCTION f(x int) RETURNS int LANGUAGE sql BEGIN ATOMIC "
        "SELECT CASE WHEN x > 0 THEN 1 ELSE 2 END; END"
    )
    assert split_statements(f"{atomic};\nSELECT f(1);") == [atomic, "SELECT f(1)"]
    assert [controls_transaction(s) for s in ("/* x */ commit", "END", "start transaction")] == [
        True,
        True,
        True,
    ]
    assert not any(map(controls_transaction, ("rollback to savepoint a", "PREPARE p AS SELECT 1")))


def test_long_query_is_stopped(checker):
    verdict = checker.check(ex("sql", "SELECT 1 AS x", timeout=0.5), "SELECT pg_sleep(3) AS x")
    assert verdict.status == "error" and "statement_timeout" in verdict.message


def test_the_time_limit_stops_answers_and_leaves_references_room(checker):
    """A reference is the kit's own: a loaded machine must not fail it at the answers' limit."""
    slow = "SELECT 1 AS x FROM pg_sleep(1.2)"
    exercise = ex("sql", slow, timeout=0.5)
    assert "main" in checker.expectation(exercise).targets  # the reference ran past 0.5 s
    verdict = checker.check(exercise, slow)
    assert verdict.status == "error" and "statement_timeout" in verdict.message


def test_answers_never_change_the_data(checker):
    answer = "DELETE FROM orders; SELECT customer_id, 0 AS spent FROM customers"
    assert not checker.check(ex("sql", SPEND), answer).passed
    assert checker.check(ex("sql", SPEND), SPEND).passed  # the orders are all still there


def test_ddl_checked_through_the_catalog(checker):
    probe = (
        "SELECT column_name::text, data_type::text, is_nullable::text "
        "FROM information_schema.columns WHERE table_name = 'notes' "
        "UNION ALL SELECT contype::text, NULL, NULL FROM pg_constraint "
        "WHERE conrelid = to_regclass('notes')"
    )
    ddl = ex("sql-ddl", "CREATE TABLE notes (id int PRIMARY KEY, body text NOT NULL)", probe=probe)
    assert checker.check(
        ddl, "create table notes (body text not null, id integer primary key)"
    ).passed
    assert not checker.check(ddl, "CREATE TABLE notes (id int, body text)").passed
    verdict = checker.check(ddl, "CREATE TABLE other (id int)")
    assert "missing" in verdict.message


def test_plan_predicate_on_the_json_plan(checker):
    plan = ex(
        "sql-plan",
        "CREATE INDEX ON orders (status)",
        query="SELECT order_id FROM orders WHERE status = 'x'",
        setup="SET LOCAL enable_seqscan = off",
        plan={"avoids": [{"Node Type": "Seq Scan", "Relation Name": "orders"}]},
    )
    assert checker.check(plan, "CREATE INDEX ON orders (status)").passed
    verdict = checker.check(plan, "CREATE INDEX ON orders (total)")
    assert verdict.status == "failed" and "Seq Scan on orders" in verdict.message
    assert any("your plan" in n for n in verdict.notes)


def test_planner_settings_in_the_answer_do_not_pass_a_plan_check(checker):
    plan = ex(
        "sql-plan",
        "CREATE INDEX ON orders (order_id) INCLUDE (status)",
        query="SELECT order_id FROM orders WHERE order_id > 0",
        plan={"uses": [{"Node Type": "Index Only Scan", "Relation Name": "orders"}]},
    )
    # forcing the planner's hand is not an answer: its settings are put back before EXPLAIN
    forced = "SET enable_seqscan = off; SET enable_bitmapscan = off"
    verdict = checker.check(plan, forced)
    assert verdict.status == "failed", verdict


def test_an_sql_answer_with_the_right_rows_but_the_plan_the_prompt_rules_out_fails(checker):
    """Option answer_plan: the answer's own plan (EXPLAIN of its last statement) is judged,
    with the planner settings the setup left (an answer cannot switch scans off itself)."""
    by_key = "SELECT order_id, total FROM orders WHERE order_id = 3"
    exercise = ex(
        "sql",
        by_key,
        setup="SET LOCAL enable_seqscan = off",
        answer_plan={"avoids": [{"Node Type": "Seq Scan", "Relation Name": "orders"}]},
    )
    assert checker.check(exercise, by_key).passed
    in_list = "SELECT order_id, total FROM orders WHERE order_id IN (3)"
    assert checker.check(exercise, in_list).passed
    unindexable = "SELECT order_id, total FROM orders WHERE order_id + 0 = 3"
    verdict = checker.check(exercise, unindexable)
    assert verdict.status == "failed", verdict.text()
    assert verdict.message.startswith("your rows are right, but the plan still uses Seq Scan")
    no_setup = ex("sql", by_key, answer_plan=exercise.options["answer_plan"])
    forced = f"SET enable_seqscan = off; {unindexable}"
    assert checker.check(no_setup, forced).status == "failed"


def test_commands_rules_read_an_sql_answers_statements_in_order(checker):
    rule = {"over": "log", "match": r"^SET [^\n]*\n(?:.*\n)*?CREATE TABLE ", "message": "SET first"}
    ddl = ex(
        "sql-ddl",
        "SET LOCAL lock_timeout = '2s'; CREATE TABLE t_new (id int)",
        probe="SELECT current_setting('lock_timeout') AS timeout, to_regclass('t_new') AS made",
        commands={"uses": [rule]},
    )
    spaced = "set  local lock_timeout = '2s';\n\nCREATE TABLE t_new (id int)"
    assert checker.check(ddl, spaced).passed
    late = checker.check(ddl, "CREATE TABLE t_new (id int); SET LOCAL lock_timeout = '2s'")
    assert late.status == "failed" and late.message == "SET first", late.text()


def test_answer_plan_is_only_for_postgresql_sql_exercises():
    spec = {"avoids": [{"Node Type": "Seq Scan"}]}
    assert not any("answer_plan" in p for p in problems(ex("sql", "SELECT 1", answer_plan=spec)))
    for wrong in (
        ex("mongo-query", "{}", collection="orders", answer_plan=spec),
        ex("sql", "SELECT 1", answer_plan={"max_buffers": 10}),
        ex("sql", "SELECT 1", database="mysql", answer_plan=spec),
    ):
        assert any("answer_plan" in p for p in problems(wrong)), wrong


BIG = (
    "CREATE TABLE big AS SELECT g AS id, g % 500 AS k, md5(g::text) AS pad "
    "FROM generate_series(1, 20000) AS g; ANALYZE big"
)


def test_plan_budgets_on_buffers_indexes_and_their_size(checker):
    workload = ["SELECT id FROM big WHERE k = 7", "SELECT count(*) FROM big WHERE k = 7"]
    plan = ex(
        "sql-plan",
        "CREATE INDEX ON big (k)",
        query=workload,
        setup=BIG,
        plan={"max_buffers": 60},
        max_indexes=1,
        max_index_kb=800,
    )
    assert checker.check(plan, "CREATE INDEX ON big (k)").passed
    verdict = checker.check(plan, "CREATE INDEX ON big (id)")  # no help: a seq scan per query
    assert verdict.status == "failed" and verdict.message.startswith("query 1: the query still")
    assert "query 2:" in verdict.details[0] and "blocks" in verdict.notes[0]
    verdict = checker.check(plan, "CREATE INDEX ON big (k); CREATE INDEX ON big (id)")
    assert verdict.status == "failed" and "adds 2 index(es); the budget is 1" in verdict.message
    verdict = checker.check(plan, "CREATE INDEX ON big (k, pad)")  # fast, but a heavy index
    assert verdict.status == "failed" and "kB; the budget is 800 kB" in verdict.message


def test_a_negative_index_budget_asks_to_drop(checker):
    plan = ex(
        "sql-plan",
        "DROP INDEX big_pad",
        query="SELECT id FROM big WHERE k = 7",
        setup=BIG + "; CREATE INDEX big_k ON big (k); CREATE INDEX big_pad ON big (pad)",
        plan={"avoids": [{"Node Type": "Seq Scan", "Relation Name": "big"}]},
        max_indexes=-1,
    )
    assert checker.check(plan, "DROP INDEX big_pad").passed
    assert "1 fewer index" in checker.check(plan, "SELECT 1").message
    assert "Seq Scan on big" in checker.check(plan, "DROP INDEX big_k").message


def test_plan_figures():
    node = {"Plan Rows": 300, "Actual Rows": 1, "Actual Loops": 1}
    assert plans.estimate_factor(node) == 300
    assert plans.estimate_factor({"Plan Rows": 5}) is None  # not analyzed
    assert plans.estimate_factor({"Plan Rows": 0, "Actual Rows": 0}) == 1
    parallel = {
        "Actual Total Time": 10.0,
        "Actual Loops": 3,
        "Plans": [{"Actual Total Time": 4.0, "Actual Loops": 3}],
    }
    assert plans.self_time(parallel) == pytest.approx(18.0)  # one process: loops add up
    assert plans.self_time(parallel, processes=3) == pytest.approx(6.0)  # side by side
    assert plans.buffers({"Shared Hit Blocks": 3, "Shared Read Blocks": 4}) == 7
    # a subplan's time counts in the subplan, not in the node whose filter ran it
    initplan = {"Node Type": "Aggregate", "Parent Relationship": "InitPlan",
                "Subplan Name": "InitPlan 1", "Actual Total Time": 60.0}  # fmt: skip
    scan = {"Node Type": "Index Scan", "Parent Relationship": "Outer",
            "Filter": "(total > (InitPlan 1).col1)", "Actual Total Time": 95.0}  # fmt: skip
    limit = {"Node Type": "Limit", "Actual Total Time": 100.0, "Plans": [initplan, scan]}
    owed = plans.subplan_times(limit)
    selves = [plans.self_time(n, subplans=owed) for n in (limit, initplan, scan)]
    assert selves == pytest.approx([5.0, 60.0, 35.0])
    assert plans.budget_problems(1, 10.0, {"max_indexes": 1, "max_index_kb": 16}) == []
    with pytest.raises(ValueError, match="ANALYZE"):
        plans.check({"Node Type": "Seq Scan"}, {"max_buffers": 10})


def test_mongo_find_compares_documents(checker):
    ref = 'db.orders.find({"status": "delivered"}, {"_id": 0, "order_id": 1, "total": 1})'
    find = ex("mongo-query", ref, starter="db.orders.find({})")
    assert checker.check(
        find, ref.replace('"order_id": 1, "total": 1', '"total": 1, "order_id": 1')
    ).passed
    assert (
        "_id"
        in checker.check(
            find, 'db.orders.find({"status": "delivered"}, {"order_id": 1, "total": 1})'
        ).message
    )
    assert not checker.check(
        find, 'db.orders.find({}, {"_id": 0, "order_id": 1, "total": 1})'
    ).passed
    assert checker.check(find, "db.orders.find({})").status == "not-answered"


def test_mongo_sort_detected_and_bare_filter_accepted(checker):
    ref = 'db.orders.find({"status": "delivered"}, {"_id": 0, "order_id": 1}).sort("order_id", -1)'
    find = ex("mongo-query", ref, collection="orders", projection={"_id": 0, "order_id": 1})
    assert "wrong order" in checker.check(find, ref.replace("-1)", "1)")).message
    unordered = ex(
        "mongo-query",
        '{"status": "delivered"}',
        collection="orders",
        projection={"_id": 0, "order_id": 1},
    )
    assert checker.check(unordered, '{"status": {"$eq": "delivered"}}').passed


def test_mongo_pipeline(checker):
    ref = '[{"$group": {"_id": "$status", "n": {"$sum": 1}}}, {"$sort": {"_id": 1}}]'
    pipeline = ex("mongo-pipeline", ref, starter="[]", collection="orders")
    assert checker.check(pipeline, ref).passed
    assert not checker.check(pipeline, ref.replace('{"$sum": 1}', '{"$sum": "$total"}')).passed


REDIS_REF = (
    "def solve(r, prefix):\n"
    "    r.set(prefix + 'seen', 1, ex=100)\n"
    "    r.zincrby('leaderboard:drivers', 1, 'd1')\n"
    "    return r.zscore('leaderboard:drivers', 'd1')\n"
)


def test_a_short_ttl_read_late_reads_as_set(checker, monkeypatch):
    """The grader reads the keys after the sandbox is gone (a second or more on a loaded
    machine): a 5 s TTL must not read as 4 s; 5 s and 6 s still differ."""
    from dbdojo.checking.sandbox import process

    real = process.run

    def slow_teardown(*args, **kwargs):
        found = real(*args, **kwargs)
        time.sleep(1.6)
        return found

    monkeypatch.setattr(process, "run", slow_teardown)
    five = REDIS_REF.replace("ex=100", "ex=5")
    task = ex("redis", five, keys=["leaderboard:drivers"])
    assert checker.check(task, five).passed, checker.check(task, five).text()
    six = checker.check(task, five.replace("ex=5", "ex=6"))
    assert not six.passed and any("ttl=6" in e for e in six.examples), six.text()


def test_redis_return_value_keys_and_ttl(checker):
    task = ex("redis", REDIS_REF, keys=["leaderboard:drivers"])
    assert checker.check(task, REDIS_REF).passed
    no_ttl = checker.check(task, REDIS_REF.replace(", ex=100", ""))
    assert not no_ttl.passed and any("ttl=NULL" in e for e in no_ttl.examples)
    seconds_for_minutes = checker.check(task, REDIS_REF.replace("ex=100", "ex=10000"))
    assert seconds_for_minutes.details == ["the differences are in the columns: ttl"]
    assert not seconds_for_minutes.passed and any(
        "ttl=10000" in e for e in seconds_for_minutes.examples
    )
    nearly_now = checker.check(task, REDIS_REF.replace("ex=100", "px=99_700"))
    assert nearly_now.passed, nearly_now.text()
    assert not checker.check(
        task, REDIS_REF.replace("return r.zscore('leaderboard:drivers', 'd1')", "return 6.5")
    ).passed


def test_python_function_cases(checker):
    task = ex("python", "def solve(x):\n    return x * 2", cases=[[1], [2.5]])
    assert checker.check(task, "def solve(y):\n    return y + y").passed
    assert not checker.check(task, "def solve(x):\n    return x + 1").passed
    assert "ZeroDivisionError" in checker.check(task, "def solve(x):\n    return 1 / 0").message


@pytest.mark.parametrize(
    "answer",
    [
        SPEND,
        SPEND.replace("WHERE status = 'delivered' ", ""),
        SPEND.replace("ORDER BY spent DESC, customer_id", "ORDER BY customer_id"),
        SPEND.replace("sum(total) AS spent", "sum(total)::float8 AS spent"),
        SPEND.replace("AS spent", "AS s"),
        "SELECT 1 AS customer_id",
    ],
)
def test_stored_digests_give_the_same_verdict_as_the_live_reference(checker, answer):
    live = ex("sql", SPEND)
    frozen = student(live, checker)
    assert frozen.reference is None and isinstance(
        Expectation.from_dict(frozen, frozen.expected), Expectation
    )
    a, b = checker.check(live, answer), checker.check(frozen, answer)
    assert (a.status, a.message, a.notes) == (b.status, b.message, b.notes)


def test_redis_json_is_compared_as_json(checker):
    ref = (
        "import json\n"
        "def solve(r, prefix):\n"
        "    r.set(prefix + 'doc', json.dumps({'a': 1, 'b': [1, 2]}))\n"
        "    return 1\n"
    )
    task = ex("redis", ref)
    spaced = ref.replace("json.dumps({'a': 1, 'b': [1, 2]})", '\'{"b": [1,2],  "a": 1}\'')
    assert checker.check(task, spaced).passed
    other = ref.replace("[1, 2]", "[2, 1]")
    assert not checker.check(task, other).passed
    as_text = ex("redis", ref, json_as_text=True)
    assert not checker.check(as_text, spaced).passed


def test_redis_binary_values_are_compared_not_a_crash(checker):
    """Bitmaps and HyperLogLogs are bytes, not text: compared exactly, shown by their digest."""
    ref = (
        "def solve(r, prefix):\n"
        "    r.setbit(prefix + 'seen', 7, 1)\n"
        "    r.pfadd(prefix + 'hll', 'a', 'b')\n"
        "    return r.bitcount(prefix + 'seen')\n"
    )
    task = ex("redis", ref)
    assert checker.check(task, ref).passed
    other_bit = checker.check(task, ref.replace("'seen', 7, 1", "'seen', 0, 1"))
    assert other_bit.status == "failed", other_bit.text()
    assert "<binary, 1 bytes, sha256" in other_bit.text()
    left_over = ref.replace("    return", "    r.setbit(prefix + 'tmp', 9, 1)\n    return")
    assert checker.check(task, left_over).status == "failed"


STREAM_REF = (
    "def solve(r, prefix):\n"
    "    s = prefix + 'jobs'\n"
    "    for n in range(3):\n"
    "        r.xadd(s, {'n': n})\n"
    "    r.xgroup_create(s, 'workers', id='0')\n"
    "    [(_, entries)] = r.xreadgroup('workers', 'w1', {s: '>'}, count=2)\n"
    "    r.xack(s, 'workers', *[i for i, _ in entries])\n"
    "    return len(entries)\n"
)


def test_redis_consumer_group_state_is_compared(checker):
    task = ex("redis", STREAM_REF)
    assert checker.check(task, STREAM_REF).passed
    never_acks = STREAM_REF.replace("    r.xack(s, 'workers', *[i for i, _ in entries])\n", "")
    verdict = checker.check(task, never_acks)
    assert not verdict.passed and verdict.details == ["the differences are in the columns: value"]
    reads_all = STREAM_REF.replace("count=2", "count=3")
    assert not checker.check(task, reads_all).passed


def test_edge_cases_that_cannot_run_are_named_in_the_verdict(checker):
    from dbdojo.workspace import Workspace

    missing = Workspace("edge_never_seeded")
    partial = Checker(checker.workspace, [*checker.edges, missing], checker.redis_source)
    verdict = partial.check(ex("sql", SPEND), SPEND)
    assert "NOT checked on the edge cases (edge_never_seeded)" in verdict.message
    assert "dojo seed" in verdict.message
    assert checker.check(ex("sql", SPEND), SPEND).message == "correct"


def test_a_reference_failing_on_an_edge_case_is_not_blamed_on_missing_data(checker):
    from dbdojo.connect import pg_connect

    [edge] = checker.edges
    with pg_connect(edge) as conn:
        edge_orders = conn.execute("SELECT count(*) FROM orders").fetchone()[0]
    # divides by zero on the edge data alone: an author's mistake, not a missing seed
    reference = f"SELECT 100 / (count(*) - {edge_orders}) AS x FROM orders"
    verdict = checker.check(ex("sql", reference), reference)
    assert verdict.passed
    assert f"NOT checked on the edge cases ({edge.name})" in verdict.message
    assert "reference solution fails there" in verdict.message
    assert "division by zero" in verdict.message
    assert "dojo seed" not in verdict.message


def test_what_the_emulator_refuses_is_not_blamed_on_the_learner(checker):
    from dbdojo.checking import emulator_gaps

    if not emulator_gaps.on_emulator():
        pytest.fail("this test needs the kit's MongoDB emulator (`dojo up` without DOJO_MONGO_URL)")
    ref = '[{"$match": {"status": "delivered"}}, {"$project": {"_id": 0, "order_id": 1}}]'
    pipeline = ex("mongo-pipeline", ref, starter="[]", collection="orders")
    near = (  # valid MongoDB; the emulator refuses $centerSphere (EMULATOR_GAPS)
        '[{"$match": {"status": "delivered", "dropoff": {"$geoWithin": '
        '{"$centerSphere": [[-0.1, 51.5], 0.001]}}}}, {"$project": {"_id": 0, "order_id": 1}}]'
    )
    verdict = checker.check(pipeline, near)
    assert verdict.status == "error" and not verdict.graded
    assert "may be right on a real MongoDB 8" in verdict.message
    bucket_answer = (  # $bucket: the emulator adds an empty default bucket (EMULATOR.md)
        '[{"$match": {"status": "delivered"}}, {"$bucket": {"groupBy": "$order_id", '
        '"boundaries": [0, 1000000], "default": "other"}}]'
    )
    failed = checker.check(pipeline, bucket_answer)
    assert not failed.passed and any("emulator differs" in n for n in failed.notes)
