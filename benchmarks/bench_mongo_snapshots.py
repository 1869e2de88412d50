"""MongoDB snapshots on the kit's emulator: build, first restore (loads the file), restore.

    .venv/bin/python benchmarks/bench_mongo_snapshots.py [--docs 50000] [--runs 5]
    .venv/bin/python benchmarks/bench_mongo_snapshots.py --orders 12000 50000 100000

Starts its own emulator in a throwaway state directory, builds a snapshot of --docs order
documents (3 secondary indexes, a validator) plus 1/10 as many customers, then restores it into
workspaces. Target (issue 3 / brief): restore < 1 s for ~50k documents; the ratio compares a
restore with rebuilding the data.

``--orders N ...`` (issue 20: how many orders the default dataset holds in MongoDB) builds the
default scale's real MongoDB data holding the N most recent orders, in a fresh emulator per N,
and prints what each N costs (snapshot build and file, the emulator's first load and memory, a
restore) and what it teaches: a customer's orders and the last hour's orders found through
their index vs by a collection scan (the index dropped), time and explain()'s documents
examined, and a $group over every order (what an aggregation cell costs).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path


def build(n: int):
    def run(db) -> None:
        db.create_collection("orders", validator={"$jsonSchema": {"required": ["customer"]}})
        start = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
        db.orders.insert_many(
            [
                {
                    "_id": i,
                    "customer": i % (n // 10 or 1),
                    "placed": start + dt.timedelta(minutes=i),
                    "lines": [{"sku": (i * 7 + k) % 500, "qty": k + 1} for k in range(i % 4)],
                }
                for i in range(n)
            ],
            ordered=False,
        )
        db.orders.create_index([("customer", 1), ("placed", -1)])
        db.orders.create_index("lines.sku")
        db.customers.insert_many([{"_id": i, "name": f"c{i}"} for i in range(n // 10)])

    return run


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--docs", type=int, default=50_000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    os.environ["DOJO_STATE_DIR"] = tempfile.mkdtemp(prefix="dojo-bench-mongo-", dir="/var/tmp")
    os.environ.pop("DOJO_MONGO_URL", None)
    from dbdojo import state
    from dbdojo.mongo import snapshots as mongo_snapshots
    from dbdojo.mongo.service import MongoService
    from dbdojo.workspace import Workspace

    service = MongoService()
    began = time.perf_counter()
    record = service.start(None)
    state.put_record(record)
    print(f"emulator start           {time.perf_counter() - began:8.3f} s")
    try:
        began = time.perf_counter()
        mongo_snapshots.build_snapshot("bench", build(args.docs))
        build_s = time.perf_counter() - began
        size = (Path(str(record.data_dir)) / "snapshots" / "bench.snapshot").stat().st_size
        print(
            f"build_snapshot           {build_s:8.3f} s  ({args.docs * 11 // 10} docs, "
            f"{size / 1e6:.1f} MB file)"
        )
        began = time.perf_counter()
        mongo_snapshots.restore(Workspace("bench0"), "bench")
        print(f"first restore (loads)    {time.perf_counter() - began:8.3f} s")
        times = []
        for i in range(args.runs):
            began = time.perf_counter()
            mongo_snapshots.restore(Workspace(f"bench{i % 2}"), "bench")
            times.append(time.perf_counter() - began)
        median = statistics.median(times)
        print(
            f"restore (median of {args.runs})   {median:8.4f} s  target < 1 s: "
            f"{'met' if median < 1 else 'MISSED'}"
        )
        print(f"rebuild / restore        {build_s / median:8.0f} x")
        service.stop(record)
        began = time.perf_counter()
        record = service.start(record)
        state.put_record(record)
        print(f"restart with 2 workspaces{time.perf_counter() - began:8.3f} s (clean stop)")
    finally:
        service.stop(record)


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _best(run, repeat: int = 3) -> float:
    """The fastest of ``repeat`` runs of ``run()``, in seconds."""
    times = []
    for _ in range(repeat):
        began = time.perf_counter()
        run()
        times.append(time.perf_counter() - began)
    return min(times)


def _lookups(db) -> dict[str, tuple[float, int]]:
    """(seconds, documents examined) of the index lesson's two queries, as indexed now."""
    newest = db.orders.find_one(sort=[("_id", -1)])
    hour = {"placed_at": {"$gte": newest["placed_at"] - dt.timedelta(hours=1)}}
    queries = {
        "a customer's orders": {"customer.customer_id": newest["customer"]["customer_id"]},
        "the last hour's orders": hour,
    }
    found = {}
    for label, query in queries.items():
        seconds = _best(lambda q=query: list(db.orders.find(q, {"_id": 1, "total": 1})))
        stats = db.orders.find(query).explain()["executionStats"]
        found[label] = (seconds, stats["totalDocsExamined"], stats["nReturned"])
    return found


GROUP_BY_STATUS = [{"$group": {"_id": "$status", "n": {"$sum": 1}}}]


def _measure(data, count: int) -> dict:
    """One fresh emulator holding ``count`` orders of ``data``: costs and the two queries."""
    import dataclasses

    from dbdojo import state
    from dbdojo.connect import mongo_db
    from dbdojo.dataset import mongo_data
    from dbdojo.mongo import snapshots as mongo_snapshots
    from dbdojo.mongo.service import MongoService
    from dbdojo.workspace import Workspace

    home = tempfile.mkdtemp(prefix="dojo-bench-mongo-", dir="/var/tmp")
    os.environ["DOJO_STATE_DIR"] = home
    scale = dataclasses.replace(data.scale, mongo_orders=count)
    service = MongoService()
    record = service.start(None)
    state.put_record(record)
    ws = Workspace("vol")
    try:
        began = time.perf_counter()
        build = mongo_data.builder(dataclasses.replace(data, scale=scale), {"checksum": "-"})
        mongo_snapshots.build_snapshot("vol", build)
        got = {"build": time.perf_counter() - began}
        got["size"] = (Path(str(record.data_dir)) / "snapshots" / "vol.snapshot").stat().st_size
        began = time.perf_counter()
        mongo_snapshots.restore(ws, "vol")
        got["load"] = time.perf_counter() - began
        got["restore"] = _best(lambda: mongo_snapshots.restore(ws, "vol"))
        got["rss"] = _rss_mb(int(record.pid))
        db = mongo_db(ws)
        got["indexed"] = _lookups(db)
        db.orders.drop_indexes()
        got["scanned"] = _lookups(db)
        got["group"] = _best(lambda: list(db.orders.aggregate(GROUP_BY_STATUS)), 1)
    finally:
        service.stop(record)
        shutil.rmtree(home, ignore_errors=True)
    return got


def volume(counts: list[int]) -> None:
    """What holding N orders in MongoDB costs and teaches, for each N (module docstring)."""
    from dbdojo.dataset.generate import generate

    data = generate("default")
    print(f"default scale: {data.rows('orders'):,} orders in PostgreSQL")
    for count in counts:
        got = _measure(data, count)
        print(f"\n{count:,} orders in MongoDB:")
        print(f"  snapshot build + save  {got['build']:7.1f} s  ({got['size'] / 1e6:,.0f} MB file)")
        print(
            f"  first restore (load)   {got['load']:7.1f} s   emulator memory {got['rss']:,.0f} MB"
        )
        print(f"  restore                {got['restore']:7.3f} s")
        print(f"  $group over every order{got['group']:7.2f} s")
        for label, (fast, docs, n) in got["indexed"].items():
            slow, scan_docs, _ = got["scanned"][label]
            print(
                f"  {label:23} index {fast * 1000:7.1f} ms, {docs:,} docs examined; "
                f"COLLSCAN {slow * 1000:7.1f} ms, {scan_docs:,} docs ({n:,} returned): "
                f"{slow / fast:5.0f}x the time, {scan_docs / max(docs, 1):,.0f}x the documents"
            )


if __name__ == "__main__":
    if "--orders" in sys.argv:
        volume([int(a) for a in sys.argv[sys.argv.index("--orders") + 1 :]])
    else:
        main()
