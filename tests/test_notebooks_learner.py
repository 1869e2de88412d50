"""The learner's path in a real kernel, cell by cell: an interrupted ``%sql`` query, ``dojo
reset`` run in a terminal while a notebook is open, a kernel restarted in the middle of a lab.

Kernels run in learner mode (no ``DOJO_STRICT``) on the worker's notebook workspace of the
checkout's seeded servers.
"""

from __future__ import annotations

import re
import subprocess
import sys
import time
import uuid
from pathlib import Path

import nbformat
import psutil
import psycopg
import pytest

from dbdojo import settings, state
from dbdojo.commands import doctor
from dbdojo.connect import postgres_url
from dbdojo.notebook import startup, testenv
from dbdojo.services import manager
from dbdojo.workspace import Workspace
from tests.kernel_driver import Kernel

ROOT = Path(__file__).resolve().parent.parent
DOJO = str(Path(sys.executable).with_name("dojo"))


@pytest.fixture
def learner_env(fresh_worker_workspace: dict[str, str]) -> dict[str, str]:
    """A learner's kernel environment: the worker's fresh workspace, not strict."""
    env = dict(fresh_worker_workspace)
    env.pop("DOJO_STRICT", None)
    env["DOJO_LEARNER"] = "test-learner"
    return env


def _pg(env: dict[str, str]) -> psycopg.Connection:
    with testenv.environ(env):
        url = postgres_url(Workspace(env["DOJO_WORKSPACE"]))
    return psycopg.connect(url, autocommit=True)


def test_interrupted_sql_shows_one_line_and_later_writes_commit(learner_env):
    with Kernel(learner_env, ROOT / "notebooks") as kernel:
        assert kernel.run("%load_ext dbdojo").status == "ok"
        assert kernel.run("%sql SELECT 1 AS warm").status == "ok"
        stopped = kernel.run_interrupted("%sql SELECT pg_sleep(60)", after=2.0)
        assert stopped.status == "error"  # "Run All" stops there
        shown = stopped.text.strip().splitlines()
        assert len(shown) == 1 and "Interrupted" in shown[0], stopped.text
        created = kernel.run("%sql CREATE TABLE learner_interrupt (x int)")
        inserted = kernel.run("%sql INSERT INTO learner_interrupt VALUES (42)")
        for cell in (created, inserted):
            assert cell.status == "ok", cell.text
            assert "RollbackPerformed" not in cell.text and "ROLLBACK" not in cell.text
        with _pg(learner_env) as other:  # another session sees the write: it committed
            assert other.execute("SELECT x FROM learner_interrupt").fetchall() == [(42,)]
            idle = other.execute(
                "SELECT count(*) FROM pg_stat_activity "
                "WHERE datname = current_database() AND state LIKE 'idle in transaction%'"
            ).fetchone()[0]
        assert idle == 0


def test_reset_in_a_terminal_leaves_the_notebook_working(learner_env):
    with Kernel(learner_env, ROOT / "notebooks") as kernel:
        assert kernel.run("%load_ext dbdojo").status == "ok"
        assert kernel.run("%sql SELECT 1 AS warm").status == "ok"
        assert kernel.run("pg.execute('DELETE FROM ratings WHERE stars = 1')").status == "ok"
        reset = subprocess.run(
            [DOJO, "reset"], env=learner_env, capture_output=True, text=True, timeout=300
        )
        assert reset.returncode == 0, reset.stderr
        cells = {
            "pg": "pg.execute('SELECT count(*) FROM ratings WHERE stars = 1').fetchone()[0]",
            "%sql": "%sql SELECT count(*) AS n FROM ratings WHERE stars = 1",
            "db": "db.list_collection_names() and 'ok'",
            "r": "r.ping()",
        }
        runs = {name: kernel.run(code) for name, code in cells.items()}
        for name, cell in runs.items():
            assert cell.status == "ok", f"{name} after `dojo reset`: {cell.text}"
            assert "RollbackPerformed" not in cell.text
        assert "reconnected" in runs["pg"].text
        assert int(runs["pg"].text.strip().splitlines()[-1]) > 0  # the seeded data is back
        wrong = "SELECT city, count(*) AS without_phone FROM customers GROUP BY city"
        check = kernel.run(f"%%check intro.no-phone\n{wrong}")
        assert check.status == "ok" and "Not yet" in check.mime("text/html"), check.text


def test_after_a_kernel_restart_check_loads_the_kit_by_itself(learner_env, seeded_checkout):
    with testenv.environ(seeded_checkout):
        ipython_dir = startup.ipython_dir()
    env = {**learner_env, "IPYTHONDIR": str(ipython_dir)}
    with Kernel(env, ROOT / "labs") as kernel:  # a fresh kernel: nothing loaded yet
        starter = "-- Your query here\nSELECT city\nFROM customers"
        check = kernel.run(f"%%check intro.no-phone\n{starter}")
        assert check.status == "ok", check.text
        assert "loading it" in check.text and "not answered yet" in check.text
        assert "UsageError" not in check.text
        html = check.mime("text/html")
        assert html.lower().count("not answered yet") == 1, html  # the badge says it once
        rows = kernel.run("%sql SELECT generate_series(1, 25) AS n")
        assert rows.status == "ok"
        assert "| 25 |" in rows.text and "Truncated" not in rows.text, rows.text


def test_a_hint_is_shown_once(learner_env):
    with Kernel(learner_env, ROOT / "labs") as kernel:
        loaded = kernel.run("%load_ext dbdojo")
        assert loaded.status == "ok"
        if "Valkey" in loaded.text:  # why a Redis notebook prints 7.2.4 beside Valkey 9
            assert "reports redis_version 7.2.4, the Redis it is compatible with" in loaded.text
        shown = kernel.run('dojo.hint("intro.no-phone")')
        assert shown.status == "ok"
        assert shown.text.count("Hints for intro.no-phone") == 1
        assert not [o for o in shown.outputs if o["msg_type"] == "execute_result"], shown.text
        reset = kernel.run("dojo.reset()")
        assert "Workspace(" not in reset.text and "back to the seeded data" in reset.text


TIE_BREAK_WRONG = """SELECT customer_id, order_id, placed_at,
       row_number() OVER (PARTITION BY customer_id ORDER BY placed_at, order_id DESC) AS order_no
FROM orders
WHERE customer_id <= 20
ORDER BY customer_id, order_no"""


def test_the_learners_seed_makes_the_edge_data_a_check_promises(learner_env):
    seed = subprocess.run(
        [DOJO, "seed"], env=learner_env, capture_output=True, text=True, timeout=900
    )
    assert seed.returncode == 0, seed.stderr
    assert "Edge-case workspaces ready" in seed.stderr
    with _pg(learner_env) as conn:
        rows = conn.execute("SELECT datname FROM pg_database WHERE datname LIKE 'dojo_edge%'")
        found = {row[0] for row in rows}
    assert {"dojo_edge_ties", "dojo_edge_nulls", "dojo_edge_cycles"} <= found, found
    with Kernel(learner_env, ROOT / "labs") as kernel:
        assert kernel.run("%load_ext dbdojo").status == "ok"
        check = kernel.run(f"%%check p2.order-number\n{TIE_BREAK_WRONG}")
        # right on the main data, where no two orders of a customer share a timestamp
        assert "Not yet" in check.mime("text/html"), check.text
        assert "edge case 'edge_ties'" in check.text, check.text


NO_PHONE = """SELECT city, count(*) AS without_phone
FROM customers
WHERE phone IS NULL
GROUP BY city
ORDER BY city"""


def test_progress_per_exercise_in_the_notebook_and_the_terminal(learner_env):
    env = {**learner_env, "DOJO_LEARNER": f"progress-{uuid.uuid4().hex[:8]}"}
    with Kernel(env, ROOT / "labs") as kernel:
        assert kernel.run("%load_ext dbdojo").status == "ok"
        passed = kernel.run(f"%%check intro.no-phone\n{NO_PHONE}")
        assert "Correct" in passed.mime("text/html"), passed.text
        kernel.run("%%check intro.favourites\nCREATE TABLE favourite_merchants (x int)")
        kernel.run('dojo.hint("intro.favourites")')
        shown = kernel.run('dojo.progress("intro")')
        assert shown.status == "ok", shown.text
    table = shown.mime("text/html")
    assert "<table>" in table
    rows = {row.split("</code>")[0].split("<code>")[-1]: row for row in table.split("<tr>")[2:]}
    assert ">done<" in rows["intro.no-phone"]
    assert ">attempted<" in rows["intro.favourites"] and "1/2" in rows["intro.favourites"]
    assert ">not started<" in rows["intro.cents"]
    assert "Next: intro.favourites" in table
    lab = subprocess.run([DOJO, "progress", "intro"], env=env, capture_output=True, text=True)
    assert lab.returncode == 0, lab.stderr
    lines = {line.split()[1]: line for line in lab.stdout.splitlines() if "intro." in line[:30]}
    assert "done" in lines["intro.no-phone"] and "1/2" in lines["intro.favourites"]
    assert "Next: intro.favourites" in lab.stdout
    every = subprocess.run([DOJO, "progress"], env=env, capture_output=True, text=True)
    assert every.returncode == 0 and "1/7" in every.stdout, every.stdout


def test_dojo_lab_gives_the_learner_solution_free_labs_in_work(
    seeded_checkout, fresh_worker_workspace, capsys
):
    from dbdojo.checking import progress
    from dbdojo.commands import lab
    from dbdojo.notebook.execute import CHECK_MAGIC, execute, output_text

    with testenv.environ(seeded_checkout):
        work = lab.prepare_workspace()
        capsys.readouterr()
        assert lab.prepare_workspace() == work  # the second time: cached, nothing rebuilt
    assert "Building" not in capsys.readouterr().out
    assert work == ROOT / "work"
    sources = sorted((ROOT / "labs").glob("*.ipynb"))
    assert sorted(p.name for p in work.glob("*.ipynb")) == [p.name for p in sources]
    for copy in work.glob("*.ipynb"):
        nb = nbformat.read(copy, as_version=4)
        for cell in nb.cells:
            dojo = cell.metadata.get("dojo", {})
            if "exercise" in dojo:  # the starter only, no stored output
                assert cell.source == f"%%check {dojo['exercise']}\n{dojo['starter']}"
                assert not cell.outputs
            for target in re.findall(r"\]\((\.\./[^)#]+)", cell.source):
                assert (work / target).exists(), f"{copy.name}: broken link {target}"
    env = {**fresh_worker_workspace, "DOJO_LEARNER": f"runall-{uuid.uuid4().hex[:8]}"}
    run = execute(work / "00-how-labs-work.ipynb", env=env, timeout=300)  # "Run All"
    checks = [c for c in run.notebook.cells if c.source.startswith(CHECK_MAGIC)]
    assert checks and all("not answered yet" in output_text(c) for c in checks)
    with testenv.environ(env):
        spent = {k: v.get("hints_shown", 0) for k, v in progress.load().items()}
    assert not any(spent.values()), f"Run All spent hints: {spent}"


# A correlated $lookup (a pipeline run for every order: no index, no hash join; minutes on
# the emulator, which joins the localField/foreignField form by hash since the kit's costs)
RUNAWAY = (
    "list(db.orders.aggregate([{'$lookup': {'from': 'products', 'let': {'names': "
    "'$lines.product_name'}, 'pipeline': [{'$match': {'$expr': {'$in': ['$name', "
    "{'$ifNull': ['$$names', []]}]}}}], 'as': 'p'}}, {'$limit': 5}]))"
)


def test_a_runaway_mongo_query_stops_at_the_notebook_time_limit(learner_env):
    env = {**learner_env, settings.MONGO_TIME_LIMIT_ENV: "3"}
    with Kernel(env, ROOT / "notebooks") as kernel:
        assert kernel.run("%load_ext dbdojo").status == "ok"
        started = time.monotonic()
        runaway = kernel.run(RUNAWAY)  # an unindexed $lookup: minutes on the emulator
        assert runaway.status == "error"
        assert time.monotonic() - started < 30
        # the server stops it at its maxTimeMS, the client at its timeoutMS, whichever first
        assert re.search(r"time limit|timed out", runaway.text), runaway.text
        after = kernel.run("db.command('ping')")  # the server stopped it: it answers again
        assert after.status == "ok", after.text


def test_status_and_doctor_call_the_busy_emulator_the_kits_own(seeded_checkout):
    """A kit server that holds its port but does not answer is called busy, never foreign.

    The emulator is frozen (SIGSTOP) rather than kept busy by a long query: its scans take
    turns between documents, so whether a query starves ``dojo status`` depends on timing."""
    with testenv.environ(seeded_checkout):
        record = state.get_record("mongo")
        if record is None or record.backend != "emulator":
            pytest.skip("MongoDB is not the kit's emulator here")
        frozen = [psutil.Process(record.pid), *psutil.Process(record.pid).children(True)]
        for process in frozen:
            process.suspend()
        try:
            [row] = manager.status(["mongo"])
            checks = [c for c in doctor.run_checks() if c.title.startswith("MongoDB server")]
        finally:
            for process in frozen:
                process.resume()
        [row_after] = manager.status(["mongo"])
    assert not row.healthy and "busy: the kit's own MongoDB" in row.detail, row.detail
    assert checks and "busy: the kit's own MongoDB" in checks[0].detail, checks
    assert "taken by" not in checks[0].detail
    assert row_after.healthy, row_after.detail
