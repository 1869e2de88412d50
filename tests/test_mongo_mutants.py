"""The MongoDB mutation harness (dbdojo/checking/mongo_mutants.py): each operator proposes the
mistake it names, once, on queries, pipelines and pymongo calls; the control reprints the
reference unchanged; source that is not Python gives no mutants."""

from __future__ import annotations

from dbdojo.checking.mongo_mutants import mutants, reprinted

PIPELINE = """[
    {"$match": {"placed_at": {"$gte": 10, "$lt": 20}, "status": "delivered"}},
    {"$group": {"_id": "$merchant_id", "orders": {"$sum": 1}, "revenue": {"$sum": "$total"},
                "first": {"$first": "$total"}}},
    {"$setWindowFields": {"sortBy": {"revenue": -1}, "output": {"rank": {"$rank": {}}}}},
    {"$unwind": "$lines"},
    {"$sort": {"revenue": -1, "_id": 1}},
    {"$limit": 5},
]"""
QUERY = (
    'db.products.find({"category": {"$in": ["bakery"]}, "price": {"$gt": 1}})'
    '.sort([("price", 1), ("_id", 1)]).limit(5)'
)
WRITE = "coll.update_many({'status': 'queued'}, {'$set': {'status': 'done'}})"


def by_operator(source: str) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for m in mutants(source):
        found.setdefault(m.operator, []).append(m.sql)
    return found


def test_pipeline_mutants_name_the_usual_mistakes():
    found = by_operator(PIPELINE)
    assert any("'$gt': 10" in s for s in found["comparison"])
    assert any("'$lte': 20" in s for s in found["comparison"])
    assert {"$denseRank", "$documentNumber"} <= {
        op for s in found["ranking operator"] for op in ("$denseRank", "$documentNumber") if op in s
    }
    assert any("'$last': '$total'" in s for s in found["accumulator"])
    assert any("'$sort': {'revenue': 1, '_id': 1}" in s for s in found["sort direction"])
    assert any("'$sort': {'revenue': -1}}" in s for s in found["missing tiebreaker"])
    assert any("'status'" not in s for s in found["dropped condition"])
    assert any("'orders': {'$sum': '$_id'}" in s for s in found["$sum: 1 / $sum: field"])
    assert any("'revenue': {'$sum': 1}" in s for s in found["$sum: 1 / $sum: field"])
    assert any("'$limit': 6" in s for s in found["limit + 1"])
    assert any("preserveNullAndEmptyArrays" in s for s in found["$unwind empty arrays"])


def test_query_and_write_mutants():
    found = by_operator(QUERY)
    assert any("'$nin'" in s for s in found["comparison"])
    assert any("sort([('price', 1)])" in s for s in found["missing tiebreaker"])
    assert any("('price', -1)" in s for s in found["sort direction"])
    assert any(".limit(6)" in s for s in found["limit + 1"])
    assert any("'price'" not in s.split(".sort")[0] for s in found["dropped condition"])
    assert by_operator(WRITE)["one / many"] == [WRITE.replace("update_many", "update_one")]


def test_each_mutant_once_and_never_the_reference():
    texts = [m.sql for m in mutants(PIPELINE)]
    assert len(texts) == len(set(texts))
    assert reprinted(PIPELINE) not in texts
    assert reprinted(PIPELINE) == reprinted(reprinted(PIPELINE))


def test_source_that_is_not_python_has_no_mutants():
    assert mutants("db.orders.find({") == []
    assert reprinted("db.orders.find({") is None
