"""`dojo workspaces` and `dojo drop` against the real servers: sizes, presence, dropping."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from psycopg import sql

from dbdojo.commands import doctor
from dbdojo.connect import mongo_client, redis_client, server_url
from dbdojo.dataset import disk, pg
from dbdojo.workspace import Workspace, allocated

DOJO = Path(sys.executable).parent / "dojo"


def dojo(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": "200"}
    return subprocess.run([str(DOJO), *args], capture_output=True, text=True, env=env, timeout=120)


@pytest.fixture
def made(dojo_servers) -> Iterator[Workspace]:
    """A workspace of this test in all three databases: a PostgreSQL database with a spare
    copy, a MongoDB database, a Redis logical database holding one key."""
    for service in ("postgres", "mongo", "redis"):
        dojo_servers.url(service)
    ws = Workspace(f"tdisk_{os.getpid()}")
    with pg.admin() as conn:
        for name in (ws.database, pg.spare_name(ws.database)):
            pg.drop(conn, name)
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    with mongo_client() as client:
        client[ws.database].things.insert_one({"n": 1})
    redis_client(ws).set("tdisk", "1")
    yield ws
    disk.drop(ws)


def test_inventory_counts_the_spare_and_sees_all_three(made: Workspace) -> None:
    found = {u.workspace: u for u in disk.inventory().workspaces}
    usage = found[made.name]
    with pg.admin() as conn:
        [(own,)] = conn.execute("SELECT pg_database_size(%s)", (made.database,)).fetchall()
    assert usage.postgres_bytes == own
    assert usage.spare_bytes > 0 and usage.total_bytes == own + usage.spare_bytes
    assert usage.mongo is True
    assert usage.redis is True and usage.redis_db == allocated()[made.name]


def test_cli_lists_as_table_and_json(made: Workspace) -> None:
    table = dojo("workspaces")
    assert table.returncode == 0, table.stderr
    assert made.name in table.stdout and "of which spare" in table.stdout
    listed = json.loads(dojo("workspaces", "--json").stdout)
    [row] = [w for w in listed["workspaces"] if w["workspace"] == made.name]
    assert row["mongo"] is True and row["redis"] is True and row["spare_bytes"] > 0


def test_drop_removes_it_everywhere(made: Workspace) -> None:
    redis_db = allocated()[made.name]
    result = dojo("drop", made.name)
    assert result.returncode == 0, result.stderr
    assert f"PostgreSQL {made.database}_spare" in result.stdout
    with pg.admin() as conn:
        assert not pg.exists(conn, made.database)
        assert not pg.exists(conn, pg.spare_name(made.database))
    with mongo_client() as client:
        # not list_database_names(): the emulator cannot list once a database holds Decimal128
        assert client[made.database].list_collection_names() == []
    assert made.name not in allocated()
    assert redis.Redis.from_url(server_url("redis"), db=redis_db).dbsize() == 0
    assert made.name not in {u.workspace for u in disk.inventory().workspaces}


def test_drop_refuses_main_without_force(dojo_servers) -> None:
    result = dojo("drop", "main")
    assert result.returncode != 0
    assert "--force" in result.stderr and "refusing" in result.stderr


def test_drop_checks_every_name_before_dropping(made: Workspace) -> None:
    result = dojo("drop", made.name, "Not-A-Name")
    assert result.returncode != 0 and "Not-A-Name" in result.stderr
    with pg.admin() as conn:
        assert pg.exists(conn, made.database)


def test_exhausted_redis_names_commands_that_exist() -> None:
    source = (Path(disk.__file__).parents[1] / "workspace.py").read_text()
    assert "--drop-workspaces" not in source
    assert "`dojo drop WORKSPACE...`" in source and "`dojo workspaces`" in source


def test_doctor_warns_when_free_space_is_below_twice_the_template(monkeypatch) -> None:
    monkeypatch.setattr(doctor.state, "get_record", lambda name: _FakeRecord())
    monkeypatch.setattr(disk, "template_bytes", lambda: 800 * 10**6)
    monkeypatch.setattr(disk, "free_bytes", lambda path: 1500 * 10**6)
    [check] = doctor._disk_space(set())
    assert check.level == "warn" and "dojo workspaces" in check.fix and "dojo drop" in check.fix
    monkeypatch.setattr(disk, "free_bytes", lambda path: 1700 * 10**6)
    [check] = doctor._disk_space(set())
    assert check.level == "ok"


class _FakeRecord:
    data_dir = "/"
    pid = 1
