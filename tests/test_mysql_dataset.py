"""MariaDB's copy of the seeded dataset (lesson X3): `dojo reset` restores a workspace's copy,
and the student build writes X3's lab where no MariaDB answers.

These tests use the session's seeded servers; they live apart from tests/test_services_mysql.py,
whose module fixture runs a MariaDB in a state directory of its own: a session fixture first
entered inside that one would have its state directory undone when the module ends."""

from __future__ import annotations

from tests.helpers import require_mysql_binary


def test_reset_restores_a_workspaces_mariadb_copy(request):
    """`dojo reset` (workspaces.reset with MariaDB) puts a damaged copy back, indexes too."""
    from tests.fixtures.checking import dataset_checker, require_server

    require_mysql_binary()
    dataset_checker(request)  # the seeded dataset, copied into MariaDB's dojo_template
    require_server(request, "mysql")
    from dbdojo.connect import mysql_connect
    from dbdojo.dataset import mysql_data, workspaces
    from dbdojo.dataset.mysql_data import TEMPLATE
    from dbdojo.workspace import Workspace

    ws = Workspace("mysql_reset_test")
    try:
        assert mysql_data.reset(ws) is not None
        with mysql_connect(ws) as conn, conn.cursor() as cur:
            cur.execute("DELETE FROM orders WHERE order_id <= 1000")
            cur.execute("DROP TABLE products")
        workspaces.reset(ws, workspaces.WITH_MYSQL)
        with mysql_connect(ws) as conn, conn.cursor() as cur:
            for table in ("orders", "products"):
                cur.execute(
                    f"SELECT (SELECT COUNT(*) FROM {table}), "
                    f"(SELECT COUNT(*) FROM `{TEMPLATE}`.{table})"
                )
                mine, seeded = cur.fetchone()
                assert mine == seeded > 0, table
            cur.execute("SHOW INDEX FROM products WHERE Index_type = 'FULLTEXT'")
            assert cur.fetchall(), "the FULLTEXT index came back with the table"
    finally:
        from dbdojo.dataset import disk

        disk.drop(ws)  # every database of the workspace, MariaDB's copy included


def test_without_mariadb_the_student_build_still_writes_x3(request, monkeypatch, tmp_path):
    """`dojo lab` builds every lab: X3's without expected results, its checks saying why."""
    import shutil

    import nbformat

    from dbdojo.checking import build
    from dbdojo.checking.engine import Checker
    from dbdojo.checking.model import from_metadata
    from dbdojo.procs import free_port
    from tests.fixtures.checking import dataset_checker

    dataset_checker(request)  # seeded PostgreSQL: what the build computes the others on
    monkeypatch.setenv("DOJO_MYSQL_URL", f"mysql://root:x@127.0.0.1:{free_port()}/")
    source = tmp_path / "labs"
    source.mkdir()
    shutil.copy(build.default_labs_dir() / "x3-mysql-for-postgres-users-lab.ipynb", source)
    [built] = build.build_student(out=tmp_path / "out", source=source)
    cells = [c for c in nbformat.read(built, 4).cells if "exercise" in c.metadata.get("dojo", {})]
    assert len(cells) >= 14 and all(c.metadata["dojo"]["expected"] is None for c in cells)
    exercise = from_metadata(cells[0].metadata["dojo"], "SELECT 1")
    assert exercise.reference is None  # a student cell: its body is the learner's answer
    verdict = Checker(edges=[]).check(exercise, "SELECT 1")
    assert verdict.status == "error" and "checked on MariaDB/MySQL" in verdict.message


def test_a_workspace_gets_its_mariadb_copy_when_x3_first_asks(request, monkeypatch, capsys):
    """`dojo reset` (and a seed, for the main workspace) makes no MariaDB copy: lesson X3's
    first cell does, for the workspace it runs in, and `dojo reset` restores it from then on."""
    from tests.fixtures.checking import dataset_checker, require_server

    require_mysql_binary()
    dataset_checker(request)
    require_server(request, "mysql")
    from dbdojo.dataset import disk, mysql_data, workspaces
    from dbdojo.notebook.mysql import require_mysql
    from dbdojo.workspace import Workspace

    ws = Workspace("mysql_lazy_test")
    try:
        workspaces.reset(ws, workspaces.WITH_MYSQL)
        assert not mysql_data.has_copy(ws), "a reset made a MariaDB copy nobody asked for"
        monkeypatch.setenv("DOJO_WORKSPACE", ws.name)
        assert require_mysql().startswith(("MariaDB", "MySQL"))
        assert "Copying the seeded tables into MariaDB" in capsys.readouterr().err
        assert mysql_data.has_copy(ws)
        assert mysql_data.reset(ws, only_existing=True) is not None  # `dojo reset` restores it
    finally:
        disk.drop(ws)


def test_the_seeds_mariadb_copy_in_its_own_process_reports_a_failure(request):
    """The seed copies the main dataset into MariaDB from a process of its own: its failure
    still fails the seed, saying so."""
    import pytest

    from tests.fixtures.checking import dataset_checker, require_server

    require_mysql_binary()
    dataset_checker(request)
    require_server(request, "mysql")
    from dbdojo.dataset import mysql_data
    from dbdojo.errors import DojoError

    with pytest.raises(DojoError, match="copying the dataset into MariaDB/MySQL failed"):
        mysql_data.build_template_apart("edge_no_such_variant")


def test_the_seeds_mariadb_copy_dies_with_the_seed(request):
    """Killed with SIGKILL, a seed takes its MariaDB copy down with it: an orphan copy would
    go on writing the build database the next seed starts again."""
    import os
    import signal
    import subprocess
    import sys
    import time

    import psutil

    from tests.fixtures.checking import dataset_checker, require_server

    require_mysql_binary()
    dataset_checker(request)
    require_server(request, "mysql")
    from dbdojo.dataset import mysql_data

    build = mysql_data.template("edge_nulls") + "_build"
    with mysql_data._admin() as holder, holder.cursor() as cur:
        cur.execute(f"CREATE DATABASE IF NOT EXISTS `{build}`")
        cur.execute(f"CREATE TABLE IF NOT EXISTS `{build}`.held (x INT)")
        cur.execute("BEGIN")
        cur.execute(f"SELECT * FROM `{build}`.held")  # the copy's DROP DATABASE waits on this
        code = "from dbdojo.dataset import mysql_data as m; m.build_template_apart('edge_nulls')"
        seed = subprocess.Popen([sys.executable, "-c", code], env=os.environ.copy())
        try:
            deadline = time.monotonic() + 30
            while not (children := psutil.Process(seed.pid).children()):
                assert time.monotonic() < deadline, "the copy's process never started"
                time.sleep(0.05)
            [copy] = children
            time.sleep(1.0)  # imported, connected, waiting for the lock
            assert copy.is_running()
            os.kill(seed.pid, signal.SIGKILL)
            seed.wait()
            _, alive = psutil.wait_procs([copy], timeout=10)
            assert not alive, "the MariaDB copy outlived the seed that started it"
        finally:
            if seed.poll() is None:
                seed.kill()
            cur.execute("ROLLBACK")
    mysql_data.build_template("edge_nulls")  # the interrupted variant's copy, whole again
