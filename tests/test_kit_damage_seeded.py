"""Fault injection on a seeded kit (issue 16): a lost Redis snapshot, a dropped edge-case
workspace, a seed interrupted by a server kill, leftovers of an interrupted seed, no room for
another workspace. One seeded state directory (``tiny`` scale) for the module."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time

import pytest
import redis

from dbdojo import state
from dbdojo.launch import wait_until
from dbdojo.workspace import REDIS_DATABASES, SNAPSHOT_REDIS_DB
from tests.helpers import DOJO, dojo, isolated_state


@pytest.fixture(scope="module")
def seeded():
    with isolated_state() as root:
        assert dojo("up").returncode == 0
        result = seed()
        assert result.returncode == 0, result.stdout + result.stderr
        try:
            yield root
        finally:
            dojo("down")


def seed(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(DOJO), "seed", "--scale", "tiny", *args],
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "COLUMNS": "200"},
        check=False,
    )


def text(result: subprocess.CompletedProcess[str]) -> str:
    assert "Traceback" not in result.stdout + result.stderr, result.stderr
    return " ".join((result.stdout + result.stderr).split())


def redis_db(db: int) -> redis.Redis:
    record = state.get_record("redis")
    assert record is not None
    return redis.Redis.from_url(f"{record.url}/{db}")


def databases() -> set[str]:
    from dbdojo.dataset import pg

    with pg.admin() as conn:
        return {r[0] for r in conn.execute("SELECT datname FROM pg_database").fetchall()}


def test_a_lost_redis_snapshot_is_repaired_by_dojo_seed_not_looped(seeded):
    redis_db(SNAPSHOT_REDIS_DB).flushdb()  # every dataset's Redis snapshot is gone
    broken = dojo("reset")
    assert broken.returncode == 1 and "`dojo seed`" in text(broken)
    started = time.monotonic()
    repaired = seed()
    assert repaired.returncode == 0, repaired.stderr
    assert "Repaired the redis snapshot" in text(repaired)
    assert time.monotonic() - started < 300
    assert dojo("reset").returncode == 0
    for name in ("edge_nulls", "edge_ties"):  # the edge cases' snapshots too
        assert dojo("reset", name).returncode == 0, name


def test_a_dropped_edge_workspace_comes_back_with_dojo_seed(seeded):
    assert dojo("drop", "edge_nulls").returncode == 0
    assert "dojo_edge_nulls" not in databases()
    assert seed().returncode == 0
    assert "dojo_edge_nulls" in databases()


def test_a_full_registry_is_a_sentence(seeded):
    path = seeded / "workspaces.json"
    before = path.read_text()
    taken = json.loads(before)
    used = {*taken.values(), SNAPSHOT_REDIS_DB}
    free = [i for i in range(1, REDIS_DATABASES) if i not in used]
    path.write_text(json.dumps({**taken, **{f"ws{i}": i for i in free}}))
    try:
        result = dojo("reset", "one_too_many")
    finally:
        path.write_text(before)
    assert result.returncode == 1
    assert "no room for the workspace" in text(result)
    assert "`dojo drop WORKSPACE...`" in text(result)
    # nothing of the workspace was made: no PostgreSQL copy, no spare (issue 23)
    assert not {d for d in databases() if d.startswith("dojo_one_too_many")}


def test_a_seed_interrupted_by_a_server_kill_is_a_sentence_and_resumes(seeded):
    proc = subprocess.Popen(
        [str(DOJO), "seed", "--scale", "tiny", "--force"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "COLUMNS": "200"},
    )
    # stop PostgreSQL while the seed loads its build database
    assert wait_until(lambda: "dojo_build" in databases(), 120, interval=0.2)
    postgres = state.get_record("postgres")
    assert postgres is not None and postgres.pid
    os.kill(postgres.pid, signal.SIGINT)
    out, err = proc.communicate(timeout=300)
    result = subprocess.CompletedProcess(proc.args, proc.returncode, out, err)
    assert result.returncode == 1
    message = text(result)
    assert "PostgreSQL server stopped or died while `dojo seed` ran" in message
    assert "restart it with `dojo up`" in message
    assert dojo("up").returncode == 0
    counted = json.loads(dojo("workspaces", "--json").stdout)
    assert "dojo_build" in counted["leftovers"], "the half-made build is not counted"
    assert counted["leftovers"]["dojo_build"] > 0
    again = seed()
    assert again.returncode == 0, again.stderr
    assert dojo("reset").returncode == 0
    assert not {name for name in databases() if name.startswith("dojo_build")}, "not cleaned"
    assert json.loads(dojo("workspaces", "--json").stdout)["leftovers"] == {}


def test_a_half_written_redis_generation_is_counted_and_cleaned(seeded):
    snapshots = redis_db(SNAPSHOT_REDIS_DB)
    snapshots.mset({f"snap:main@interrupted|k{i}": "x" for i in range(50)})
    counted = json.loads(dojo("workspaces", "--json").stdout)
    assert counted["leftover_redis_keys"] == 50
    assert "Left by an interrupted seed" in text(dojo("workspaces"))
    assert seed().returncode == 0
    assert not list(snapshots.scan_iter(match="snap:main@interrupted*"))
    assert json.loads(dojo("workspaces", "--json").stdout)["leftover_redis_keys"] == 0
