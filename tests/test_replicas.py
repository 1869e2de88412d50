"""The replication topology (`dojo up --replicas`): real replicas of real primaries, in an
isolated state directory; and the X1 lab run on the checkout's topology."""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sys

import psycopg
import pytest
import redis

from dbdojo import state
from dbdojo.launch import wait_until
from dbdojo.services import manager, replicas
from dbdojo.services.replica_postgres import SLOT, PostgresReplica
from tests.helpers import isolated_state


@pytest.fixture(scope="module")
def topology():
    with isolated_state() as root:
        started = manager.up(["postgres", "redis"])
        assert all(o.ok for o in started), [o.detail for o in started]
        try:
            outcomes = replicas.up()
            assert [o.action for o in outcomes] == ["started", "started"], outcomes
            yield root
        finally:
            replicas.down()
            manager.down(["postgres", "redis"])


def url(name: str) -> str:
    record = state.get_record(name)
    assert record is not None, f"no {name} record"
    return record.url


def sql(name: str, query: str, *params):
    with psycopg.connect(url(name), autocommit=True, connect_timeout=5) as conn:
        cur = conn.execute(query, params or None)
        return cur.fetchall() if cur.description else []


def replayed(value: int) -> bool:
    """Wait until the replica has the row ``value`` of table ``t``."""

    def arrived() -> bool:
        try:
            return sql("postgres_replica", "SELECT count(*) FROM t WHERE x = %s", value) == [(1,)]
        except psycopg.errors.UndefinedTable:  # the CREATE TABLE has not been replayed yet
            return False

    return wait_until(arrived, 20, interval=0.05)


def rclient(name: str) -> redis.Redis:
    return redis.Redis.from_url(url(name), decode_responses=True, socket_timeout=5)


def test_replicas_are_recorded_and_stream(topology):
    rows = {row.service: row for row in replicas.status_rows()}
    assert set(rows) == {"postgres_replica", "redis_replica"}
    assert (
        rows["postgres_replica"].healthy and "replica, streaming" in rows["postgres_replica"].detail
    )
    assert rows["redis_replica"].healthy and "replica, link up" in rows["redis_replica"].detail
    assert sql("postgres_replica", "SELECT pg_is_in_recovery()") == [(True,)]
    assert sql(
        "postgres", "SELECT active FROM pg_replication_slots WHERE slot_name = %s", SLOT
    ) == [(True,)]
    assert state.get_record("postgres_replica").port != state.get_record("postgres").port


def test_status_command_shows_roles_and_lag(topology):
    env = {**os.environ, "DOJO_STATE_DIR": str(topology)}
    result = subprocess.run(
        [sys.executable, "-m", "dbdojo.cli", "status", "--json"],
        capture_output=True, text=True, env=env, check=False,
    )  # fmt: skip
    import json

    rows = {row["service"]: row for row in json.loads(result.stdout)}
    assert "bytes behind" in rows["postgres_replica"]["detail"]
    assert "bytes behind" in rows["redis_replica"]["detail"]
    assert state.secret("postgres") not in result.stdout, "passwords are masked"


def test_write_on_primary_read_on_replica(topology):
    sql("postgres", "CREATE TABLE IF NOT EXISTS t (x int)")
    sql("postgres", "INSERT INTO t VALUES (1)")
    assert replayed(1)
    master, replica = rclient("redis"), rclient("redis_replica")
    master.set("x1:test", "hello")
    assert master.wait(1, 2000) == 1
    assert replica.get("x1:test") == "hello"


def test_replicas_refuse_writes(topology):
    with pytest.raises(psycopg.errors.ReadOnlySqlTransaction):
        sql("postgres_replica", "CREATE TABLE nope (x int)")
    with pytest.raises(redis.exceptions.ReadOnlyError):
        rclient("redis_replica").set("x1:test", "no")


def test_slot_keeps_wal_while_the_replica_is_down(topology):
    replicas.stop("postgres_replica")
    sql("postgres", "CREATE TABLE IF NOT EXISTS t (x int)")
    sql("postgres", "INSERT INTO t SELECT -g FROM generate_series(1, 200000) g")
    sql("postgres", "INSERT INTO t VALUES (2)")
    [(active, retained)] = sql(
        "postgres",
        "SELECT active, pg_wal_lsn_diff(pg_current_wal_lsn(), restart_lsn) "
        "FROM pg_replication_slots WHERE slot_name = %s",
        SLOT,
    )
    assert not active and retained > 5 * 2**20
    [row] = [r for r in replicas.status_rows() if r.service == "postgres_replica"]
    assert row.pid is None and "stopped" in row.detail
    assert replicas.up(["postgres"])[0].ok
    assert replayed(2), "the replica catches up from its slot"


def test_rebuild_rewinds_a_promoted_replica(topology):
    sql("postgres", "CREATE TABLE IF NOT EXISTS t (x int)")
    sql("postgres_replica", "SELECT pg_promote(wait => true)")
    sql("postgres_replica", "INSERT INTO t VALUES (-1000000000)")  # split brain: lost
    sql("postgres", "INSERT INTO t VALUES (3)")
    assert "role: primary" in replicas.describe("postgres_replica")
    done = replicas.rebuild(["postgres"])
    assert any("pg_rewind" in line for line in done), done
    # caught up when rebuild returns, not only streaming (the X1 lab reads at once)
    assert sql("postgres_replica", "SELECT count(*) FROM t WHERE x = 3") == [(1,)]
    assert sql("postgres_replica", "SELECT count(*) FROM t WHERE x = -1000000000") == [(0,)]
    assert sql("postgres_replica", "SELECT pg_is_in_recovery()") == [(True,)]


def test_notebook_handle_rebuilds_a_topology_left_promoted(topology, capsys):
    from dbdojo.notebook.replicas import replicas as notebook_replicas

    if not sql("postgres", "SELECT 1 FROM pg_database WHERE datname = 'dojo'"):
        sql("postgres", "CREATE DATABASE dojo")  # the main workspace's, which the handle opens
    rclient("redis_replica").execute_command("REPLICAOF", "NO", "ONE")
    rep = notebook_replicas(wait=30)
    try:
        assert "left a replica promoted" in capsys.readouterr().out
        assert rep.lag()["redis_replica"]["role"] == "replica"
    finally:
        rep.close()
        rep.release()


def test_rebuild_resets_synchronous_standby_names(topology):
    sql("postgres", "ALTER SYSTEM SET synchronous_standby_names = 'dojo_replica'")
    sql("postgres", "SELECT pg_reload_conf()")
    done = replicas.rebuild(["postgres"])
    assert "synchronous_standby_names reset on the primary" in done
    assert sql("postgres", "SHOW synchronous_standby_names") == [("",)]


def test_rebuild_makes_a_promoted_redis_replica_follow_again(topology):
    replica = rclient("redis_replica")
    replica.execute_command("REPLICAOF", "NO", "ONE")
    replica.set("x1:only-on-replica", "1")
    rclient("redis").set("x1:after", "2")
    done = replicas.rebuild(["redis"])
    assert done == ["Redis replica follows its master again (full resync)"]
    assert replica.info("replication")["role"] == "slave"
    assert replica.get("x1:after") == "2" and replica.get("x1:only-on-replica") is None


def test_lease_is_exclusive_and_names_its_holder(topology):
    handle = replicas.acquire()
    try:
        with pytest.raises(replicas.ReplicasUnavailable, match=f"pid {os.getpid()}"):
            replicas.acquire(wait=0.3)
    finally:
        replicas.release(handle)
    replicas.release(replicas.acquire(wait=1))  # free again


def test_replicas_need_the_kits_own_primaries(topology, monkeypatch):
    monkeypatch.setenv("DOJO_POSTGRES_URL", "postgresql://someone@127.0.0.1:1/elsewhere")
    [pg, _] = replicas.up()
    assert pg.action == "unavailable" and "DOJO_POSTGRES_URL" in pg.detail


def test_down_stops_replicas_and_up_adopts_data(topology):
    before = PostgresReplica().data_dir()
    stopped = replicas.down()
    assert [o.action for o in stopped] == ["stopped", "stopped"]
    assert all(state.get_record(n).pid is None for n in ("postgres_replica", "redis_replica"))
    again = replicas.up()
    assert all(o.ok for o in again) and (before / "PG_VERSION").exists()
    assert replayed(3), "restarted from its own data, not cloned"


def test_lab_runs_on_the_checkout_topology(fresh_worker_workspace):
    """The whole X1 lab, as the notebook tests run it, then the topology is healthy again
    (the lab ends with `dojo reset --replicas`)."""
    from dbdojo.notebook import testenv
    from dbdojo.notebook.execute import execute
    from dbdojo.paths import labs_dir

    with testenv.environ(fresh_worker_workspace):
        run = execute(labs_dir() / "x1-replication-lab.ipynb", env=fresh_worker_workspace)
        rows = {row.service: row for row in replicas.status_rows()}
    assert "Error" not in "".join(run.outputs_text(i) for i in range(len(run.notebook.cells)))
    assert "replica, streaming" in rows["postgres_replica"].detail
    assert "replica, link up" in rows["redis_replica"].detail


def test_mongo_replica_set_cells_run_on_a_real_replica_set(tmp_path):
    """The MongoDB cells of the X1 notebook need a real replica set: nbval skips them (tag
    nbval-skip); here they run, with their assertions of what MongoDB returns, on the replica
    set DOJO_MONGO_RS_URL names, or on a one-member set of a ``mongod`` found on PATH; without
    either they are skipped saying why."""
    import nbformat
    import pymongo

    from dbdojo.paths import notebooks_dir

    nb = nbformat.read(notebooks_dir() / "x1-replication.ipynb", as_version=4)
    cells = [c for c in nb.cells if "x1-needs-replica-set" in c.metadata.get("tags", [])]
    assert cells, "the notebook has no replica-set cells"
    assert all("nbval-skip" in c.metadata["tags"] for c in cells)
    with contextlib.ExitStack() as stack:
        url = os.environ.get("DOJO_MONGO_RS_URL")
        if not url and shutil.which("mongod"):
            url = stack.enter_context(_one_member_replica_set(tmp_path))
        if not url:
            pytest.skip(
                "the MongoDB replica-set cells of notebooks/x1-replication.ipynb need a real "
                "replica set (set DOJO_MONGO_RS_URL, e.g. from `docker compose --profile "
                "replication up -d`, or put `mongod` on PATH); the kit's MongoDB emulator "
                "has none"
            )
        client = pymongo.MongoClient(url, serverSelectionTimeoutMS=10000)
        assert "setName" in client.admin.command("hello"), f"{url} is not a replica set"
        namespace = {"rs": client}
        for cell in cells:
            exec(cell.source, namespace)  # the notebook's own cells, with their assertions
        client.close()


@contextlib.contextmanager
def _one_member_replica_set(directory):
    """A ``mongod`` from PATH started as a one-member replica set; yields its URL."""
    import pymongo

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    (directory / "db").mkdir()
    argv = [
        "mongod",
        "--replSet",
        "dojo-rs",
        "--port",
        str(port),
        "--bind_ip",
        "127.0.0.1",
        "--dbpath",
        str(directory / "db"),
        "--logpath",
        str(directory / "mongod.log"),
    ]
    proc = subprocess.Popen(argv)
    try:
        direct = pymongo.MongoClient(
            port=port, directConnection=True, serverSelectionTimeoutMS=30000
        )
        direct.admin.command("ping")
        members = [{"_id": 0, "host": f"127.0.0.1:{port}"}]
        direct.admin.command("replSetInitiate", {"_id": "dojo-rs", "members": members})
        assert wait_until(lambda: direct.admin.command("hello").get("isWritablePrimary"), 60)
        direct.close()
        yield f"mongodb://127.0.0.1:{port}/?replicaSet=dojo-rs"
    finally:
        proc.terminate()
        proc.wait(timeout=60)
