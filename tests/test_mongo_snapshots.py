"""MongoDB snapshots on the kit's emulator: exact restores, atomic builds, clear refusals."""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pymongo
import pytest
from bson import Decimal128, json_util

from dbdojo.mongo import snapshots as mongo_snapshots
from dbdojo.mongo.service import emulator_available
from dbdojo.workspace import Workspace
from tests.helpers import Running, running_emulator

pytestmark = pytest.mark.skipif(
    emulator_available() is not None, reason=f"no MongoDB emulator: {emulator_available()}"
)

emulator = pytest.fixture(scope="module")(running_emulator)

ORDER_SCHEMA = {
    "$jsonSchema": {
        "bsonType": "object",
        "required": ["customer", "total"],
        "properties": {"total": {"bsonType": "decimal"}},
    }
}


def build_shop(db) -> None:
    """A small dataset with what the real one has: validators, unique/compound/multikey/TTL
    indexes, decimals, dates, nested arrays."""
    db.create_collection("orders", validator=ORDER_SCHEMA, validationLevel="strict")
    db.orders.insert_many(
        [
            {
                "_id": i,
                "customer": f"c{i % 37}",
                "total": Decimal128(f"{i * 3 % 500}.{i % 100:02d}"),
                "placed": dt.datetime(2024, 1, 1, tzinfo=dt.UTC) + dt.timedelta(hours=i),
                "lines": [{"sku": f"s{(i + k) % 11}", "qty": k + 1} for k in range(i % 4)],
                "tags": ["late"] if i % 9 == 0 else [],
            }
            for i in range(600)
        ],
        ordered=False,
    )
    db.orders.create_index([("customer", 1), ("placed", -1)], name="customer_placed")
    db.orders.create_index("lines.sku")
    db.customers.insert_many([{"_id": f"c{i}", "email": f"c{i}@example.org"} for i in range(37)])
    db.customers.create_index("email", unique=True)
    db.sessions.insert_one({"_id": "s1", "seen": dt.datetime(2024, 1, 1, tzinfo=dt.UTC)})
    db.sessions.create_index("seen", expireAfterSeconds=3600 * 24 * 365 * 100)


def checksum(db: pymongo.database.Database) -> str:
    """Documents (in _id order), indexes and collection options of every collection."""
    digest = hashlib.sha256()
    for info in sorted(db.list_collections(), key=lambda c: c["name"]):
        name = info["name"]
        indexes = sorted(
            ({k: v for k, v in ix.items() if k != "ns"} for ix in db[name].list_indexes()),
            key=lambda ix: ix["name"],
        )
        digest.update(json_util.dumps([name, info.get("options", {}), indexes]).encode())
        for doc in db[name].find().sort("_id", 1):
            digest.update(json_util.dumps(doc, sort_keys=True).encode())
    return digest.hexdigest()


@pytest.fixture(scope="module")
def shop(emulator: Running) -> str:
    mongo_snapshots.build_snapshot("shop", build_shop)
    return "shop"


def test_restore_is_exact_after_destructive_changes(emulator: Running, shop: str) -> None:
    ws = Workspace("snap_exact")
    mongo_snapshots.restore(ws, shop)
    with emulator.client() as client:
        db = client[ws.database]
        before = checksum(db)
        assert db.orders.count_documents({}) == 600
        db.orders.delete_many({"customer": "c3"})
        db.orders.update_many({}, {"$set": {"tags": ["broken"]}})
        db.orders.drop_index("customer_placed")
        db.sessions.drop()
        db.create_collection("sessions")  # no TTL index now (the emulator has no collMod)
        db.customers.drop()
        db.junk.insert_one({"x": 1})
        assert checksum(db) != before
        mongo_snapshots.restore(ws, shop)
        assert checksum(db) == before
        with pytest.raises(pymongo.errors.WriteError) as bad:
            db.orders.insert_one({"customer": "c1"})  # the validator came back
        assert bad.value.code == 121
        with pytest.raises(pymongo.errors.DuplicateKeyError):
            db.customers.insert_one({"email": "c1@example.org"})  # so did the unique index


def test_workspaces_are_independent(emulator: Running, shop: str) -> None:
    one, two = Workspace("snap_one"), Workspace("snap_two")
    mongo_snapshots.restore(one, shop)
    mongo_snapshots.restore(two, shop)
    with emulator.client() as client:
        client[one.database].orders.delete_many({})
        assert client[two.database].orders.count_documents({}) == 600
        assert mongo_snapshots.workspaces()[two.database] == shop
        mongo_snapshots.drop(one)
        assert client[one.database].list_collection_names() == []
        assert one.database not in client.list_database_names()  # holds Decimal128: lists fine
        assert two.database in client.list_database_names()
        assert one.database not in mongo_snapshots.workspaces()


def test_reset_all_restores_every_workspace(emulator: Running, shop: str) -> None:
    ws = Workspace("snap_reset")
    mongo_snapshots.restore(ws, shop)
    with emulator.client() as client:
        client[ws.database].orders.delete_many({})
        assert ws.database in mongo_snapshots.reset_all()
        assert client[ws.database].orders.count_documents({}) == 600


def test_missing_snapshot_says_which_exist(emulator: Running, shop: str) -> None:
    with pytest.raises(mongo_snapshots.MissingSnapshot, match=r"no MongoDB snapshot 'nope'.*shop"):
        mongo_snapshots.restore(Workspace("snap_missing"), "nope")
    assert "shop" in mongo_snapshots.snapshots()


def test_build_killed_midway_leaves_the_old_snapshot(emulator: Running, tmp_path: Path) -> None:
    mongo_snapshots.build_snapshot("atomic", lambda db: db.items.insert_many([{"v": "old"}]))
    script = tmp_path / "slow_build.py"
    script.write_text(
        "import time\n"
        "from dbdojo.mongo import snapshots as mongo_snapshots\n"
        "def build(db):\n"
        "    db.items.insert_many([{'v': 'new'}] * 50)\n"
        "    print('inserted', flush=True)\n"
        "    time.sleep(60)\n"
        "mongo_snapshots.build_snapshot('atomic', build)\n"
    )
    proc = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None and proc.stdout.readline().strip() == "inserted"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    ws = Workspace("snap_atomic")
    mongo_snapshots.restore(ws, "atomic")
    with emulator.client() as client:
        assert [d["v"] for d in client[ws.database].items.find()] == ["old"]


def test_torn_snapshot_write_is_ignored_and_cleaned(emulator: Running) -> None:
    mongo_snapshots.build_snapshot("torn", lambda db: db.items.insert_many([{"v": 1}]))
    assert emulator.record is not None
    directory = Path(str(emulator.record.data_dir)) / "snapshots"
    dead_pid = _dead_pid()
    torn = directory / f".torn.snapshot.{dead_pid}.tmp"
    torn.write_bytes(b"half a pickle")  # what a build killed while writing leaves
    assert mongo_snapshots.snapshots().count("torn") == 1
    ws = Workspace("snap_torn")
    mongo_snapshots.restore(ws, "torn")
    mongo_snapshots.build_snapshot("torn", lambda db: db.items.insert_many([{"v": 2}]))
    assert not torn.exists()
    mongo_snapshots.restore(ws, "torn")
    with emulator.client() as client:
        assert [d["v"] for d in client[ws.database].items.find()] == [2]


def test_emulator_not_started_by_the_kit_is_refused(
    emulator: Running, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from dbdojo import procs

    port = procs.free_port()
    foreign = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "dbdojo.mongo.emulator.server",
            "--port",
            str(port),
            "--home",
            str(tmp_path),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        url = f"mongodb://127.0.0.1:{port}/?directConnection=true"
        _wait_ping(url)
        monkeypatch.setenv("DOJO_MONGO_URL", url)
        with pytest.raises(mongo_snapshots.SnapshotsUnsupported, match="did not start"):
            mongo_snapshots.restore(Workspace("snap_foreign"), "shop")
    finally:
        foreign.terminate()
        foreign.wait(30)


def _wait_ping(url: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    with pymongo.MongoClient(url, serverSelectionTimeoutMS=500) as client:
        while True:
            try:
                client.admin.command("ping")
                return
            except pymongo.errors.PyMongoError:
                if time.monotonic() > deadline:
                    raise


def _dead_pid() -> int:
    proc = subprocess.Popen(["true"])
    proc.wait()
    return proc.pid
