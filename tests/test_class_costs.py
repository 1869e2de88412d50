"""Costs that grow with the class (issue 23): the connections a learner's kernel holds, the
server's refusal when it is full, the connection budget, Redis room for a class's workspaces
and concurrent checks, and no server left behind by a test's temporary state directory.

Real servers: the session's ``dojo_servers`` and the fixture workspaces of
tests/fixtures/checking; the Valkey of the last test is started here and must be stopped."""

from __future__ import annotations

import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from dbdojo import budget, pgroles, procs, settings, slots
from dbdojo.checking import connections
from dbdojo.checking.engine import Checker
from dbdojo.checking.model import Exercise
from dbdojo.connect import ServerRefused, ServiceDown, pg_connect, postgres_url
from dbdojo.services import postgres
from dbdojo.services.redis import embedded_binary
from dbdojo.workspace import REDIS_DATABASES, SNAPSHOT_REDIS_DB, Workspace
from tests.fixtures.checking import FixtureWorkspaces, require_servers, workspaces
from tests.helpers import isolated_state
from tests.leftovers import (
    OWNER_FILE,
    stop_servers_under,
    sweep_orphaned_state_dirs,
    temporary_state_dir,
)

COUNT = "SELECT count(*) AS n FROM orders"


@pytest.fixture(scope="module")
def fx(request) -> FixtureWorkspaces:
    require_servers(request)
    return workspaces()


def test_a_kernel_holds_no_checker_connection_after_a_check(fx):
    exercise = Exercise("t.conns", "t", "sql", "--", ["h"], {}, reference=COUNT, wrong=[])
    connections.close_pg()
    before = budget.backends_of()
    with connections.bounded():
        assert Checker(fx.main, [fx.edge, fx.main], fx.redis_source).check(exercise, COUNT).passed
        assert len(connections._pg) <= 2  # the last workspace's admin and answer connections
        assert budget.backends_of() - before <= 2
    assert not connections._pg
    assert budget.backends_of() == before
    # outside a bounded block (a batch: the tests, `dojo build`) connections are reused: one
    # answer connection per workspace, and no admin one (the roles were made in this process)
    Checker(fx.main, [fx.edge], fx.redis_source).check(exercise, COUNT)
    answer = {pgroles.url(ws, pgroles.ANSWER) for ws in (fx.main, fx.edge)}
    assert set(connections._pg) == answer
    connections.close_pg()


def test_the_admin_connects_only_to_a_database_that_needs_preparing(fx):
    """Whether a database is fit for the answer role is read on the answer connection: a
    table the kit's superuser made since (the answer role may not read it) brings the admin
    connection that hands it to the owner role; once done, checks open no admin connection."""
    late = "SELECT count(*) AS n FROM late_table"
    exercise = Exercise("t.late", "t", "sql", "--", ["h"], {}, reference=late, wrong=[])
    connections.close_pg()
    with pg_connect(fx.edge) as admin:
        admin.execute("CREATE TABLE late_table AS SELECT 1 AS x")
    try:
        checker = Checker(fx.edge, [], fx.redis_source)
        assert checker.check(exercise, late).passed
        with pg_connect(fx.edge) as admin:  # handed over
            owner = "SELECT tableowner FROM pg_tables WHERE tablename = 'late_table'"
            assert admin.execute(owner).fetchone() == (pgroles.OWNER,)
        assert postgres_url(fx.edge) in connections._pg
        connections.close_pg()
        assert checker.check(exercise, late).passed
        assert postgres_url(fx.edge) not in connections._pg
        assert not checker.check(exercise, "SELECT count(*) + 1 AS n FROM late_table").passed
    finally:
        connections.close_pg()
        with pg_connect(fx.edge) as admin:
            admin.execute("DROP TABLE late_table")


# What a plain SQL check does not use: a fresh `dojo grade` must not pay for importing them.
NOT_FOR_SQL = ("pandas", "rich", "dotenv", "pymongo", "redis", "sqlglot", "nbformat", "IPython",
               "dbdojo.checking.sandbox", "dbdojo.checking.runners.pg_concurrent",
               "dbdojo.checking.runners.mongo", "dbdojo.checking.redis_concurrency",
               "dbdojo.checking.plan")  # fmt: skip


def test_grading_a_sql_answer_imports_only_what_it_uses(fx):
    script = f"""
import sys
import dbdojo.cli
from dbdojo.checking import commands, engine
from dbdojo.checking.model import Exercise
from dbdojo.workspace import Workspace

engine.default_edges()
ex = Exercise("t.imports", "t", "sql", "--", ["h"], {{}}, reference={COUNT!r}, wrong=[])
main, edge = Workspace({fx.main.name!r}), Workspace({fx.edge.name!r})
checker = engine.Checker(main, [edge], {fx.redis_source})
assert checker.check(ex, {COUNT!r}).passed
assert not checker.check(ex, "SELECT count(*) + 1 AS n FROM orders").passed
print(" ".join(name for name in {NOT_FOR_SQL!r} if name in sys.modules))
"""
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == []


def test_a_full_server_is_named_in_its_own_words(fx):
    url = pgroles.url(fx.main, pgroles.LEARNER)
    pgroles.connect(fx.main, pgroles.LEARNER).close()  # the role exists and may connect
    held = []
    try:
        with pytest.raises(ServiceDown) as refused:
            for _ in range(budget.max_connections() + 1):
                held.append(pg_connect(fx.main, conninfo=url))
    finally:
        for conn in held:
            conn.close()
    assert isinstance(refused.value, ServerRefused)
    message = str(refused.value)
    assert "remaining connection slots are reserved" in message  # the server's words
    assert "not running" not in message
    assert "DOJO_CLASS_SIZE" in message


def test_max_connections_follows_the_class_size(dojo_servers, monkeypatch):
    assert budget.max_connections(1) == budget.FLOOR  # never below PostgreSQL's default
    assert budget.max_connections(30) == 30 * 4 + budget.RESERVED
    monkeypatch.setenv(settings.CLASS_SIZE_ENV, "50")
    assert "max_connections = 220\n" in postgres._conf(5432, Path("/nonexistent"))
    monkeypatch.setenv(settings.CLASS_SIZE_ENV, "many")
    with pytest.raises(settings.BadClassSize, match="number of learners"):
        settings.class_size()
    monkeypatch.delenv(settings.CLASS_SIZE_ENV)
    health = postgres.PostgresService().probe(dojo_servers.url("postgres"))
    assert health.healthy and "connections, sized for a class of 20" in health.detail


def test_a_class_of_workspaces_fits_redis():
    with isolated_state():
        numbers = {Workspace(f"learner_{i}").redis_db for i in range(120)}
    assert len(numbers) == 120
    assert SNAPSHOT_REDIS_DB not in numbers and 0 not in numbers
    assert max(numbers) < REDIS_DATABASES


def test_a_busy_scratch_pool_is_waited_for(tmp_path):
    numbers = range(1, 3)
    with slots.first_free(tmp_path, "s", numbers) as a, slots.first_free(tmp_path, "s", numbers):
        assert a == 1
        with slots.wait_free(tmp_path, "s", numbers, timeout=0.2) as none:
            assert none is None  # every slot stayed busy
    hold = slots.first_free(tmp_path, "s", numbers)
    assert hold.__enter__() == 1
    threading.Timer(0.3, hold.__exit__, (None, None, None)).start()
    with slots.first_free(tmp_path, "s", numbers):  # slot 2 taken as well
        started = time.monotonic()
        with slots.wait_free(tmp_path, "s", numbers, timeout=10) as number:
            assert number == 1 and time.monotonic() - started >= 0.2


def test_a_temporary_state_dir_loses_its_servers_before_its_files():
    with isolated_state() as root:
        server = subprocess.Popen(
            [
                str(embedded_binary()),
                "--port",
                str(procs.free_port()),
                "--dir",
                str(root),
                "--save",
                "60 1",
            ],
            cwd=root,
            stdout=subprocess.DEVNULL,
        )
        time.sleep(0.2)
        assert server.poll() is None
        stopped = stop_servers_under(root)
    assert server.wait(timeout=15) is not None
    assert any(str(server.pid) in line for line in stopped)


def test_a_killed_sessions_temporary_state_dir_is_removed_by_the_next_session():
    """A killed test session cannot clean up: the next one removes what it left, not a live
    session's directory."""
    killed = subprocess.run(
        [sys.executable, "-c", "from tests.leftovers import temporary_state_dir as t; print(t())"],
        capture_output=True,
        text=True,
        check=True,
        cwd=Path(__file__).parent.parent,
    )
    orphan = Path(killed.stdout.strip())
    assert (orphan / OWNER_FILE).is_file()
    (orphan / "postgres").mkdir()
    (orphan / "postgres" / "data").write_bytes(b"x" * 100_000)
    live = temporary_state_dir()
    try:
        count, freed = sweep_orphaned_state_dirs()
        assert not orphan.exists(), "the dead session's directory is still there"
        assert count >= 1 and freed >= 100_000
        assert live.is_dir(), "a live session's directory was removed"
    finally:
        shutil.rmtree(live, ignore_errors=True)
        shutil.rmtree(orphan, ignore_errors=True)
