"""The kit's own PostgreSQL: started, probed, killed, recovered, moved off a taken port."""

from __future__ import annotations

import os
import signal
import socket

import psutil
import psycopg
import pytest

from dbdojo import procs, state
from dbdojo.launch import wait_until
from dbdojo.services import manager
from dbdojo.services.postgres import PostgresService
from tests.helpers import is_healthy, own_server, recorded


@pytest.fixture(scope="module")
def pg():
    with own_server("postgres"):
        yield


def record():
    return recorded("postgres")


def query(sql: str, *params):
    with psycopg.connect(record().url, autocommit=True, connect_timeout=5) as conn:
        cursor = conn.execute(sql, params or None)
        return cursor.fetchall() if cursor.description else []


def healthy() -> bool:
    return is_healthy("postgres")


def test_query_round_trip(pg):
    query("CREATE TABLE IF NOT EXISTS round_trip (id int PRIMARY KEY, note text)")
    query("INSERT INTO round_trip VALUES (1, 'héllo') ON CONFLICT DO NOTHING")
    assert query("SELECT note FROM round_trip WHERE id = 1") == [("héllo",)]


def test_course_settings(pg):
    assert query("SHOW listen_addresses") == [("127.0.0.1",)]
    assert query("SHOW wal_level") == [("replica",)]
    assert "pg_stat_statements" in query("SHOW shared_preload_libraries")[0][0]
    assert query("SHOW fsync") == [("on",)], "durability stays at PostgreSQL's default"
    query("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
    assert query("SELECT count(*) >= 0 FROM pg_stat_statements") == [(True,)]
    assert query("SELECT upper('é')") == [("É",)], "UTF-8 aware case mapping"


def test_password_is_required(pg):
    rec = record()
    without = rec.url.replace(f":{state.secret('postgres')}@", "@")
    with pytest.raises(psycopg.OperationalError, match="password"):
        psycopg.connect(without, connect_timeout=5).close()


def test_runs_unprivileged_and_records_itself(pg):
    rec = record()
    proc = psutil.Process(rec.pid)
    assert proc.username() == ("nobody" if os.geteuid() == 0 else psutil.Process().username())
    assert rec.backend == "embedded"
    assert rec.version.startswith("PostgreSQL 18")
    assert str(rec.data_dir) in " ".join(proc.cmdline())


def test_kill_9_then_up_recovers_with_data(pg):
    query("CREATE TABLE IF NOT EXISTS survives (v int)")
    query("INSERT INTO survives VALUES (9)")
    before = record()
    os.kill(before.pid, signal.SIGKILL)
    assert wait_until(lambda: not healthy(), 10), "status must show a killed server unhealthy"
    [outcome] = manager.up(["postgres"])
    assert outcome.action == "started", outcome.detail
    assert record().pid != before.pid
    assert record().port == before.port, "a free port is kept, so URLs stay the same"
    assert query("SELECT v FROM survives") == [(9,)]
    assert healthy()


def test_up_adopts_a_running_server_it_lost_track_of(pg):
    """`dojo up` killed after starting the server but before recording it."""
    running = record()
    with state.locked() as data:
        del data["services"]["postgres"]
    [outcome] = manager.up(["postgres"])
    assert outcome.ok, outcome.detail
    assert record().pid == running.pid, "the running server is adopted, not doubled"


def test_up_twice_is_a_no_op(pg):
    pid = record().pid
    [outcome] = manager.up(["postgres"])
    assert outcome.action == "running"
    assert record().pid == pid


def test_stale_pid_file_of_a_reused_pid(pg, tmp_path):
    """After a reboot the pid in postmaster.pid may belong to another process of the same
    user; PostgreSQL alone would refuse to start."""
    rec = record()
    pidfile = f"{rec.data_dir}/postmaster.pid"
    manager.down(["postgres"])
    impostor = procs.spawn(["sleep", "60"], tmp_path / "sleep.log", procs.run_as())
    try:
        with open(pidfile, "w") as fh:
            fh.write(f"{impostor}\n{rec.data_dir}\n0\n{rec.port}\n\n127.0.0.1\n")
        [outcome] = manager.up(["postgres"])
        assert outcome.action == "started", outcome.detail
        assert psutil.pid_exists(impostor), "the impostor is not ours and must not be killed"
        assert query("SELECT 1") == [(1,)]
    finally:
        procs.stop(impostor, None, "sleep 60", timeout=2)


def test_down_stops_only_its_own_pid(pg, tmp_path):
    other = procs.spawn(["sleep", "60"], tmp_path / "sleep.log", None)
    try:
        with state.locked() as data:
            real_pid = data["services"]["postgres"]["pid"]
            data["services"]["postgres"]["pid"] = other  # a pid reused by something else
        manager.down(["postgres"])
        assert psutil.pid_exists(other) and psutil.Process(other).status() != "zombie"
        # the server on the kit's data is found by its data directory, not by the record
        assert procs.started_at(real_pid) is None, "the kit's own server was left running"
    finally:
        procs.stop(other, None, "sleep 60", timeout=2)
    [outcome] = manager.up(["postgres"])
    assert outcome.action == "started", outcome.detail


def test_port_taken_by_someone_else(pg):
    old = record()
    manager.down(["postgres"])
    assert not healthy()
    with socket.socket() as squatter:
        squatter.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # past TIME_WAIT
        squatter.bind(("127.0.0.1", old.port))
        squatter.listen()
        [outcome] = manager.up(["postgres"])
        assert outcome.action == "started", outcome.detail
        assert record().port != old.port
        assert f":{record().port}/" in record().url
        assert str(old.port) in outcome.detail
        assert query("SELECT 1") == [(1,)]


def test_probe_of_a_dead_url_is_unhealthy():
    health = PostgresService().probe(f"postgresql://x:y@127.0.0.1:{procs.free_port()}/postgres")
    assert not health.healthy
    assert health.detail
