"""The first MongoDB commands a learner types, on the seeded default workspace (`main`, database
``dojo``), each answering as MongoDB 8 documents it: on the emulator (through the kit's
corrections, dbdojo/mongo/emulator/dialect.py) as on a real MongoDB (``DOJO_MONGO_URL``).

The dataset holds Decimal128 values (order totals): the case where ``listDatabases`` failed.
"""

from __future__ import annotations

import datetime
import os
from collections.abc import Iterator

import pymongo
import pytest
from bson import CodecOptions, ObjectId
from bson.decimal128 import Decimal128
from bson.raw_bson import RawBSONDocument
from pymongo.database import Database

from dbdojo.notebook import testenv

SEEDED = {
    "customers",
    "dataset_info",
    "delivery_events",
    "drivers",
    "orders",
    "products",
    "regions",
}
MIB = 1 << 20


@pytest.fixture(scope="module")
def client(seeded_checkout) -> Iterator[pymongo.MongoClient]:
    """A plain MongoClient on the checkout's MongoDB URL, as a learner makes one."""
    with testenv.environ(seeded_checkout):
        from dbdojo.connect import server_url

        url = server_url("mongo")
    with pymongo.MongoClient(url, serverSelectionTimeoutMS=60_000) as made:
        yield made


@pytest.fixture(scope="module")
def db(client) -> Database:
    return client["dojo"]


@pytest.fixture
def mine(db) -> Iterator[pymongo.collection.Collection]:
    """The learner's own collection, dropped afterwards."""
    name = f"my_notes_{os.getpid()}"
    db.drop_collection(name)
    yield db[name]
    db.drop_collection(name)


def test_the_dataset_holds_decimals(db):
    order = db.orders.find_one({"total": {"$type": "decimal"}})
    assert order is not None and isinstance(order["total"], Decimal128)
    [sized] = db.orders.aggregate(
        [{"$match": {"_id": order["_id"]}}, {"$project": {"size": {"$bsonSize": "$$ROOT"}}}]
    )
    raw = db.get_collection("orders", codec_options=CodecOptions(RawBSONDocument))
    assert sized["size"] == len(raw.find_one({"_id": order["_id"]}).raw)


def test_list_databases(client):
    names = client.list_database_names()
    assert "dojo" in names
    listed = list(client.list_databases())
    assert {d["name"] for d in listed} == set(names)
    dojo = next(d for d in listed if d["name"] == "dojo")
    assert isinstance(dojo["sizeOnDisk"], int) and dojo["sizeOnDisk"] > 0
    assert dojo["empty"] is False
    full = client.admin.command("listDatabases")
    assert full["ok"] == 1 and full["totalSize"] == sum(d["sizeOnDisk"] for d in full["databases"])
    assert full["totalSizeMb"] == full["totalSize"] // MIB
    assert client.admin.command("listDatabases", nameOnly=True)["databases"][0].keys() == {"name"}


def test_list_collections(db):
    assert set(db.list_collection_names()) >= SEEDED
    orders = next(db.list_collections(filter={"name": "orders"}))
    assert orders["type"] == "collection"
    assert "$jsonSchema" in orders["options"]["validator"], "the seeded validator"
    assert orders["info"]["readOnly"] is False and len(orders["info"]["uuid"]) == 16
    assert orders["idIndex"] == {"v": 2, "key": {"_id": 1}, "name": "_id_"}


def test_find_one_and_counts(db):
    first = db.customers.find_one()
    assert first is not None and "_id" in first
    assert db.customers.find_one({"_id": first["_id"]}) == first
    assert db.customers.find_one({"_id": "no such id"}) is None
    total = db.customers.count_documents({})
    assert total > 0
    assert db.customers.estimated_document_count() == total
    city = first["city"]
    assert db.customers.count_documents({"city": city}) == len(
        list(db.customers.find({"city": city}))
    )


def test_a_cursor_iterated_to_the_end(db):
    expected = db.orders.count_documents({})
    cursor = db.orders.find({}, {"_id": 1}, batch_size=500)  # many getMore round trips
    ids = [doc["_id"] for doc in cursor]
    assert len(ids) == expected == len(set(ids))
    assert cursor.alive is False
    sorted_ids = [d["_id"] for d in db.orders.find({}, {"_id": 1}).sort("_id", -1).limit(3)]
    assert sorted_ids == sorted(ids, reverse=True)[:3]


def test_distinct(db):
    cities = db.customers.distinct("city")
    assert len(cities) == len(set(cities))
    assert set(cities) == {doc["city"] for doc in db.customers.find({}, {"city": 1})}
    assert None not in cities


def test_list_indexes(db):
    indexes = list(db.orders.list_indexes())
    assert dict(indexes[0]) == {"v": 2, "key": {"_id": 1}, "name": "_id_"}
    for index in indexes:
        assert "ns" not in index, "MongoDB 4.4+ lists no ns"
        assert index["v"] == 2 and index["key"]
        assert index.get("unique", True) is True, "unique is listed only when true"
    info = db.orders.index_information()
    assert set(info) == {i["name"] for i in indexes}
    assert info["_id_"] == {"v": 2, "key": [("_id", 1)]}


def test_db_stats(db):
    stats = db.command("dbStats")
    assert stats["ok"] == 1 and stats["db"] == "dojo"
    assert stats["collections"] == len(db.list_collection_names())
    assert stats["views"] == 0
    counts = {name: db[name].estimated_document_count() for name in db.list_collection_names()}
    assert stats["objects"] == sum(counts.values())
    assert stats["dataSize"] > 0 and stats["storageSize"] > 0
    assert stats["avgObjSize"] == pytest.approx(stats["dataSize"] / stats["objects"])
    indexes = sum(len(list(db[name].list_indexes())) for name in counts)
    assert stats["indexes"] == indexes and stats["indexSize"] > 0
    assert stats["totalSize"] == stats["storageSize"] + stats["indexSize"]
    assert stats["scaleFactor"] == 1
    assert 0 < stats["fsUsedSize"] <= stats["fsTotalSize"]
    scaled = db.command("dbStats", scale=1024)
    assert scaled["scaleFactor"] == 1024 and scaled["dataSize"] == stats["dataSize"] // 1024


def test_coll_stats(db):
    stats = db.command("collStats", "orders")
    assert stats["ok"] == 1 and stats["ns"] == "dojo.orders"
    assert stats["count"] == db.orders.count_documents({})
    assert stats["size"] > 0 and isinstance(stats["avgObjSize"], int)
    assert stats["avgObjSize"] == stats["size"] // stats["count"]
    assert stats["capped"] is False
    names = {i["name"] for i in db.orders.list_indexes()}
    assert stats["nindexes"] == len(names) and set(stats["indexSizes"]) == names
    assert stats["totalIndexSize"] == sum(stats["indexSizes"].values())
    assert stats["totalSize"] == stats["storageSize"] + stats["totalIndexSize"]

    [staged] = db.orders.aggregate([{"$collStats": {"storageStats": {}, "count": {}}}])
    assert staged["ns"] == "dojo.orders" and staged["count"] == stats["count"]
    assert isinstance(staged["localTime"], datetime.datetime) and staged["host"]
    assert staged["storageStats"]["size"] == stats["size"]
    assert staged["storageStats"]["indexSizes"] == stats["indexSizes"]


def test_server_info(client):
    info = client.server_info()
    assert info["ok"] == 1
    assert info["version"].startswith("8.") and info["versionArray"][0] == 8
    assert info["bits"] == 64 and info["maxBsonObjectSize"] == 16 * MIB
    assert info["gitVersion"]


def test_insert_update_delete_drop_my_own_collection(db, mine):
    inserted = mine.insert_one(
        {"title": "first note", "tags": ["mongo"], "price": Decimal128("2.50")}
    )
    assert inserted.acknowledged and isinstance(inserted.inserted_id, ObjectId)
    assert mine.name in db.list_collection_names()
    assert "dojo" in db.client.list_database_names(), "a Decimal128 of mine lists fine too"

    updated = mine.update_one({"_id": inserted.inserted_id}, {"$set": {"title": "edited"}})
    assert (updated.matched_count, updated.modified_count) == (1, 1)
    again = mine.update_one({"_id": inserted.inserted_id}, {"$set": {"title": "edited"}})
    assert (again.matched_count, again.modified_count) == (1, 0)
    assert mine.find_one({}, {"_id": 0}) == {
        "title": "edited",
        "tags": ["mongo"],
        "price": Decimal128("2.50"),
    }
    stats = db.command("collStats", mine.name)
    assert stats["count"] == 1 and stats["size"] > 0

    deleted = mine.delete_one({"_id": inserted.inserted_id})
    assert deleted.deleted_count == 1 and mine.count_documents({}) == 0

    mine.drop()
    assert mine.name not in db.list_collection_names()
    assert set(db.list_collection_names()) >= SEEDED, "the seeded collections stay"
