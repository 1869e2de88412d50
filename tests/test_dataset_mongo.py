"""MongoDB holds the same orders as PostgreSQL (same ids, same totals), restored exactly."""

from __future__ import annotations

import hashlib

import pytest
from bson import json_util

from dbdojo.connect import mongo_db, pg_server
from dbdojo.dataset.generate import generate
from dbdojo.dataset.workspaces import reset
from dbdojo.mongo import snapshots as mongo_snapshots


@pytest.fixture
def mongo_ws(scratch):
    try:
        reset(scratch, services=("mongo",)) if mongo_snapshots.snapshots() else None
    except mongo_snapshots.SnapshotsUnsupported as exc:
        pytest.fail(f"needs the kit's MongoDB emulator or a real MongoDB: {exc}")
    if "dojo" not in mongo_snapshots.snapshots():
        pytest.fail("MongoDB has no `dojo` snapshot after seeding: run `dojo seed`")
    yield scratch
    mongo_snapshots.drop(scratch)


def mongo_state(db) -> str:
    digest = hashlib.sha256()
    for name in sorted(db.list_collection_names()):
        for doc in db[name].find().sort("_id", 1):
            digest.update(json_util.dumps(doc, sort_keys=True).encode())
    return digest.hexdigest()


def test_the_three_databases_agree(mongo_ws):
    db = mongo_db(mongo_ws)
    data = generate("tiny")
    assert db.orders.count_documents({}) == min(data.scale.mongo_orders, data.rows("orders"))
    with pg_server(mongo_ws.database) as conn:
        pg_totals = dict(conn.execute("SELECT order_id, total FROM orders").fetchall())
        pg_lines = dict(
            conn.execute("SELECT order_id, count(*) FROM order_lines GROUP BY 1").fetchall()
        )
    for doc in db.orders.find({}, {"total": 1, "lines": 1}):
        assert doc["total"].to_decimal() == pg_totals[doc["_id"]], doc["_id"]
        assert len(doc["lines"]) == pg_lines[doc["_id"]], doc["_id"]
    info = db.dataset_info.find_one({"_id": "dataset"})
    assert info["checksum"] == data.checksum()
    assert db.drivers.count_documents({}) == data.rows("drivers")
    assert db.delivery_events.count_documents({}) == db.orders.count_documents({})


def test_reset_restores_exactly(mongo_ws):
    db = mongo_db(mongo_ws)
    before = mongo_state(db)
    db.orders.delete_many({"status": "delivered"})
    db.products.update_many({}, {"$set": {"price": 0}})
    db.drivers.drop()
    assert mongo_state(db) != before
    reset(mongo_ws, services=("mongo",))
    assert mongo_state(db) == before
