"""A snapshot build stores documents directly (dbdojo.mongo.snapshots.bulkload): the image is
the one mongoeco's own insert_many makes, and what insert_many refuses is still refused."""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest
from bson import Decimal128
from mongoeco import MongoClient
from mongoeco.engines.memory import MemoryEngine

from dbdojo.dataset import mongo_data
from dbdojo.dataset.generate import generate
from dbdojo.mongo.emulator import memstate
from dbdojo.mongo.snapshots import bulkload, inprocess


def _documents(image: memstate.Image) -> dict[str, list]:
    engine = MemoryEngine()
    asyncio.run(memstate.install(engine, "x", image))
    with MongoClient(engine) as client:
        return {
            name: list(client.x[name].find().sort("_id", 1)) for name in sorted(image["_storage"])
        }


def _index_entries(image: memstate.Image) -> dict:
    return {
        coll: {name: dict(entries.items()) for name, entries in per_index.items()}
        for coll, per_index in image["_index_data"].items()
    }


def test_the_dataset_image_is_the_one_insert_many_makes(monkeypatch):
    data = generate("tiny")
    fast = inprocess.build_image(mongo_data.builder(data, {"checksum": "c"}))
    monkeypatch.setattr(bulkload, "bulk_insert", lambda *args: False)
    slow = inprocess.build_image(mongo_data.builder(data, {"checksum": "c"}))
    assert _documents(fast) == _documents(slow)
    assert len(_documents(fast)["orders"]) == data.scale.mongo_orders
    assert _index_entries(fast) == _index_entries(slow)
    assert fast["_indexes"] == slow["_indexes"]
    assert fast["_collection_options"] == slow["_collection_options"]
    assert fast["_collections"] == slow["_collections"]
    for coll, docs in fast["_storage"].items():  # the same storage keys and stored payloads
        assert [(k, v.payload) for k, v in docs.items()] == [
            (k, v.payload) for k, v in slow["_storage"][coll].items()
        ], coll


@pytest.mark.parametrize(
    "value",
    [
        2**40,  # an Int64 on the wire
        {"$x": 1},
        {"a.b": 1},
        ("a", 1),
        b"bytes",
    ],
)
def test_values_it_does_not_encode_go_through_mongoeco(value):
    with pytest.raises(bulkload._Unusual):
        bulkload.encode({"v": value})
    image = inprocess.build_image(lambda db: db.items.insert_many([{"_id": 1, "v": value}]))
    assert len(image["_storage"]["items"]) == 1


def test_encode_matches_mongoeco_codec():
    engine = MemoryEngine()
    doc = {
        "_id": 7,
        "at": dt.datetime(2025, 3, 30, 1, 59, 59, 123456, tzinfo=dt.UTC),
        "naive": dt.datetime(2025, 1, 1, 12),
        "money": [Decimal128("0.10"), Decimal128("-0"), Decimal128("1E+3"), None],
        "nested": {"flag": True, "x": 1.5, "s": "é"},
    }
    assert bulkload.encode(doc) == engine._codec.encode(inprocess.as_wire(doc))
    assert bulkload.wire(doc) == inprocess.as_wire(doc)
    assert type(bulkload.wire(doc)["money"][0]) is type(inprocess.as_wire(doc)["money"][0])


def test_what_insert_many_refuses_is_refused():
    from pymongo.errors import BulkWriteError, DuplicateKeyError, WriteError

    def duplicate(db):
        db.items.insert_many([{"_id": 1}, {"_id": 2}])
        db.items.insert_many([{"_id": 3}, {"_id": 1}])

    with pytest.raises((BulkWriteError, DuplicateKeyError)):
        inprocess.build_image(duplicate)
    with pytest.raises((BulkWriteError, DuplicateKeyError)):
        inprocess.build_image(lambda db: db.items.insert_many([{"_id": 1}, {"_id": 1}]))

    def invalid(db):
        db.create_collection("orders", validator=mongo_data.ORDER_VALIDATOR)
        db.orders.insert_many([{"_id": 1, "status": "lost"}])

    with pytest.raises((BulkWriteError, WriteError)):
        inprocess.build_image(invalid)


def test_an_indexed_collection_keeps_its_index_up_to_date():
    def build(db):
        db.items.insert_many([{"_id": i, "k": i % 3} for i in range(10)])
        db.items.create_index("k")
        db.items.insert_many([{"_id": i, "k": 9} for i in range(10, 13)])

    engine = MemoryEngine()
    asyncio.run(memstate.install(engine, "x", inprocess.build_image(build)))
    with MongoClient(engine) as client:
        found = client.x.items.find({"k": 9}).hint("k_1")
        assert sorted(d["_id"] for d in found) == [10, 11, 12]


def test_a_seed_whose_mongodb_holds_another_count_is_not_current():
    from dbdojo.dataset.generate import GENERATOR_VERSION
    from dbdojo.dataset.scales import DEFAULT_SEED, get_scale
    from dbdojo.dataset.seeding import is_current

    default = get_scale("default")
    meta = {"scale": "default", "seed": str(DEFAULT_SEED), "generator_version": GENERATOR_VERSION}
    assert is_current(meta, default, DEFAULT_SEED)  # recorded before the count was
    assert is_current({**meta, "mongo_orders": str(default.mongo_orders)}, default, DEFAULT_SEED)
    assert not is_current({**meta, "mongo_orders": "12000"}, default, DEFAULT_SEED)
    assert default.mongo_orders >= 50_000 > get_scale("tiny").mongo_orders
