"""``dojo.explain`` and ``%explain`` on real plans of the seeded course dataset: the JSON on the
returned object, the drawing (text and HTML) stable under the notebook sanitizers, flagged
misestimates, and nothing left behind by the statements it runs."""

from __future__ import annotations

import re

import psycopg
import pytest

from dbdojo import pgroles
from dbdojo.notebook import explain as explaining
from dbdojo.notebook.explain import Plan, explain
from tests.fixtures.checking import dataset_checker
from tests.helpers import sanitize

JOIN = (
    "SELECT c.city, count(*) FROM orders o JOIN customers c USING (customer_id) "
    "WHERE o.placed_at >= '2025-08-01' GROUP BY c.city"
)
LOOKUP = "SELECT customer_id FROM customers WHERE lower(email) = 'caglasn.guclu2@hotmail.com'"
LINES = (
    "SELECT p.name, l.quantity FROM products p JOIN order_lines l USING (product_id) "
    "WHERE p.merchant_id = 7"
)


@pytest.fixture(scope="module")
def workspace(request):
    """A fresh copy of the course dataset (the checker's), current for these tests."""
    ws = dataset_checker(request).workspace
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DOJO_WORKSPACE", ws.name)
        patch.delenv("DOJO_WORKSPACE_SUFFIX", raising=False)
        yield ws


def test_the_plan_is_a_tree_with_times_rows_loops_and_buffers(workspace):
    plan = explain(JOIN)
    assert plan.analyzed and plan.execution_ms > 0
    assert plan.root is plan.json["Plan"] and "Hash Join" in plan.node_types()
    assert plan.buffers == plan.root["Shared Hit Blocks"] + plan.root["Shared Read Blocks"] > 0
    text = plan.text()
    assert text.splitlines()[0].startswith("Execution Time:")
    for fact in ("Hash Join", "Seq Scan on orders o", "% of time", "rows ", "(est. ", "loops "):
        assert fact in text, fact
    assert "Buffers: shared hit=" in text and repr(plan) == text
    html = plan._repr_html_()
    assert "<script" not in html and "http" not in html  # self-contained
    assert "Hash Join" in html and "width:" in html


def test_time_shares_add_up_to_the_execution_time(workspace):
    # A Gather's workers run side by side: their time counts once, not once per process (the
    # execution time also holds the workers' start, which no node counts).
    for parallel, least in (("0", 80), ("2", 50)):
        plan = explain(f"SET LOCAL max_parallel_workers_per_gather = {parallel}; {JOIN}")
        shares = [int(s) for s in re.findall(r"(\d+)% of time", plan.text())]
        assert least <= sum(shares) <= 120, (parallel, shares)


def test_the_drawing_is_stable_under_the_sanitizers(workspace):
    first, second = explain(JOIN), explain(JOIN)
    assert first.json != second.json  # times differ from run to run...
    assert sanitize(first.text()) == sanitize(second.text())  # ...the drawing, once sanitized, not
    assert sanitize(first._repr_html_()) == sanitize(second._repr_html_())
    assert sanitize(first.text()) != sanitize(explain(LOOKUP).text())


def test_a_misestimate_is_flagged(workspace):
    plan = explain(LOOKUP)  # no statistics on lower(email): the planner guesses 0.5 % of rows
    [scan] = plan.misestimates()
    assert scan["Node Type"] == "Seq Scan" and scan["Plan Rows"] >= 10 * max(scan["Actual Rows"], 1)
    assert "× over-estimated" in plan.text() and "× over-estimated" in plan._repr_html_()
    limited = explain(f"SELECT * FROM ({JOIN}) AS t LIMIT 1")
    # rows a Limit did not read are no misestimate
    assert "over-estimated" not in limited.text()


def test_earlier_statements_run_first_and_are_rolled_back(workspace):
    before = explain(LINES)
    with_index = explain(f"CREATE INDEX explain_test_idx ON order_lines (product_id); {LINES}")
    assert "Hash Join" in before.node_types() and "Nested Loop" in with_index.node_types()
    assert with_index.buffers * 10 < before.buffers
    count = "SELECT count(*) FROM ratings WHERE driver_id = 42"
    with pgroles.connect(workspace, pgroles.LEARNER) as conn:
        (left,) = conn.execute("SELECT to_regclass('explain_test_idx') IS NULL").fetchone()
        (ratings,) = conn.execute(count).fetchone()
    assert left and ratings > 0
    deleted = explain("DELETE FROM ratings WHERE driver_id = 42")  # EXPLAIN ANALYZE runs it
    assert deleted.nodes("ModifyTable")
    with pgroles.connect(workspace, pgroles.LEARNER) as conn:
        assert conn.execute(count).fetchone() == (ratings,)


def test_estimates_only_and_errors(workspace):
    plan = explain(JOIN, analyze=False)
    assert not plan.analyzed and plan.execution_ms is None
    assert "estimates only" in plan.text() and "est. cost" in plan.text()
    with pytest.raises(ValueError, match="needs a query"):
        explain("  -- nothing")
    with pytest.raises(psycopg.errors.UndefinedTable):
        explain("SELECT * FROM no_such_table")


def test_the_magic_on_a_line_and_on_a_cell(workspace, ipython_shell):
    shell = ipython_shell
    explaining.register(shell)
    line = shell.run_line_magic("explain", LOOKUP)
    assert isinstance(line, Plan) and line.analyzed
    quick = shell.run_line_magic("explain", "--no-analyze " + LOOKUP)
    assert not quick.analyzed
    cell = shell.run_cell_magic("explain", "", "SET LOCAL enable_seqscan = off;\n" + LOOKUP)
    assert cell.query.startswith("SELECT") and cell.analyzed
    with pytest.raises(ValueError, match="only --no-analyze"):
        shell.run_cell_magic("explain", "SELECT 1", LOOKUP)


def test_a_notebook_connection_the_server_ended_is_not_used(workspace, monkeypatch):
    """A reset of the workspace ends the kernel's ``pg`` between two cells: explain opens a
    connection of its own instead of failing with the server's AdminShutdown."""
    from types import SimpleNamespace

    from dbdojo.connect import pg_connect
    from dbdojo.launch import wait_until
    from dbdojo.notebook import session

    stale = pgroles.connect(workspace, pgroles.LEARNER, autocommit=True)
    with pg_connect(workspace, autocommit=True) as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", (stale.info.backend_pid,))
        gone = "SELECT NOT EXISTS (SELECT 1 FROM pg_stat_activity WHERE pid = %s)"
        # the next cell comes later: the backend has sent its goodbye and exited by then
        assert wait_until(lambda: admin.execute(gone, (stale.info.backend_pid,)).fetchone()[0], 10)
    monkeypatch.setattr(session, "_session", SimpleNamespace(clients={"pg": stale}))
    try:
        assert explain(LOOKUP).analyzed
    finally:
        stale.close()
