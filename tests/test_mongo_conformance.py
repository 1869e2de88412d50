"""The emulator behaves as MongoDB 8 documents it: write conflicts in transactions, ``_id``
equality across numeric types, writes at O(1) per document, other clients served during a long
write. Every expected result comes from
the MongoDB page cited in the test, never from the emulator; on a real MongoDB 7/8 replica set
(``DOJO_MONGO_URL``) the same assertions hold."""

from __future__ import annotations

import time

import pytest
from bson.decimal128 import Decimal128
from pymongo.errors import BulkWriteError, DuplicateKeyError, OperationFailure

DB = "dojo_test_conformance"


@pytest.fixture
def db(dojo_servers):
    from dbdojo.connect import mongo_client

    client = mongo_client()
    client.drop_database(DB)
    yield client[DB]
    client.drop_database(DB)


def _accounts(db):
    db.accounts.insert_one({"_id": "bob", "balance": 100})
    return db.accounts


# https://www.mongodb.com/docs/manual/core/transactions-production-consideration/
#   #in-progress-transactions-and-write-conflicts : "If a transaction is in progress and a
#   write outside the transaction modifies a document [...]" / a second transaction writing a
#   document an in-progress transaction modified "incurs a write conflict"; the error carries
#   the TransientTransactionError label (docs/manual/core/transactions-in-applications/
#   #transienttransactionerror), code 112 WriteConflict (docs/manual/reference/error-codes/).
def test_second_writer_gets_write_conflict(db):
    accounts = _accounts(db)
    client = db.client
    with client.start_session() as first, client.start_session() as second:
        first.start_transaction()
        accounts.update_one({"_id": "bob"}, {"$inc": {"balance": 1}}, session=first)
        second.start_transaction()
        with pytest.raises(OperationFailure) as failure:
            accounts.update_one({"_id": "bob"}, {"$inc": {"balance": 1}}, session=second)
        assert failure.value.code == 112
        assert failure.value.details["codeName"] == "WriteConflict"
        assert failure.value.has_error_label("TransientTransactionError")
        second.abort_transaction()
        first.commit_transaction()
    assert accounts.find_one({"_id": "bob"})["balance"] == 101


def test_with_transaction_retries_the_conflict(db):
    # docs/manual/core/transactions-in-applications/ : the callback API "incorporates retry
    # logic for TransientTransactionError"; so both increments take effect, none is lost.
    accounts = _accounts(db)
    client = db.client
    attempts = 0
    with client.start_session() as first, client.start_session() as second:
        first.start_transaction()
        accounts.update_one({"_id": "bob"}, {"$inc": {"balance": 1}}, session=first)

        def increment(session):
            nonlocal attempts
            attempts += 1
            if attempts == 2:
                first.commit_transaction()  # the first writer finishes meanwhile
            accounts.update_one({"_id": "bob"}, {"$inc": {"balance": 1}}, session=session)

        second.with_transaction(increment)
    assert attempts == 2
    assert accounts.find_one({"_id": "bob"})["balance"] == 102


def test_write_after_a_newer_commit_conflicts(db):
    # docs/manual/core/read-isolation-consistency-recency/ and transactions: a transaction
    # reads from a snapshot; writing a document committed by another transaction after that
    # snapshot is a write conflict, not a silent overwrite.
    accounts = _accounts(db)
    client = db.client
    with client.start_session() as reader, client.start_session() as writer:
        reader.start_transaction()
        assert accounts.find_one({"_id": "bob"}, session=reader)["balance"] == 100
        with writer.start_transaction():
            accounts.update_one({"_id": "bob"}, {"$set": {"balance": 50}}, session=writer)
        with pytest.raises(OperationFailure) as failure:
            accounts.update_one({"_id": "bob"}, {"$inc": {"balance": 1}}, session=reader)
        assert failure.value.has_error_label("TransientTransactionError")
        reader.abort_transaction()
    assert accounts.find_one({"_id": "bob"})["balance"] == 50


def test_different_documents_both_commit(db):
    accounts = _accounts(db)
    accounts.insert_one({"_id": "alice", "balance": 10})
    client = db.client
    with client.start_session() as first, client.start_session() as second:
        first.with_transaction(
            lambda s: accounts.update_one({"_id": "bob"}, {"$inc": {"balance": 1}}, session=s)
        )
        second.with_transaction(
            lambda s: accounts.update_one({"_id": "alice"}, {"$inc": {"balance": 1}}, session=s)
        )
    balances = {d["_id"]: d["balance"] for d in accounts.find()}
    assert balances == {"bob": 101, "alice": 11}


def test_interleaved_transactions_on_different_documents_both_take_effect(db):
    # The same page: only a write to a document another transaction wrote conflicts. One
    # transaction commits while the other is open; through the callback API both take effect
    # exactly once (where the emulator fails the open one's commit, it labels the failure
    # TransientTransactionError and clears the transaction, so the driver's retry succeeds).
    accounts = _accounts(db)
    accounts.insert_one({"_id": "alice", "balance": 10})
    client = db.client
    calls = []
    with client.start_session() as first, client.start_session() as second:

        def outer(session):
            calls.append(session)
            accounts.update_one({"_id": "bob"}, {"$inc": {"balance": 1}}, session=session)
            if len(calls) == 1:
                second.with_transaction(
                    lambda s: accounts.update_one(
                        {"_id": "alice"}, {"$inc": {"balance": 1}}, session=s
                    )
                )

        first.with_transaction(outer)
    balances = {d["_id"]: d["balance"] for d in accounts.find()}
    assert balances == {"bob": 101, "alice": 11}


# docs/manual/reference/bson-type-comparison-order/#numeric-types : numbers of different
# types compare by value, so the unique _id index holds one of 1, 1.0 and NumberDecimal("1").
def test_id_equality_across_numeric_types(db):
    db.c.insert_one({"_id": 1, "v": "int"})
    with pytest.raises(DuplicateKeyError):
        db.c.insert_one({"_id": 1.0})
    with pytest.raises(BulkWriteError):
        db.c.insert_many([{"_id": 2}, {"_id": Decimal128("1")}])
    assert db.c.find_one({"_id": 1.0})["v"] == "int"
    assert db.c.delete_one({"_id": Decimal128("1")}).deleted_count == 1
    assert db.c.count_documents({}) == 1  # {_id: 2}, inserted before the refused one


def _insert_one_cost(coll, first_id: int, count: int = 40) -> float:
    """Seconds per insert_one, the best of two rounds."""
    rounds = []
    for start in (first_id, first_id + count):
        began = time.perf_counter()
        for i in range(start, start + count):
            coll.insert_one({"_id": i, "v": i})
        rounds.append((time.perf_counter() - began) / count)
    return min(rounds)


def test_an_insert_costs_the_same_into_a_large_collection(db):
    # MongoDB's insert checks the _id index: O(log n). Before the kit's fix the emulator
    # scanned the collection on every insert (into 2,000 documents: 11x the cost into an
    # empty one, benchmarks/bench_mongo_writes.py); 3x allows for a loaded machine.
    db.large.insert_many([{"_id": i, "v": i} for i in range(3000)])
    empty, large = _insert_one_cost(db.empty, 0), _insert_one_cost(db.large, 3000)
    assert large / empty < 3, (empty, large)


# docs/manual/reference/method/db.collection.insertMany/ : ordered (the default), an error
#   stops the remaining documents ("Documents before the error are inserted"); unordered, the
#   others are inserted; each write error carries the index of its document in the array. The
#   emulator runs inserts of many documents in slices (dbdojo.mongo.emulator.fairness): the
#   answer must still be the whole insert's.
def test_a_large_insert_answers_as_one_insert(db):
    docs = [{"_id": i} for i in range(1000)]
    db.c.insert_one({"_id": 450})
    with pytest.raises(BulkWriteError) as ordered:
        db.c.insert_many(docs)
    details = ordered.value.details
    assert details["nInserted"] == 450
    assert [e["index"] for e in details["writeErrors"]] == [450]
    assert db.c.count_documents({}) == 451
    db.c.delete_many({})
    db.c.insert_many([{"_id": 450}, {"_id": 820}])
    with pytest.raises(BulkWriteError) as unordered:
        db.c.insert_many(docs, ordered=False)
    details = unordered.value.details
    assert details["nInserted"] == 998
    assert sorted(e["index"] for e in details["writeErrors"]) == [450, 820]
    assert db.c.count_documents({}) == 1000
    assert db.c.insert_many([{"v": i} for i in range(700)]).inserted_ids[-1] is not None
    assert db.c.count_documents({"v": {"$exists": True}}) == 700


# docs/manual/core/write-operations-atomicity/ : "a write operation that modifies multiple
#   documents [...] the operation as a whole is not atomic"; "Other operations may interleave".
#   So another client is served while a long update_many runs (before the kit's fairness patch
#   the emulator served no one until the last document: benchmarks/bench_mongo_writes.py).
@pytest.mark.parametrize("write", ["update_many", "delete_many"])
def test_other_clients_are_served_during_a_long_write(db, write):
    import threading

    from dbdojo.connect import mongo_client

    total = 6000
    db.big.insert_many([{"_id": i, "v": 0} for i in range(total)])
    other = mongo_client()[DB]
    running, seen = threading.Event(), set()

    def long_write() -> None:
        running.set()
        if write == "update_many":
            db.big.update_many({}, {"$inc": {"v": 1}})
        else:
            db.big.delete_many({})
        running.clear()

    thread = threading.Thread(target=long_write)
    thread.start()
    running.wait()
    while running.is_set():  # what another client reads while the write runs
        seen.add(other.big.count_documents({"v": 0}))
    thread.join()
    assert other.big.count_documents({"v": 0}) == 0
    # Served between two documents of the write: a read saw it part-way.
    assert seen - {0, total}, f"reads during the write saw only {sorted(seen)}"


# docs/manual/core/read-isolation-consistency-recency/ : a read "may yield" while it runs and
#   other operations proceed meanwhile (MongoDB's queries yield periodically). So another
#   client is served during one long aggregation (before the kit's fairness patch the emulator
#   served no one until the aggregation had scanned every document).
def test_other_clients_are_served_during_a_long_read(db):
    import threading

    from dbdojo.connect import mongo_client

    db.big.insert_many([{"_id": i, "k": i % 97, "v": i} for i in range(20000)])
    other = mongo_client()[DB]
    other.probe.insert_one({"_id": 1})
    running, served = threading.Event(), []

    def long_read() -> None:
        running.set()
        pipeline = [{"$match": {"v": {"$gte": 0}}}, {"$group": {"_id": "$k", "n": {"$sum": 1}}}]
        served.append(("result", len(list(db.big.aggregate(pipeline)))))
        running.clear()

    thread = threading.Thread(target=long_read)
    thread.start()
    running.wait()
    while running.is_set():
        other.probe.find_one({"_id": 1})
        if running.is_set():
            served.append(("probe", 1))
    thread.join()
    assert ("result", 97) in served
    probes = sum(1 for kind, _ in served[: served.index(("result", 97))] if kind == "probe")
    assert probes >= 3, f"another client was served {probes} times during the read"


# The same for the work an aggregation does after its scan: 1,000 short documents (the scan
#   ends at once) and a $project that folds an array in each (the stage runs long). Before the
#   kit ran stages beside the event loop (dbdojo.mongo.emulator.offload), another client waited
#   for the whole stage (94-98% of the aggregation's time in benchmarks/bench_mongo_reads.py).
def test_other_clients_are_served_while_an_aggregations_stages_run(db):
    db.wide.insert_many([{"_id": i, "xs": list(range(40))} for i in range(1000)])
    fold = {"$reduce": {"input": "$xs", "initialValue": 0, "in": {"$add": ["$$value", "$$this"]}}}
    docs, halves = _while_probed(lambda: list(db.wide.aggregate([{"$project": {"s": fold}}])))
    assert {d["s"] for d in docs} == {sum(range(40))}
    assert min(halves) >= 1, f"another client's reads served in each half: {halves}"


# The same for a sort done inside the scan (a sorted find, an aggregation's leading $sort):
#   mongoeco gathered and sorted every document in one step; before the kit sorted beside the
#   event loop (dbdojo.mongo.emulator.offload) another client waited for the whole sort.
@pytest.mark.parametrize("read", ["find", "aggregate"])
def test_other_clients_are_served_while_a_scan_sorts(db, read):
    total = 20000
    db.tall.insert_many(
        [{"_id": i, "v": (i * 7919) % total, "pad": "x" * 40} for i in range(total)]
    )
    pipeline = [{"$sort": {"v": -1}}, {"$limit": 3}, {"$project": {"v": 1}}]
    queries = {
        "find": lambda: list(db.tall.find({}, {"v": 1}).sort("v", -1).limit(3)),
        "aggregate": lambda: list(db.tall.aggregate(pipeline)),
    }
    top, halves = _while_probed(queries[read])
    assert [d["v"] for d in top] == [total - 1, total - 2, total - 3]
    assert min(halves) >= 1, f"another client's reads served in each half: {halves}"


# The same for a find of many whole documents with no batch size: its reply is made of every
#   document (mongoeco's batch), encoded for the wire; before the kit encoded it in turns and
#   kept the collector's full passes out of operations (dbdojo.mongo.emulator.fairness,
#   .collector), another client waited 0.5-1.35 s during a find of 20,000 orders.
def test_other_clients_are_served_during_a_find_of_many_documents(db):
    total = 20000
    db.many.insert_many(
        [
            {"_id": i, "v": i, "items": [{"k": k, "p": Decimal128("1.25")} for k in range(3)]}
            for i in range(total)
        ]
    )
    docs, halves = _while_probed(lambda: list(db.many.find()))
    assert len(docs) == total and docs[-1]["items"][2] == {"k": 2, "p": Decimal128("1.25")}
    assert min(halves) >= 1, f"another client's reads served in each half: {halves}"


# A batch of many documents reaches the client as each document alone does, every BSON type
#   (docs/manual/reference/bson-types/) kept, in a first batch and in a getMore's.
def test_documents_of_a_long_batch_arrive_as_they_were_stored(db):
    import datetime
    import re
    import uuid

    from bson import Binary, Code, Int64, MaxKey, MinKey, ObjectId, Regex

    def document(i: int) -> dict:
        return {
            "_id": i,
            "oid": ObjectId(f"{i:024x}"),
            "int64": Int64(2**40 + i),
            "double": i / 3,
            "decimal": Decimal128(f"{i}.10"),
            "when": datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC) + datetime.timedelta(i),
            "uuid": Binary.from_uuid(uuid.UUID(int=i)),
            "bytes": bytes([i % 256]) * 3,
            "regex": Regex("^a.c$", re.IGNORECASE),
            "code": Code("function () { return 1; }"),
            "none": None,
            "flag": i % 2 == 0,
            "bounds": [MinKey(), MaxKey()],
            "nested": {"list": [1, "two", {"three": [3.0]}], "empty": {}},
        }

    db.kinds.insert_many([document(i) for i in range(600)])
    one_by_one = [db.kinds.find_one({"_id": i}) for i in range(600)]
    assert list(db.kinds.find().sort("_id", 1)) == one_by_one
    assert list(db.kinds.find().sort("_id", 1).batch_size(250)) == one_by_one
    assert one_by_one[7] == document(7) | {"when": one_by_one[7]["when"]}


def _while_probed(query):
    """``query()``'s result, and how many of another client's ``find_one`` calls (one after
    another, 5 ms apart) were asked and answered within each half of the query's run.

    Served in each half, not a bound on the longest wait: how long a wait is depends on the
    machine's load; an operation that holds the emulator for its second half (a sort, a stage,
    an encoding after the scan) leaves that half without a served read, however fast it ran.
    The wait itself is measured by benchmarks/bench_mongo_reads.py."""
    import threading
    import time

    from dbdojo.connect import mongo_client

    other = mongo_client()[DB]
    other.probe.insert_one({"_id": 1})
    served: list[tuple[float, float]] = []
    done = threading.Event()

    def probe() -> None:
        while not done.is_set():
            asked = time.perf_counter()
            other.probe.find_one({"_id": 1})
            served.append((asked, time.perf_counter()))
            time.sleep(0.005)

    prober = threading.Thread(target=probe)
    prober.start()
    time.sleep(0.05)  # the prober's client connected and served once
    began = time.perf_counter()
    try:
        result = query()
    finally:
        ended = time.perf_counter()
        done.set()
        prober.join()
    middle = (began + ended) / 2
    halves = [(began, middle), (middle, ended)]
    return result, [sum(1 for a, b in served if lo <= a and b <= hi) for lo, hi in halves]


# docs/manual/reference/operator/query/in/ : "$in selects the documents where the value of a
#   field equals any value in the specified array"; an array field matches if any element
#   does, or the array itself; regular expressions may be listed. docs/manual/tutorial/
#   query-for-null-fields/ : {field: null} matches null and missing fields. docs/manual/
#   reference/operator/query/nin/ : $nin selects documents whose field is not in the array
#   "or the field does not exist", so $nin [null] excludes missing fields (negation of $in).
#   Numbers compare by value across int, long, double and decimal (docs/manual/reference/
#   bson-type-comparison-order/#numeric-types). The emulator looks values up in a set
#   (dbdojo.mongo.emulator.costs): the answers must be the pairwise comparison's.
IN_DOCS = [
    {"_id": 1, "v": 1},
    {"_id": 2, "v": 1.0},
    {"_id": 3, "v": Decimal128("1")},
    {"_id": 4, "v": True},
    {"_id": 5},
    {"_id": 6, "v": None},
    {"_id": 7, "v": [3, 9]},
    {"_id": 8, "v": "abc"},
    {"_id": 9, "v": [[3, 9]]},
    {"_id": 10, "v": "ABC"},
    {"_id": 11, "v": []},
]


@pytest.mark.parametrize(
    ("values", "matched"),
    [
        ([1], {1, 2, 3}),
        ([Decimal128("1.0")], {1, 2, 3}),
        ([True], {4}),
        ([None], {5, 6}),
        ([9], {7}),
        ([[3, 9]], {7, 9}),
        ([[]], {11}),
        (["abc"], {8}),
        ([1, "abc", None], {1, 2, 3, 5, 6, 8}),
    ],
)
def test_in_and_nin_as_documented(db, values, matched):
    db.c.insert_many(IN_DOCS)
    everything = {d["_id"] for d in IN_DOCS}
    assert {d["_id"] for d in db.c.find({"v": {"$in": values}})} == matched
    assert {d["_id"] for d in db.c.find({"v": {"$nin": values}})} == everything - matched


def test_in_with_a_regex_and_a_collation(db):
    import re

    db.c.insert_many(IN_DOCS)
    assert {d["_id"] for d in db.c.find({"v": {"$in": [re.compile("^a"), 9]}})} == {7, 8}
    strength2 = {"locale": "en", "strength": 2}  # case-insensitive
    assert {d["_id"] for d in db.c.find({"v": {"$in": ["abc"]}}, collation=strength2)} == {8, 10}


def test_lookup_joins_every_match(db):
    # docs/manual/reference/operator/aggregation/lookup/#equality-match-with-a-single-join-
    # condition: each input document gets the array of foreign documents whose foreignField
    # equals its localField (an array localField matches any element; none: an empty array).
    db.customers.insert_many([{"_id": i, "city": i % 3} for i in range(6)])
    db.orders.insert_many(
        [{"_id": 1, "c": 4}, {"_id": 2, "c": [0, 5]}, {"_id": 3, "c": 99}, {"_id": 4}]
    )
    rows = db.orders.aggregate(
        [
            {"$lookup": {"from": "customers", "localField": "c", "foreignField": "_id", "as": "m"}},
            {"$project": {"ids": "$m._id"}},
            {"$sort": {"_id": 1}},
        ]
    )
    assert [sorted(r["ids"]) for r in rows] == [[4], [0, 5], [], []]


# docs/manual/reference/operator/aggregation/graphLookup/ : "Within a Single Collection"
EMPLOYEES = [
    {"_id": 1, "name": "Dev"},
    {"_id": 2, "name": "Eliot", "reportsTo": "Dev"},
    {"_id": 3, "name": "Ron", "reportsTo": "Eliot"},
    {"_id": 4, "name": "Andrew", "reportsTo": "Eliot"},
    {"_id": 5, "name": "Asya", "reportsTo": "Ron"},
    {"_id": 6, "name": "Dan", "reportsTo": "Andrew"},
]


def test_graph_lookup_within_one_collection(db):
    db.employees.insert_many(EMPLOYEES)
    stage = {"from": "employees", "startWith": "$reportsTo", "connectFromField": "reportsTo",
             "connectToField": "name", "as": "reportingHierarchy"}  # fmt: skip
    rows = db.employees.aggregate([{"$graphLookup": stage}, {"$sort": {"_id": 1}}])
    chains = {d["name"]: sorted(e["name"] for e in d["reportingHierarchy"]) for d in rows}
    assert chains == {
        "Dev": [],
        "Eliot": ["Dev"],
        "Ron": ["Dev", "Eliot"],
        "Andrew": ["Dev", "Eliot"],
        "Asya": ["Dev", "Eliot", "Ron"],
        "Dan": ["Andrew", "Dev", "Eliot"],
    }


# docs/manual/reference/operator/aggregation/graphLookup/ : "Across Multiple Collections"
# (maxDepth 2, depthField numConnections) and the later stages see the "as" array.
def test_graph_lookup_max_depth_and_depth_field(db):
    db.airports.insert_many([
        {"_id": 0, "airport": "JFK", "connects": ["BOS", "ORD"]},
        {"_id": 1, "airport": "BOS", "connects": ["JFK", "PWM"]},
        {"_id": 2, "airport": "ORD", "connects": ["JFK"]},
        {"_id": 3, "airport": "PWM", "connects": ["BOS", "LHR"]},
        {"_id": 4, "airport": "LHR", "connects": ["PWM"]},
    ])  # fmt: skip
    db.travelers.insert_many([
        {"_id": 1, "name": "Dev", "nearestAirport": "JFK"},
        {"_id": 2, "name": "Eliot", "nearestAirport": "JFK"},
        {"_id": 3, "name": "Jeff", "nearestAirport": "BOS"},
    ])  # fmt: skip
    stage = {"from": "airports", "startWith": "$nearestAirport", "connectFromField": "connects",
             "connectToField": "airport", "maxDepth": 2, "depthField": "numConnections",
             "as": "destinations"}  # fmt: skip
    rows = list(
        db.travelers.aggregate(
            [{"$graphLookup": stage}, {"$match": {"name": {"$ne": "Eliot"}}}, {"$sort": {"_id": 1}}]
        )
    )
    reach = {
        d["name"]: {x["airport"]: x["numConnections"] for x in d["destinations"]} for d in rows
    }
    assert reach == {
        "Dev": {"JFK": 0, "BOS": 1, "ORD": 1, "PWM": 2},
        "Jeff": {"BOS": 0, "JFK": 1, "PWM": 1, "ORD": 2, "LHR": 2},
    }


# docs/manual/reference/operator/aggregation/out/ : "Output to Same Database"; an existing
# collection's documents are replaced and its indexes kept; the aggregation returns nothing.
def test_out_writes_the_result_and_keeps_indexes(db):
    db.books.insert_many([
        {"_id": 8751, "title": "The Banquet", "author": "Dante", "copies": 2},
        {"_id": 8752, "title": "Divine Comedy", "author": "Dante", "copies": 1},
        {"_id": 8645, "title": "Eclogues", "author": "Dante", "copies": 2},
        {"_id": 7000, "title": "The Odyssey", "author": "Homer", "copies": 10},
        {"_id": 7020, "title": "Iliad", "author": "Homer", "copies": 10},
    ])  # fmt: skip
    db.authors.insert_one({"_id": "stale"})
    db.authors.create_index("books")
    pipeline = [
        {"$sort": {"_id": 1}},
        {"$group": {"_id": "$author", "books": {"$push": "$title"}}},
        {"$out": "authors"},
    ]
    assert list(db.books.aggregate(pipeline)) == []
    authors = {d["_id"]: d["books"] for d in db.authors.find()}
    assert authors == {
        "Dante": ["Eclogues", "The Banquet", "Divine Comedy"],
        "Homer": ["The Odyssey", "Iliad"],
    }
    assert "books_1" in db.authors.index_information()
    with pytest.raises(OperationFailure):
        db.books.aggregate([{"$out": "x"}, {"$match": {}}])


# docs/manual/tutorial/analyze-query-plan/ : the inventory example, its figures
INVENTORY = [
    {"_id": 1, "item": "f1", "type": "food", "quantity": 500},
    {"_id": 2, "item": "f2", "type": "food", "quantity": 100},
    {"_id": 3, "item": "p1", "type": "paper", "quantity": 200},
    {"_id": 4, "item": "p2", "type": "paper", "quantity": 150},
    {"_id": 5, "item": "f3", "type": "food", "quantity": 300},
    {"_id": 6, "item": "t1", "type": "toys", "quantity": 500},
    {"_id": 7, "item": "a1", "type": "apparel", "quantity": 250},
    {"_id": 8, "item": "a2", "type": "apparel", "quantity": 400},
    {"_id": 9, "item": "t2", "type": "toys", "quantity": 50},
    {"_id": 10, "item": "f4", "type": "food", "quantity": 75},
]


def _stages(plan: dict) -> list[str]:
    return [plan["stage"], *(_stages(plan["inputStage"]) if "inputStage" in plan else [])]


def _explain(db, query, projection=None, **command):
    find = {"find": "inventory", "filter": query, **command}
    if projection is not None:
        find["projection"] = projection
    return db.command("explain", find, verbosity="executionStats")


def test_explain_collscan_then_ixscan(db):
    db.inventory.insert_many(INVENTORY)
    query = {"quantity": {"$gte": 100, "$lte": 200}}
    plain = _explain(db, query)
    assert _stages(plain["queryPlanner"]["winningPlan"]) == ["COLLSCAN"]
    stats = plain["executionStats"]
    assert (stats["nReturned"], stats["totalKeysExamined"], stats["totalDocsExamined"]) == (
        3,
        0,
        10,
    )
    db.inventory.create_index({"quantity": 1})
    indexed = _explain(db, query)
    assert _stages(indexed["queryPlanner"]["winningPlan"]) == ["FETCH", "IXSCAN"]
    stats = indexed["executionStats"]
    assert (stats["nReturned"], stats["totalKeysExamined"], stats["totalDocsExamined"]) == (3, 3, 3)
    # the cursor's own explain() (pymongo) has the same shape
    plan = db.inventory.find(query).explain()["queryPlanner"]["winningPlan"]
    assert plan["inputStage"]["indexName"] == "quantity_1"


def test_explain_compares_indexes(db):
    db.inventory.insert_many(INVENTORY)
    db.inventory.create_index([("quantity", 1), ("type", 1)])
    db.inventory.create_index([("type", 1), ("quantity", 1)])
    result = _explain(db, {"quantity": {"$gte": 100, "$lte": 300}, "type": "food"})
    planner = result["queryPlanner"]
    assert planner["winningPlan"]["inputStage"]["indexName"] == "type_1_quantity_1"
    assert planner["rejectedPlans"][0]["inputStage"]["indexName"] == "quantity_1_type_1"
    stats = result["executionStats"]
    assert (stats["nReturned"], stats["totalKeysExamined"], stats["totalDocsExamined"]) == (2, 2, 2)


# docs/manual/core/query-optimization/#covered-query : index {type, item}, projection of
# item without _id: the query is covered, no document is examined.
def test_covered_query(db):
    db.inventory.insert_many(INVENTORY)
    db.inventory.create_index([("type", 1), ("item", 1)])
    covered = _explain(db, {"type": "food", "item": {"$regex": "^f"}}, {"item": 1, "_id": 0})
    assert _stages(covered["queryPlanner"]["winningPlan"]) == ["PROJECTION_COVERED", "IXSCAN"]
    assert covered["executionStats"]["totalDocsExamined"] == 0
    assert covered["executionStats"]["nReturned"] == 4
    fetched = _explain(db, {"type": "food"}, {"item": 1})  # _id is not in the index
    assert _stages(fetched["queryPlanner"]["winningPlan"])[:2] == ["PROJECTION_SIMPLE", "FETCH"]
    assert fetched["executionStats"]["totalDocsExamined"] == 4


# docs/manual/reference/explain-results/#sort-stage : a sort no index provides is a SORT
# stage; an index on the sort key gives the order (no SORT) and a limit stops its scan.
def test_sort_stage_and_index_order(db):
    db.inventory.insert_many(INVENTORY)
    in_memory = _explain(db, {}, sort={"quantity": -1}, limit=2)
    assert _stages(in_memory["queryPlanner"]["winningPlan"]) == ["SORT", "COLLSCAN"]
    db.inventory.create_index({"quantity": 1})
    ordered = _explain(db, {}, sort={"quantity": -1}, limit=2)
    plan = ordered["queryPlanner"]["winningPlan"]
    assert _stages(plan) == ["LIMIT", "FETCH", "IXSCAN"]
    assert plan["inputStage"]["inputStage"]["direction"] == "backward"
    assert ordered["executionStats"]["totalKeysExamined"] == 2


# docs/manual/reference/operator/aggregation/geoNear/ and query/near/: with a GeoJSON point,
# distances are in metres, nearest first, bounded by maxDistance / $maxDistance. On the
# equator one degree of longitude is 6,378.1 km x pi / 180 = 111,318.8 m (the radius MongoDB
# uses: docs/manual/tutorial/
# calculate-distances-using-spherical-geometry-with-2d-geospatial-indexes/).
DEGREE_M = 6_378_100 * 3.141592653589793 / 180


def _places(db):
    db.places.insert_many(
        [{"_id": n, "loc": {"type": "Point", "coordinates": [n, 0]}} for n in (3, 1, 2, 5)]
    )
    db.places.create_index({"loc": "2dsphere"})
    return {"type": "Point", "coordinates": [0, 0]}


def test_geo_near_distances_in_metres(db):
    origin = _places(db)
    stage = {"near": origin, "distanceField": "d", "maxDistance": 3.5 * DEGREE_M}
    rows = list(db.places.aggregate([{"$geoNear": stage}, {"$project": {"d": 1}}]))
    assert [r["_id"] for r in rows] == [1, 2, 3]
    for row in rows:
        assert row["d"] == pytest.approx(row["_id"] * DEGREE_M, rel=1e-6)


def test_near_is_nearest_first_within_max_distance(db):
    origin = _places(db)
    near = {"$near": {"$geometry": origin, "$maxDistance": 2.5 * DEGREE_M}}
    assert [d["_id"] for d in db.places.find({"loc": near})] == [1, 2]
    sphere = {"$nearSphere": {"$geometry": origin, "$minDistance": 1.5 * DEGREE_M}}
    assert [d["_id"] for d in db.places.find({"loc": sphere}).limit(2)] == [2, 3]


# docs/manual/core/aggregation-pipeline-optimization/ : a $match after $unwind / $set / $sort
# that does not use what the stage computes is moved ahead of it (and can then use an index);
# a filter on the unwound field stays after $unwind. The plan shows it: stages[0].$cursor.
def test_optimizer_moves_a_movable_match_ahead(db):
    db.inventory.insert_many([{**d, "tags": [d["type"], "all"]} for d in INVENTORY])
    db.inventory.create_index({"type": 1})
    late = [{"$unwind": "$tags"}, {"$match": {"type": "food", "tags": "all"}}]
    plan = db.command("explain", {"aggregate": "inventory", "pipeline": late, "cursor": {}},
                      verbosity="queryPlanner")  # fmt: skip
    cursor = plan["stages"][0]["$cursor"]["queryPlanner"]
    assert _stages(cursor["winningPlan"]) == ["FETCH", "IXSCAN"]
    assert cursor["winningPlan"]["inputStage"]["indexName"] == "type_1"
    assert plan["stages"][1:] == [{"$unwind": "$tags"}, {"$match": {"tags": "all"}}]
    assert len(list(db.inventory.aggregate(late))) == 4  # the four food items, once each
    on_unwound = [{"$unwind": "$tags"}, {"$match": {"tags": "food"}}]
    plan = db.command("explain", {"aggregate": "inventory", "pipeline": on_unwound,
                                  "cursor": {}}, verbosity="queryPlanner")  # fmt: skip
    assert _stages(plan["stages"][0]["$cursor"]["queryPlanner"]["winningPlan"]) == ["COLLSCAN"]
    assert plan["stages"][1:] == on_unwound


# docs/manual/reference/operator/query/text/ : the articles example, with its results
ARTICLES = [
    {"_id": 1, "subject": "coffee", "author": "xyz", "views": 50},
    {"_id": 2, "subject": "Coffee Shopping", "author": "efg", "views": 5},
    {"_id": 3, "subject": "Baking a cake", "author": "abc", "views": 90},
    {"_id": 4, "subject": "baking", "author": "xyz", "views": 100},
    {"_id": 5, "subject": "Café Con Leche", "author": "abc", "views": 200},
    {"_id": 6, "subject": "Сырники", "author": "jkl", "views": 80},
    {"_id": 7, "subject": "coffee and cream", "author": "efg", "views": 10},
    {"_id": 8, "subject": "Cafe con Leche", "author": "xyz", "views": 10},
]


def _text_ids(db, search: str) -> list:
    return sorted(d["_id"] for d in db.articles.find({"$text": {"$search": search}}))


def test_text_search_stems_folds_and_negates(db):
    db.articles.insert_many(ARTICLES)
    db.articles.create_index({"subject": "text"})
    assert _text_ids(db, "coffee") == [1, 2, 7]
    assert _text_ids(db, "bake coffee cake") == [1, 2, 3, 4, 7]  # "Baking" stems to "bake"
    assert _text_ids(db, '"coffee shop"') == [2]  # a phrase; "Shopping" stems to "shop"
    assert _text_ids(db, "coffee -shop") == [1, 7]
    assert _text_ids(db, "CAFÉ") == [5, 8]  # case and diacritics folded
    assert db.articles.count_documents({"$text": {"$search": "coffee"}}) == 3


def test_text_score_as_documented(db):
    # "Return the Text Search Score": {$search: "cake"} gives _id 3 a score of 0.75
    db.articles.insert_many(ARTICLES)
    db.articles.create_index({"subject": "text"})
    score = {"score": {"$meta": "textScore"}}
    (cake,) = db.articles.find({"$text": {"$search": "cake"}}, score)
    assert cake == {**ARTICLES[2], "score": 0.75}  # a $meta projection keeps every field
    query = {"$text": {"$search": "coffee"}}
    ranked = list(db.articles.find(query, score).sort([("score", score["score"])]))
    scores = [d["score"] for d in ranked]
    assert ranked[0]["_id"] == 1 and scores == sorted(scores, reverse=True)  # best first


# https://www.mongodb.com/docs/manual/reference/operator/projection/slice/ : "$slice: [ <number
#   to skip>, <number to return> ]" and "If <number to skip> is negative, MongoDB counts from
#   the end of the array"; "If the absolute value of the negative number is greater than the
#   number of array elements, the starting position is the start of the array."
def test_projection_slice_with_a_negative_skip_counts_from_the_end(db):
    db.jobs.insert_one({"_id": 1, "pings": [1, 2, 3, 4, 5]})

    def sliced(operand):
        return db.jobs.find_one({"_id": 1}, {"pings": {"$slice": operand}})["pings"]

    assert sliced([-2, 2]) == [4, 5]
    assert sliced([-3, 1]) == [3]
    assert sliced([-9, 2]) == [1, 2]
    assert sliced([1, 2]) == [2, 3]
    assert sliced(-2) == [4, 5]
