"""MongoDB 8 forms the emulator lacks, rewritten by the kit (dialect.rewrite) into forms
it evaluates the same way; each result is the one MongoDB's documentation gives. On a real
MongoDB (DOJO_MONGO_URL) the same assertions hold without any rewriting."""

from __future__ import annotations

import pytest
from bson.decimal128 import Decimal128

from dbdojo.mongo.emulator.dialect import rewrite

DOCS = [
    {"_id": 1, "a": [1, 2, 3, 4], "items": [{"q": 5, "p": 2}, {"q": 1, "p": 9}],
     "d": Decimal128("2.5"), "n": 5},
    {"_id": 2, "a": [5], "items": [{"q": 3, "p": 7}], "d": Decimal128("1"), "n": 2},
]  # fmt: skip


@pytest.fixture(scope="module")
def coll(dojo_servers):
    from dbdojo.connect import mongo_client

    db = mongo_client()["dojo_test_dialect"]
    db.c.drop()
    db.c.insert_many(DOCS)
    yield db.c
    db.client.drop_database("dojo_test_dialect")


def project(coll, expression) -> list:
    return [
        d["x"] for d in coll.aggregate([{"$project": {"x": expression}}, {"$sort": {"_id": 1}}])
    ]


def test_not_expression(coll):
    assert project(coll, {"$not": [{"$gt": ["$_id", 1]}]}) == [True, False]


def test_filter_with_limit(coll):
    cond = {"input": "$a", "cond": {"$gt": ["$$this", 1]}, "limit": 1}
    assert project(coll, {"$filter": cond}) == [[2], [5]]


def test_and_inside_elem_match(coll):
    query = {"items": {"$elemMatch": {"$and": [{"q": {"$gt": 2}}, {"p": {"$lt": 5}}]}}}
    assert [d["_id"] for d in coll.find(query)] == [1]


def test_to_double_of_decimal_and_int(coll):
    assert project(coll, {"$toDouble": "$d"}) == [2.5, 1.0]
    assert project(coll, {"$toDouble": "$n"}) == [5.0, 2.0]


def test_rewrite_leaves_other_forms_alone():
    query = {"a": {"$not": {"$gt": 3}}, "b": {"$elemMatch": {"$and": [{"q": 1}, {"q": 2}]}}}
    assert rewrite(query) == query
