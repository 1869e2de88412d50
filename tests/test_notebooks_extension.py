"""``%load_ext dbdojo`` in a real IPython shell against real servers (``dojo_servers``)."""

from __future__ import annotations

import socket
import subprocess
import sys
from collections.abc import Iterator

import psycopg
import pytest

from dbdojo.notebook import testenv
from dbdojo.workspace import Workspace


@pytest.fixture
def shell(ipython_shell):
    return ipython_shell


def _scratch_database(admin_url: str, ws: Workspace) -> None:
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{ws.database}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{ws.database}"')


@pytest.fixture(scope="module")
def scratch(dojo_servers) -> Iterator[Workspace]:
    """An empty workspace of this worker (its PostgreSQL database created here)."""
    admin = dojo_servers.url("postgres")
    ws = Workspace(f"nbext_{testenv.worker()}")
    _scratch_database(admin, ws)
    yield ws
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{ws.database}" WITH (FORCE)')


@pytest.fixture
def loaded(shell, scratch, monkeypatch, capsys):
    """The extension loaded strictly on the scratch workspace; yields its banner output."""
    monkeypatch.setenv("DOJO_WORKSPACE", scratch.name)
    monkeypatch.setenv("DOJO_STRICT", "1")
    monkeypatch.delenv("DOJO_WORKSPACE_SUFFIX", raising=False)
    shell.run_line_magic("reload_ext", "dbdojo")
    yield capsys.readouterr().out
    shell.run_line_magic("unload_ext", "dbdojo")


def run(shell, source: str):
    return shell.run_cell(source)


def test_import_dbdojo_stays_light():
    heavy = ["sql", "sqlalchemy", "pandas", "psycopg", "pymongo", "redis", "IPython"]
    code = (
        "import sys, dbdojo; "
        f"print(sorted(m for m in {heavy!r} if m in sys.modules)); "
        "print(callable(dbdojo.use_workspace), callable(dbdojo.reset))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.splitlines() == ["[]", "True True"]


def test_connects_all_three_and_prints_banner(shell, scratch, loaded):
    ns = shell.user_ns
    assert ns["pg"].info.dbname == scratch.database
    assert ns["pg"].autocommit
    assert ns["db"].name == scratch.database
    assert ns["r"].connection_pool.connection_kwargs["db"] == scratch.redis_db
    assert ns["r"].ping() and isinstance(ns["r"].echo("x"), str)  # decode_responses
    assert ns["dojo"].__name__ == "dbdojo"
    banner = loaded.strip().splitlines()
    assert len(banner) == 1, loaded
    assert banner[0].startswith("dbdojo ▸ PostgreSQL 1")
    assert "MongoDB" in banner[0] and ("Valkey" in banner[0] or "Redis" in banner[0])
    if "mongoeco" in banner[0]:
        assert "not a real MongoDB" in banner[0] and "MONGODB-EMULATOR.md" in banner[0]


def test_sql_magic_on_the_workspace_with_named_parameters(shell, scratch, loaded):
    shell.user_ns["wanted"] = 41
    result = run(shell, "%sql SELECT current_database() AS db, :wanted + 1 AS answer")
    assert result.success, result.error_in_exec
    assert list(result.result) == [(scratch.database, 42)]


def test_strict_sql_error_raises_the_database_error(shell, loaded):
    import sqlalchemy.exc

    result = run(shell, "%sql SELECT * FROM no_such_table")
    assert not result.success
    assert isinstance(result.error_in_exec, sqlalchemy.exc.ProgrammingError)
    assert isinstance(result.error_in_exec.orig, psycopg.errors.UndefinedTable)


def test_learner_sql_error_shows_the_message_and_goes_on(shell, scratch, monkeypatch, capsys):
    monkeypatch.setenv("DOJO_WORKSPACE", scratch.name)
    monkeypatch.delenv("DOJO_STRICT", raising=False)
    shell.run_line_magic("reload_ext", "dbdojo")
    try:
        capsys.readouterr()
        failed = run(shell, "%sql SELECT * FROM no_such_table")
        shown = capsys.readouterr()
        assert not failed.success
        assert 'PostgreSQL UndefinedTable [42P01]: relation "no_such_table" does not exist' in (
            shown.err
        )
        assert "Traceback" not in shown.out + shown.err
        assert list(run(shell, "%sql SELECT 1 AS one").result) == [(1,)]
    finally:
        shell.run_line_magic("unload_ext", "dbdojo")


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.parametrize("strict", [False, True])
def test_a_database_that_is_down_is_named_and_the_rest_connects(
    shell, scratch, monkeypatch, capsys, strict
):
    monkeypatch.setenv("DOJO_WORKSPACE", scratch.name)
    monkeypatch.setenv("DOJO_REDIS_URL", f"redis://127.0.0.1:{_closed_port()}")
    monkeypatch.setenv("DOJO_STRICT", "1" if strict else "0")
    shell.user_ns.pop("r", None)
    try:
        if strict:
            with pytest.raises(RuntimeError, match="Redis is not running"):
                shell.run_line_magic("reload_ext", "dbdojo")
        else:
            shell.run_line_magic("reload_ext", "dbdojo")
        out = capsys.readouterr().out
        assert "⚠ Redis is not running" in out and "`dojo up`" in out
        assert "Traceback" not in out
        assert out.startswith("dbdojo ▸ PostgreSQL")
        assert "pg" in shell.user_ns and "db" in shell.user_ns and "r" not in shell.user_ns
    finally:
        shell.run_line_magic("unload_ext", "dbdojo")


def test_expect_error_with_each_client(shell, loaded, capsys):
    setup = run(
        shell,
        "pg.execute('CREATE TABLE IF NOT EXISTS t (id int PRIMARY KEY)'); "
        "pg.execute('TRUNCATE t'); pg.execute('INSERT INTO t VALUES (1)'); "
        "db.t.drop(); db.t.insert_one({'_id': 1}); r.delete('k'); r.lpush('k', 1)",
    )
    assert setup.success, setup.error_in_exec
    cells = {
        "with dojo.expect_error('UniqueViolation'):\n    pg.execute('INSERT INTO t VALUES (1)')": (
            "PostgreSQL UniqueViolation [23505] (constraint t_pkey): duplicate key value violates "
            'unique constraint "t_pkey"'
        ),
        "%%expect_error 23505\nINSERT INTO t VALUES (1)": (
            "PostgreSQL UniqueViolation [23505] (constraint t_pkey)"
        ),
        "with dojo.expect_error('t_pkey'):\n    pg.execute('INSERT INTO t VALUES (1)')": (
            "PostgreSQL UniqueViolation [23505] (constraint t_pkey)"
        ),
        "with dojo.expect_error():\n    pg.execute('SELECT 1/0')": (
            "PostgreSQL DivisionByZero [22012]: division by zero"
        ),
        "with dojo.expect_error('DuplicateKeyError'):\n    db.t.insert_one({'_id': 1})": (
            "MongoDB DuplicateKeyError [11000]: E11000 duplicate key error"
        ),
        "with dojo.expect_error('ResponseError'):\n    r.get('k')": (
            "Redis ResponseError: WRONGTYPE Operation against a key holding the wrong kind"
        ),
    }
    for source, shown in cells.items():
        capsys.readouterr()
        result = run(shell, source)
        assert result.success, (source, result.error_in_exec)
        assert capsys.readouterr().out.startswith(f"✔ error, as expected: {shown}"), source


def test_expect_error_fails_without_an_error_or_with_another_one(shell, loaded):
    from dbdojo.notebook.errors import NoErrorRaised

    quiet = run(shell, "with dojo.expect_error():\n    pg.execute('SELECT 1')")
    assert isinstance(quiet.error_in_exec, NoErrorRaised)
    quiet_sql = run(shell, "%%expect_error\nSELECT 1")
    assert isinstance(quiet_sql.error_in_exec, NoErrorRaised)
    other = run(shell, "with dojo.expect_error('UniqueViolation'):\n    pg.execute('SELECT 1/0')")
    assert isinstance(other.error_in_exec, AssertionError)
    assert "got PostgreSQL DivisionByZero [22012]" in str(other.error_in_exec)


def test_workspace_switches_every_client(shell, dojo_servers, loaded, monkeypatch, capsys):
    other = Workspace(f"nbext_{testenv.worker()}_b")
    _scratch_database(dojo_servers.url("postgres"), other)
    monkeypatch.setenv("DOJO_WORKSPACE_SUFFIX", "_b")
    result = run(shell, f"dojo.use_workspace('nbext_{testenv.worker()}', fresh=False)")
    assert result.success, result.error_in_exec
    assert result.result == other
    ns = shell.user_ns
    assert ns["pg"].info.dbname == other.database and ns["db"].name == other.database
    assert ns["r"].connection_pool.connection_kwargs["db"] == other.redis_db
    assert list(run(shell, "%sql SELECT current_database()").result) == [(other.database,)]
    assert "its data as you left it" in capsys.readouterr().out


def test_check_magic_is_registered(shell, loaded):
    assert "check" in shell.magics_manager.magics["cell"], (
        "%%check is missing: dbdojo.checking.magics.register(ip) did not register it"
    )
    assert "expect_error" in shell.magics_manager.magics["cell"]
