"""MongoDB snapshots on the kit's emulator: build, first restore (loads the file), restore.

    .venv/bin/python benchmarks/bench_mongo_snapshots.py [--docs 50000] [--runs 5]

Starts its own emulator in a throwaway state directory, builds a snapshot of --docs order
documents (3 secondary indexes, a validator) plus 1/10 as many customers, then restores it into
workspaces. Target (issue 3 / brief): restore < 1 s for ~50k documents; the ratio compares a
restore with rebuilding the data.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import statistics
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


if __name__ == "__main__":
    main()
