"""What a write costs on the MongoDB emulator, before and after the kit's O(1) ``_id`` checks.

Starts two servers on free ports, each in its own process: mongoeco's plain wire server (what
the kit served before, ``before``) and the kit's emulator (``python -m
dbdojo.mongo.emulator.server``, ``after``), and measures over the wire with pymongo:

- ``insert_many`` of n documents into an empty collection, per document, at three sizes
  (target: O(1) per document, the largest size within 1.5x of the smallest per document);
- ``insert_one`` into a collection of n documents vs an empty one (target: within 1.5x);
- ``update_many`` over every document, per document, at two sizes (target: within 1.5x);
- the longest another client waits for a ``find_one`` while one ``insert_many``,
  ``update_many`` or ``delete_many`` of the largest size runs (target: 1 s; the kit's emulator
  yields between documents and inserts in slices: :mod:`dbdojo.mongo.emulator.fairness`).

Run: ``python benchmarks/bench_mongo_writes.py [--sizes 500 1000 2000]``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from pymongo import MongoClient

from dbdojo import procs

ROOT = Path(__file__).resolve().parent.parent
EMULATOR = ["-m", "dbdojo.mongo.emulator.server"]


def _serve_plain(port: int) -> None:
    """mongoeco's own wire server over a MemoryEngine (the emulator before the kit's fix)."""
    from mongoeco.engines.memory import MemoryEngine
    from mongoeco.wire import AsyncMongoEcoProxyServer

    async def main() -> None:
        engine = MemoryEngine(aggregation_materialization_limit=None)
        server = AsyncMongoEcoProxyServer(
            engine=engine, host="127.0.0.1", port=port, mongodb_dialect="8.0"
        )
        async with server:
            await asyncio.Event().wait()

    asyncio.run(main())


@contextlib.contextmanager
def server(kind: str) -> Iterator[MongoClient]:
    port = procs.free_port()
    with tempfile.TemporaryDirectory(dir=ROOT / "benchmarks") as home:
        server_argv = [__file__, "--serve-plain", str(port)] if kind == "before" else EMULATOR
        argv = [sys.executable, *server_argv]
        if kind == "after":
            argv += ["--port", str(port), "--home", home]
        proc = subprocess.Popen(argv, cwd=ROOT, stdout=subprocess.DEVNULL)
        try:
            # a long connect timeout: the monitor's heartbeat waits behind a slow write, not fails
            client: MongoClient = MongoClient(
                port=port, serverSelectionTimeoutMS=60_000, connectTimeoutMS=600_000
            )
            client.admin.command("ping")
            yield client
            client.close()
        finally:
            proc.terminate()
            proc.wait(timeout=60)


def _docs(n: int) -> list[dict]:
    return [
        {"_id": i, "name": f"customer {i}", "total": i * 1.5, "tags": ["a", "b"]} for i in range(n)
    ]


def per_doc_insert(client: MongoClient, n: int) -> float:
    coll = client.bench[f"insert_{n}"]
    began = time.perf_counter()
    coll.insert_many(_docs(n))
    return (time.perf_counter() - began) / n


def insert_one_cost(client: MongoClient, n: int, count: int = 100) -> float:
    coll = client.bench[f"insert_{n}"]  # holds n documents already
    began = time.perf_counter()
    for i in range(count):
        coll.insert_one({"_id": n + i, "name": "late"})
    return (time.perf_counter() - began) / count


def per_doc_update(client: MongoClient, n: int) -> float:
    coll = client.bench[f"insert_{n}"]
    began = time.perf_counter()
    coll.update_many({}, {"$inc": {"total": 1}})
    return (time.perf_counter() - began) / coll.estimated_document_count()


def longest_wait(client: MongoClient, operation: Callable[[], object]) -> tuple[float, float]:
    """(seconds ``operation`` took, the longest find_one another client waited meanwhile)."""
    other = MongoClient(*client.address, connectTimeoutMS=600_000)
    other.bench.probe.replace_one({"_id": 1}, {"_id": 1}, upsert=True)
    waits: list[float] = []
    stop = threading.Event()

    def probe() -> None:
        while not stop.is_set():
            began = time.perf_counter()
            other.bench.probe.find_one({"_id": 1})
            waits.append(time.perf_counter() - began)
            time.sleep(0.02)

    thread = threading.Thread(target=probe)
    thread.start()
    time.sleep(0.2)
    began = time.perf_counter()
    operation()
    took = time.perf_counter() - began
    stop.set()
    thread.join()
    other.close()
    return took, max(waits)


def long_writes(n: int) -> dict[str, Callable[[MongoClient], object]]:
    """The multi-document writes another client might wait behind, over ``n`` documents."""
    return {
        "insert_many": lambda c: c.bench.long.insert_many(_docs(n)),
        "update_many": lambda c: c.bench.long.update_many({}, {"$inc": {"total": 1}}),
        "delete_many": lambda c: c.bench.long.delete_many({}),
    }


def measure(kind: str, sizes: list[int]) -> dict[str, float]:
    out: dict[str, float] = {}
    with server(kind) as client:
        client.bench.insert_0.insert_one({"_id": -1})
        for n in sizes:
            out[f"insert_many {n}"] = per_doc_insert(client, n) * 1000
        out["insert_one empty"] = insert_one_cost(client, 0) * 1000
        out[f"insert_one {sizes[-1]}"] = insert_one_cost(client, sizes[-1]) * 1000
        for n in (sizes[0], sizes[-1]):
            out[f"update_many {n}"] = per_doc_update(client, n) * 1000
        for name, write in long_writes(sizes[-1]).items():
            took, wait = longest_wait(client, lambda write=write: write(client))
            out[f"{name} s"], out[f"waited during {name} s"] = took, wait
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs=3, default=[500, 1000, 2000])
    parser.add_argument("--serve-plain", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_plain:
        _serve_plain(args.serve_plain)
        return
    small, _, large = args.sizes
    results = {kind: measure(kind, args.sizes) for kind in ("before", "after")}
    print(f"{'ms per document':<28}{'before':>10}{'after':>10}{'before/after':>14}")
    for key in results["after"]:
        b, a = results["before"][key], results["after"][key]
        print(f"{key:<28}{b:>10.2f}{a:>10.2f}{b / a:>13.1f}x")
    print("\ngrowth (largest / smallest size, per document; target <= 1.5: O(1) per document)")
    for label, big, little in (
        ("insert_many", f"insert_many {large}", f"insert_many {small}"),
        ("insert_one", f"insert_one {large}", "insert_one empty"),
        ("update_many", f"update_many {large}", f"update_many {small}"),
    ):
        growth = {k: results[k][big] / results[k][little] for k in results}
        verdict = "ok" if growth["after"] <= 1.5 else "MISSED"
        print(
            f"  {label:<14} before {growth['before']:.2f}  after {growth['after']:.2f}  {verdict}"
        )
    print(f"\nanother client's longest wait during one write of {large} documents (target <= 1 s)")
    for name in long_writes(large):
        before, after = (results[k][f"waited during {name} s"] for k in ("before", "after"))
        verdict = "ok" if after <= 1 else "MISSED"
        print(f"  {name:<14} before {before:.2f} s  after {after:.2f} s  {verdict}")


if __name__ == "__main__":
    main()
