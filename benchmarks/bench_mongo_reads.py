"""What a read costs on the MongoDB emulator, before and after the kit's cost patches.

Same two servers as ``bench_mongo_writes.py`` (mongoeco's plain wire server, ``before``; the
kit's emulator, ``after``), measured over the wire with pymongo on orders shaped like the
dataset's (decimal totals and prices, an items array):

- a find of every order, per document (the cached Decimal128 conversion);
- ``$in`` on ``_id`` with 10 and with 500 values (target: the 500-value query within 1.5x of
  the 10-value one: a set look-up per document, not a comparison per listed value);
- a ``$lookup`` of every order's customer (target: under 1 s for 3,000 x 2,000: a hash join)
  and the longest another client waits for a ``find_one`` meanwhile;
- the longest another client waits during one long read of every order (a count on an
  unindexed field, a ``$group``, a ``$project``, a ``$sort``, a filtered find; target: 1 s: the
  scan takes turns, :mod:`dbdojo.mongo.emulator.fairness`, and an aggregation's stages run
  beside the event loop, :mod:`dbdojo.mongo.emulator.offload`, as does a ``$sort`` that goes
  into the scan; a find of every whole order with no batch size: its reply's documents are
  encoded taking turns, and the garbage collector's full passes wait for an idle moment,
  :mod:`dbdojo.mongo.emulator.collector`).

Run: ``python benchmarks/bench_mongo_reads.py [--orders 3000 --customers 2000] [--only after]``
(``--only after``: the kit's emulator alone, for sizes at which mongoeco's plain server takes
minutes).
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from decimal import Decimal

from bench_mongo_writes import longest_wait, server
from bson.decimal128 import Decimal128
from pymongo import MongoClient


def _seed(client: MongoClient, orders: int, customers: int) -> None:
    db = client.bench
    db.customers.insert_many([{"_id": i, "name": f"customer {i}"} for i in range(customers)])
    db.orders.insert_many(
        [
            {
                "_id": i,
                "customer_id": i % customers,
                "total": Decimal128(Decimal(i % 9000) / 100 + Decimal("0.99")),
                "items": [
                    {"product_id": (i + k) % 500, "price": Decimal128(f"{k + 1}.49"), "quantity": k}
                    for k in range(3)
                ],
            }
            for i in range(orders)
        ]
    )


def _seconds(action) -> float:
    began = time.perf_counter()
    action()
    return time.perf_counter() - began


def measure(kind: str, orders: int, customers: int) -> dict[str, float]:
    out: dict[str, float] = {}
    with server(kind) as client:
        _seed(client, orders, customers)
        db = client.bench
        out["find all, ms per document"] = _seconds(lambda: list(db.orders.find())) / orders * 1e3
        for n in (10, 500):
            ids = list(range(0, orders, max(1, orders // n)))[:n]
            out[f"$in {n} _ids, s"] = _seconds(
                lambda ids=ids: list(db.orders.find({"_id": {"$in": ids}}))
            )
        join = {"from": "customers", "localField": "customer_id", "foreignField": "_id", "as": "c"}
        lookup = [{"$lookup": join}, {"$count": "n"}]
        took, wait = longest_wait(client, lambda: list(db.orders.aggregate(lookup)))
        out["$lookup all, s"], out["waited during $lookup, s"] = took, wait
        for name, read in long_reads(db).items():
            out[f"{name}, s"], out[f"waited during {name}, s"] = longest_wait(client, read)
    return out


def long_reads(db) -> dict[str, Callable[[], object]]:
    """Reads of every order that another client might wait behind."""
    group = [{"$group": {"_id": "$customer_id", "n": {"$sum": 1}}}]
    project = [{"$project": {"lines": {"$size": "$items"}, "twice": {"$multiply": ["$total", 2]}}}]
    return {
        "count unindexed": lambda: db.orders.count_documents({"items.quantity": 2}),
        "$group all": lambda: list(db.orders.aggregate(group)),
        "$project all": lambda: list(db.orders.aggregate(project)),
        "$sort all": lambda: list(db.orders.aggregate([{"$sort": {"total": -1}}, {"$limit": 5}])),
        "find all, filtered": lambda: list(db.orders.find({"total": {"$gte": 0}})),
        "find all": lambda: list(db.orders.find()),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=3000)
    parser.add_argument("--customers", type=int, default=2000)
    parser.add_argument("--only", choices=("after",), help="measure the kit's emulator alone")
    args = parser.parse_args()
    kinds = (args.only,) if args.only else ("before", "after")
    results = {kind: measure(kind, args.orders, args.customers) for kind in kinds}
    print(f"{args.orders} orders, {args.customers} customers")
    both = len(kinds) == 2
    print(f"{'':<30}" + "".join(f"{k:>10}" for k in kinds) + (f"{'before/after':>14}" * both))
    for key in results["after"]:
        found = [results[k][key] for k in kinds]
        ratio = f"{found[0] / found[1]:>13.1f}x" if both else ""
        print(f"{key:<30}" + "".join(f"{v:>10.3f}" for v in found) + ratio)
    after = results["after"]
    growth = after["$in 500 _ids, s"] / after["$in 10 _ids, s"]
    verdict = "ok" if growth <= 1.5 else "MISSED"
    print(f"\n$in 500 / $in 10 values (target <= 1.5): {growth:.2f} {verdict}")
    print(
        f"$lookup all (target < 1 s): {after['$lookup all, s']:.2f} s "
        f"{'ok' if after['$lookup all, s'] < 1 else 'MISSED'}"
    )
    waits = [k for k in after if k.startswith("waited during")]
    longest = max(after[k] for k in waits)
    print(
        f"another client's longest wait during one long read (target <= 1 s): {longest:.2f} s "
        f"{'ok' if longest <= 1 else 'MISSED'}"
    )


if __name__ == "__main__":
    main()
