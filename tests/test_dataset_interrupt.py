"""A seed killed with SIGKILL at any point leaves a complete, usable dataset behind."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

from dbdojo.connect import pg_server
from dbdojo.dataset import pg
from dbdojo.dataset.generate import generate
from dbdojo.dataset.scales import DEFAULT_SEED
from dbdojo.dataset.seeding import seed
from dbdojo.dataset.workspaces import reset

OTHER_SEED = 7


def _wait_for_build(proc: subprocess.Popen, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    with pg.admin() as conn:
        while time.monotonic() < deadline:
            if pg.exists(conn, pg.build_name()):
                return
            if proc.poll() is not None:
                pytest.fail(f"`dojo seed` ended before building: {proc.stderr.read()[-2000:]}")
            time.sleep(0.02)
    pytest.fail("`dojo seed` never created the build database")


@pytest.mark.parametrize("delay", [0.0, 0.8, 2.5])
def test_kill_9_during_seed_leaves_a_complete_dataset(scratch, delay):
    proc = subprocess.Popen(
        [sys.executable, "-m", "dbdojo.cli", "seed", "--scale", "tiny", "--force",
         "--seed", str(OTHER_SEED)],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        _wait_for_build(proc)
        time.sleep(delay)
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    with pg.admin() as conn:
        meta = pg.template_meta(conn)
    assert meta is not None, "the template is gone after the kill"
    expected = generate("tiny", int(meta["seed"]))
    assert meta["checksum"] == expected.checksum()  # old or new, but complete
    reset(scratch, services=("postgres",))
    with pg_server(scratch.database) as conn:
        [(orders,)] = conn.execute("SELECT count(*) FROM orders").fetchall()
        info = dict(conn.execute("SELECT key, value FROM dataset_info").fetchall())
    assert orders == expected.rows("orders")
    assert info["checksum"] == meta["checksum"]
    if meta["seed"] != str(DEFAULT_SEED):  # the kill came after the swap: put the usual back
        seed("tiny", force=True)


def test_a_failed_postgresql_load_makes_no_other_snapshot(seeded_tiny, monkeypatch):
    """Redis's and MongoDB's snapshots are built in a thread beside PostgreSQL's load and wait
    for its checksum: when that load fails, its error is the one raised, the thread ends, and
    neither snapshot is written."""
    import threading

    from dbdojo.dataset import redis_store, seeding
    from dbdojo.mongo import snapshots as mongo_snapshots

    def broken(*args, **kwargs):
        time.sleep(0.3)  # the thread is under way meanwhile
        raise RuntimeError("the COPY failed")

    monkeypatch.setattr(pg, "build_template", broken)
    dataset = "edge_zz_failed_load"
    with pytest.raises(RuntimeError, match="the COPY failed"):
        seeding.load_snapshots(generate("tiny"), dataset, ("postgres", "redis", "mongo"))
    deadline = time.monotonic() + 30
    while any(t.name == "dojo-seed-snapshots" for t in threading.enumerate()):
        assert time.monotonic() < deadline, "the snapshot thread is still waiting"
        time.sleep(0.05)
    assert redis_store.snapshot_meta(dataset) is None
    assert dataset not in mongo_snapshots.snapshots()
