"""Check a MongoDB server for the behaviours the course relies on; print what differs.

``python -m dbdojo.mongo.probe [URL]`` (default: the kit's MongoDB). Each check runs
against a scratch database and compares with MongoDB's documented result; the findings on the
emulator are written up in ``notebooks/MONGODB-EMULATOR.md``.
"""

from __future__ import annotations

import datetime as dt
import sys
from collections.abc import Callable
from typing import Any

import pymongo
from bson import Decimal128
from pymongo.database import Database

Check = Callable[[Database], Any]


def _geo(db: Database) -> None:
    db.places.insert_many(
        [
            {"_id": "origin", "loc": {"type": "Point", "coordinates": [0.0, 0.0]}},
            {"_id": "far", "loc": {"type": "Point", "coordinates": [1.0, 0.0]}},  # ~111 km
        ]
    )
    db.places.create_index([("loc", "2dsphere")])


def _near_max_distance(db: Database) -> bool:
    _geo(db)
    near = {"$geometry": {"type": "Point", "coordinates": [0, 0]}, "$maxDistance": 1000}
    return [d["_id"] for d in db.places.find({"loc": {"$near": near}})] == ["origin"]


def _geo_near_meters(db: Database) -> bool:
    _geo(db)
    out = db.places.aggregate(
        [{"$geoNear": {"near": {"type": "Point", "coordinates": [0, 0]}, "distanceField": "d"}}]
    )
    far = next(d["d"] for d in out if d["_id"] == "far")
    return 100_000 < far < 120_000


def _center_sphere(db: Database) -> bool:
    _geo(db)
    query = {"loc": {"$geoWithin": {"$centerSphere": [[0, 0], 10 / 6378.1]}}}
    return [d["_id"] for d in db.places.find(query)] == ["origin"]


def _distinct_missing(db: Database) -> bool:
    db.t.insert_many([{"a": 1}, {"b": 2}])
    return db.t.distinct("a") == [1]


def _bucket_default(db: Database) -> bool:
    db.t.insert_many([{"v": 1}, {"v": 5}])
    out = list(
        db.t.aggregate([{"$bucket": {"groupBy": "$v", "boundaries": [0, 10], "default": "other"}}])
    )
    return out == [{"_id": 0, "count": 2}]


def _one_arg_round(db: Database) -> bool:
    db.t.insert_one({"v": 2.567})
    out = db.t.aggregate([{"$project": {"_id": 0, "r": {"$round": "$v"}, "t": {"$trunc": "$v"}}}])
    return list(out) == [{"r": 3.0, "t": 2.0}]


def _explain_planner(db: Database) -> bool:
    db.t.insert_one({"a": 1})
    db.t.create_index("a")
    plan = db.t.find({"a": 1}).explain()
    return "IXSCAN" in str(plan.get("queryPlanner", {}).get("winningPlan", {}))


def _graph_lookup(db: Database) -> bool:
    db.t.insert_many([{"_id": 1, "up": None}, {"_id": 2, "up": 1}])
    stage = {"from": "t", "startWith": "$up", "connectFromField": "up", "connectToField": "_id"}
    out = list(db.t.aggregate([{"$match": {"_id": 2}}, {"$graphLookup": {**stage, "as": "p"}}]))
    return [p["_id"] for p in out[0]["p"]] == [1]


def _out(db: Database) -> bool:
    db.t.insert_one({"a": 1})
    list(db.t.aggregate([{"$out": "copy"}]))
    return db.copy.count_documents({}) == 1


def _merge(db: Database) -> bool:
    db.t.insert_one({"_id": 1, "a": 1})
    list(db.t.aggregate([{"$merge": {"into": "m"}}]))
    return db.m.find_one() == {"_id": 1, "a": 1}


def _change_stream(db: Database) -> bool:
    with db.t.watch(max_await_time_ms=200) as stream:
        db.t.insert_one({"a": 1})
        change = stream.try_next()
    return bool(change and change["operationType"] == "insert")


def _transaction(db: Database) -> bool:
    db.t.insert_one({"_id": 0})
    with db.client.start_session() as session:
        session.start_transaction()
        db.t.insert_one({"_id": 1}, session=session)
        session.abort_transaction()
    return db.t.count_documents({}) == 1


def _window(db: Database) -> bool:
    db.t.insert_many([{"g": 1, "v": 1}, {"g": 1, "v": 2}])
    stage = {"partitionBy": "$g", "sortBy": {"v": 1}, "output": {"s": {"$sum": "$v"}}}
    out = db.t.aggregate([{"$setWindowFields": stage}, {"$project": {"_id": 0, "s": 1}}])
    return list(out) == [{"s": 3}, {"s": 3}]


def _lookup_pipeline(db: Database) -> bool:
    db.a.insert_one({"_id": 1})
    db.b.insert_many([{"a": 1, "x": 1}, {"a": 1, "x": 2}])
    pipe = [{"$match": {"$expr": {"$eq": ["$a", "$$id"]}}}, {"$match": {"x": 2}}]
    stage = {"from": "b", "let": {"id": "$_id"}, "pipeline": pipe, "as": "bs"}
    out = list(db.a.aggregate([{"$lookup": stage}]))
    return len(out[0]["bs"]) == 1


def _facet(db: Database) -> bool:
    db.t.insert_many([{"v": 1}, {"v": 2}])
    facet = {"n": [{"$count": "n"}], "max": [{"$group": {"_id": None, "m": {"$max": "$v"}}}]}
    out = list(db.t.aggregate([{"$facet": facet}]))
    return out[0]["n"] == [{"n": 2}] and out[0]["max"][0]["m"] == 2


def _errinfo(db: Database) -> bool:
    db.create_collection("v", validator={"$jsonSchema": {"required": ["a"]}})
    try:
        db.v.insert_one({"b": 1})
    except pymongo.errors.WriteError as exc:
        details = (exc.details or {}).get("errInfo", {}).get("details", {})
        return exc.code == 121 and details.get("operatorName") == "$jsonSchema"
    return False


def _ttl(db: Database) -> bool:
    import time

    db.t.create_index("at", expireAfterSeconds=0)
    db.t.insert_one({"at": dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)})
    time.sleep(65)  # MongoDB's TTL monitor runs every 60 s
    return db.t.count_documents({}) == 0


def _text_score(db: Database) -> bool:
    db.t.insert_many([{"s": "fresh bread"}, {"s": "bread bread bread"}, {"s": "milk"}])
    db.t.create_index([("s", "text")])
    found = db.t.find({"$text": {"$search": "bread"}}, {"score": {"$meta": "textScore"}})
    docs = list(found.sort([("score", {"$meta": "textScore"})]))
    return len(docs) == 2 and docs[0]["s"] == "bread bread bread"


def _unique(db: Database) -> bool:
    db.t.create_index("e", unique=True)
    db.t.insert_one({"e": 1})
    try:
        db.t.insert_one({"e": 1})
    except pymongo.errors.DuplicateKeyError as exc:
        return exc.code == 11000 and "keyValue" in (exc.details or {})
    return False


def _array_filters(db: Database) -> bool:
    db.t.insert_one({"_id": 1, "xs": [{"k": 1, "v": 0}, {"k": 2, "v": 0}]})
    db.t.update_one({"_id": 1}, {"$set": {"xs.$[e].v": 9}}, array_filters=[{"e.k": 2}])
    return db.t.find_one()["xs"] == [{"k": 1, "v": 0}, {"k": 2, "v": 9}]


def _elem_match(db: Database) -> bool:
    db.t.insert_many([{"xs": [{"a": 1, "b": 2}]}, {"xs": [{"a": 1}, {"b": 2}]}])
    return db.t.count_documents({"xs": {"$elemMatch": {"a": 1, "b": 2}}}) == 1


def _covered(db: Database) -> bool:
    db.t.insert_one({"a": 1})
    db.t.create_index("a")
    plan = db.t.find({"a": 1}, {"_id": 0, "a": 1}).explain()
    return plan.get("executionStats", {}).get(
        "totalDocsExamined", -1
    ) == 0 or "PROJECTION_COVERED" in str(plan)


def _coll_mod(db: Database) -> bool:
    db.create_collection("v")
    db.command("collMod", "v", validator={"$jsonSchema": {"required": ["a"]}})
    return (
        "validator"
        in db.command("listCollections", filter={"name": "v"})["cursor"]["firstBatch"][0]["options"]
    )


def _hint(db: Database) -> bool:
    db.t.insert_one({"a": 1, "b": 1})
    db.t.create_index("a")
    try:
        list(db.t.find({"b": 1}).hint("nope_1"))
    except pymongo.errors.OperationFailure:
        return len(list(db.t.find({"b": 1}).hint("a_1"))) == 1
    return False


def _list_databases_decimal(db: Database) -> bool:
    db.t.insert_one({"p": Decimal128("1.50")})
    return db.name in db.client.list_database_names()


def _server_info(db: Database) -> bool:
    return "version" in db.client.server_info()


CHECKS: dict[str, Check] = {
    "$graphLookup": _graph_lookup,
    "$out": _out,
    "$merge": _merge,
    "change streams": _change_stream,
    "explain": _explain_planner,
    "covered queries": _covered,
    "$geoWithin $centerSphere": _center_sphere,
    "$near $maxDistance": _near_max_distance,
    "$geoNear distances": _geo_near_meters,
    "distinct missing": _distinct_missing,
    "$bucket default": _bucket_default,
    "one-argument $round/$trunc": _one_arg_round,
    "transactions": _transaction,
    "$setWindowFields": _window,
    "$lookup pipeline": _lookup_pipeline,
    "$facet": _facet,
    "validation errInfo": _errinfo,
    "text score": _text_score,
    "unique index errors": _unique,
    "array filters": _array_filters,
    "$elemMatch": _elem_match,
    "collMod": _coll_mod,
    "hint": _hint,
    "listDatabases with decimals": _list_databases_decimal,
    "server_info": _server_info,
    "TTL expiry": _ttl,
}


def run(client: pymongo.MongoClient, names: list[str] | None = None) -> dict[str, str]:
    """Run the checks (all, or ``names``); return name -> "ok" or what went wrong."""
    results = {}
    for name, check in CHECKS.items():
        if names and name not in names:
            continue
        db = client["dojo_probe"]
        client.drop_database("dojo_probe")
        try:
            results[name] = "ok" if check(db) else "differs from MongoDB"
        except Exception as exc:
            results[name] = f"error: {type(exc).__name__}: {str(exc).splitlines()[0][:120]}"
        finally:
            client.drop_database("dojo_probe")
    return results


def main() -> None:
    from dbdojo.connect import mongo_client

    given = sys.argv[1] if len(sys.argv) > 1 else None
    opened = pymongo.MongoClient(given, serverSelectionTimeoutMS=3000) if given else mongo_client()
    with opened as client:
        for name, outcome in run(client, sys.argv[2:] or None).items():
            print(f"{name:32} {outcome}")


if __name__ == "__main__":
    main()
