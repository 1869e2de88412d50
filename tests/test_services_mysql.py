"""The kit's own MariaDB/MySQL (lesson X3): started where a server binary exists, unprivileged,
loopback only, with a generated password; stopped and restarted with its data; and, where no
binary exists, `dojo up`/`status`/`doctor` say how to get one while the others work on.

In CI (.ci/run sets DOJO_REQUIRE_MYSQL=1 after installing Debian's mariadb-server) a missing
server fails these tests instead of skipping them."""

from __future__ import annotations

import os

import psutil
import pymysql
import pytest

from dbdojo import state
from dbdojo.commands.doctor import run_checks
from dbdojo.connect import mysql_connect_url, mysql_params
from dbdojo.services import manager
from dbdojo.services import mysql as mysql_service
from tests.helpers import isolated_state, own_server, recorded, require_mysql_binary


@pytest.fixture(scope="module")
def server():
    require_mysql_binary()
    with own_server("mysql"):
        yield recorded("mysql")


def test_mariadb_is_installed_where_ci_requires_it():
    require_mysql_binary()
    assert mysql_service.binary_version(mysql_service.server_binary()).startswith(
        ("MariaDB ", "MySQL ")
    )


def test_runs_unprivileged_on_loopback_with_data_under_the_state_dir(server):
    proc = psutil.Process(server.pid)
    assert proc.username() == ("nobody" if os.geteuid() == 0 else psutil.Process().username())
    listening = [c.laddr for c in proc.net_connections("tcp") if c.status == psutil.CONN_LISTEN]
    assert listening and all(addr.ip == "127.0.0.1" for addr in listening), listening
    assert server.data_dir and server.data_dir.startswith(str(state.data_root()))
    assert state.secret("mysql") not in " ".join(proc.cmdline())
    assert not (state.credentials_file("mysql").parent / "init.sql").exists()


def test_generated_password_is_required_and_kept_beside_the_data(server):
    params = mysql_params(server.url)
    assert params["user"] == "root" and params["password"] == state.secret("mysql")
    assert len(params["password"]) >= 20
    kept = state.credentials_file("mysql")
    assert kept.stat().st_mode & 0o077 == 0 and params["password"] in kept.read_text()
    with pytest.raises(pymysql.err.OperationalError) as refused:
        pymysql.connect(host="127.0.0.1", port=server.port, user="root", password="wrong")
    assert refused.value.args[0] == 1045  # access denied
    with mysql_connect_url(server.url) as conn, conn.cursor() as cur:
        cur.execute("SELECT @@character_set_server, @@bind_address")
        assert cur.fetchone() == ("utf8mb4", "127.0.0.1")


def test_status_probes_it(server):
    [row] = manager.status(["mysql"])
    assert row.healthy and row.version.startswith(("MariaDB ", "MySQL ")), row
    assert "***" in row.url


def test_up_again_adopts_the_running_server(server):
    [outcome] = manager.up(["mysql"])
    assert outcome.action == "running" and recorded("mysql").pid == server.pid, outcome


def test_down_then_up_keeps_data_and_password(server):
    with mysql_connect_url(server.url) as conn, conn.cursor() as cur:
        cur.execute("CREATE DATABASE IF NOT EXISTS kept")
        cur.execute("CREATE TABLE IF NOT EXISTS kept.t (id INT PRIMARY KEY)")
        cur.execute("REPLACE INTO kept.t VALUES (7)")
    [stopped] = manager.down(["mysql"])
    assert stopped.action == "stopped" and not psutil.pid_exists(server.pid)
    [started] = manager.up(["mysql"])
    assert started.action == "started", started.detail
    again = recorded("mysql")
    assert again.pid != server.pid and mysql_params(again.url) == mysql_params(server.url)
    with mysql_connect_url(again.url) as conn, conn.cursor() as cur:
        cur.execute("SELECT id FROM kept.t")
        assert cur.fetchall() == ((7,),)


def test_without_a_binary_the_kit_says_how_to_get_one_and_goes_on(monkeypatch):
    monkeypatch.setattr(mysql_service, "server_binary", lambda: None)
    with isolated_state():
        outcomes = {o.service: o for o in manager.up(["mysql", "redis"])}
        try:
            assert outcomes["mysql"].action == "not installed" and outcomes["mysql"].ok
            assert "apt install mariadb-server" in outcomes["mysql"].detail
            assert outcomes["redis"].action == "started", outcomes["redis"].detail
            rows = {row.service: row for row in manager.status(["mysql", "redis"])}
            assert (
                rows["mysql"].backend == manager.ABSENT and "DOJO_MYSQL_URL" in rows["mysql"].detail
            )
            assert rows["redis"].healthy
            checks = {c.title: c for c in run_checks()}
            assert checks["MariaDB/MySQL binaries"].level == "warn"
        finally:
            manager.down(["redis"])


def test_options_database_is_postgres_or_mysql_for_sql_only():
    from dbdojo.checking.model import Exercise, problems

    def found(kind: str, database: str) -> list[str]:
        exercise = Exercise("zz.a", "A", kind, "-- a", ["h"], {"database": database})
        return [p for p in problems(exercise) if "options.database" in p]

    assert found("sql", "mysql") == [] and found("sql", "postgres") == []
    assert found("sql", "oracle") and found("sql-ddl", "mysql") and found("redis", "mysql")


def test_answers_on_mariadb_are_one_query():
    from dbdojo.checking.runners import AnswerError
    from dbdojo.checking.runners.mysql import query_text

    assert query_text("-- the answer\nSELECT 1;\n-- done\n") == "-- the answer\nSELECT 1"
    assert query_text("WITH a AS (SELECT 1) SELECT * FROM a").startswith("WITH")
    for refused in ("DELETE FROM orders", "/* x */ UPDATE orders SET total = 0", "-- nothing"):
        with pytest.raises(AnswerError):
            query_text(refused)


def test_dropping_a_workspace_drops_its_mariadb_copy(server):
    from dbdojo.dataset import mysql_data
    from dbdojo.workspace import Workspace

    ws = Workspace("mysql_drop_test")
    with mysql_connect_url(recorded("mysql").url) as conn, conn.cursor() as cur:
        cur.execute(f"CREATE DATABASE `{ws.database}`")
        cur.execute(f"CREATE TABLE `{ws.database}`.t (id INT)")
    assert mysql_data.drop(ws) == [f"MariaDB {ws.database}"]
    assert mysql_data.drop(ws) == []


def test_x3_notebooks_first_cell_says_why_without_a_server(monkeypatch):
    from dbdojo.notebook.mysql import MySQLUnavailable, require_mysql
    from dbdojo.procs import free_port

    monkeypatch.setattr(mysql_service, "server_binary", lambda: None)
    with isolated_state():
        with pytest.raises(MySQLUnavailable) as none_installed:
            require_mysql()
        assert "apt install mariadb-server" in str(none_installed.value)
        monkeypatch.setenv("DOJO_MYSQL_URL", f"mysql://root:x@127.0.0.1:{free_port()}/")
        with pytest.raises(MySQLUnavailable) as down:
            require_mysql()
        assert "does not answer" in str(down.value)
        assert down.value._render_traceback_() == [f"MariaDB/MySQL is not available: {down.value}"]
