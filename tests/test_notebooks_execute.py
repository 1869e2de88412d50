"""``dojo run-notebook``: authors re-execute a notebook in a real kernel and store its outputs;
a failing cell (a SQL error included) stops it and leaves the file as it was."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import nbformat
import psycopg
import pytest

from dbdojo.notebook import testenv
from dbdojo.workspace import Workspace


def _notebook(path: Path, *sources: str) -> Path:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nb.cells = [nbformat.v4.new_code_cell(s) for s in sources]
    nbformat.write(nb, path)
    return path


@pytest.fixture(scope="module")
def workspace(dojo_servers):
    ws = Workspace(f"nbrun_{testenv.worker()}")
    with psycopg.connect(dojo_servers.url("postgres"), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{ws.database}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{ws.database}"')
    yield ws
    with psycopg.connect(dojo_servers.url("postgres"), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{ws.database}" WITH (FORCE)')


def _run_notebook(path: Path, ws: Workspace) -> subprocess.CompletedProcess:
    dojo = Path(sys.executable).with_name("dojo")
    return subprocess.run(
        [str(dojo), "run-notebook", str(path), "--workspace", ws.name, "--no-reset"],
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_outputs_are_stored(tmp_path, workspace):
    path = _notebook(
        tmp_path / "ok.ipynb",
        "%load_ext dbdojo",
        "%sql SELECT current_database() AS db, 40 + 2 AS answer",
        "import os\nprint(os.environ['DOJO_STRICT'], r.ping())",
    )
    result = _run_notebook(path, workspace)
    assert result.returncode == 0, result.stderr
    cells = nbformat.read(path, as_version=4).cells
    assert [c.execution_count for c in cells] == [1, 2, 3]
    assert cells[0].outputs[0]["text"].startswith("dbdojo ▸ PostgreSQL")
    table = cells[1].outputs[0]["data"]["text/plain"]
    assert workspace.database in table and "42" in table
    assert cells[2].outputs[0]["text"] == "1 True\n"


def test_a_failing_query_stops_the_run_and_keeps_the_file(tmp_path, workspace):
    path = _notebook(
        tmp_path / "broken.ipynb",
        "%load_ext dbdojo",
        "%sql SELECT * FROM no_such_table",
        "print('never')",
    )
    before = path.read_bytes()
    result = _run_notebook(path, workspace)
    assert result.returncode == 1
    assert "not stored" in result.stderr and 'relation "no_such_table" does not exist' in (
        result.stderr
    )
    assert path.read_bytes() == before
