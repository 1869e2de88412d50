"""What a workspace's MongoDB copy costs the kit's emulator: memory and time per copy.

A learner's (or a notebook's) workspace gets its MongoDB data by a restore of the seeded
snapshot. ``dbStats`` reports each copy's full logical size, but a restored copy shares the
snapshot's stored documents (mongoeco keeps immutable document versions that writes replace),
so what a copy really adds is the emulator's memory growth. Restores ``--copies`` workspaces,
prints the logical size of one copy, the emulator's resident memory added per copy and the
time per restore, then drops them. Target: <= 100 MB private per learner (issue 23).

Uses this checkout's servers (``dojo up`` and ``dojo seed`` first; the emulator only).

    .venv-test/bin/python benchmarks/bench_mongo_copies.py [--copies 10]
"""

from __future__ import annotations

import argparse
import time

import psutil

from dbdojo import state
from dbdojo.connect import mongo_client
from dbdojo.dataset.workspaces import MAIN, reset_mongo
from dbdojo.workspace import Workspace

MIB = 2**20


def resident(pid: int) -> int:
    """Resident bytes of the emulator and its children."""
    proc = psutil.Process(pid)
    return sum(p.memory_info().rss for p in [proc, *proc.children(recursive=True)])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--copies", type=int, default=10)
    args = parser.parse_args()
    record = state.get_record("mongo")
    if record is None or record.backend != "emulator" or not record.pid:
        raise SystemExit("needs the kit's MongoDB emulator running here: `dojo up`")
    copies = [Workspace(f"bench_copy_{i}") for i in range(args.copies)]
    with mongo_client() as client:
        logical = client[Workspace(MAIN).database].command("dbStats")["dataSize"]
        orders = client[Workspace(MAIN).database].orders.estimated_document_count()
        before = resident(record.pid)
        began = time.perf_counter()
        try:
            for ws in copies:
                reset_mongo(ws, MAIN)
            took = (time.perf_counter() - began) / len(copies)
            time.sleep(2)  # let the emulator settle
            added = (resident(record.pid) - before) / len(copies)
        finally:
            for ws in copies:
                client.drop_database(ws.database)
    print(f"{len(copies)} copies of the seeded MongoDB data ({orders:,} orders)")
    print(f"logical size of one copy (dbStats dataSize): {logical / MIB:.1f} MiB")
    print(f"emulator memory added per copy: {added / MIB:.2f} MiB (target <= 100 MB private)")
    print(f"one restore: {took * 1000:.0f} ms")


if __name__ == "__main__":
    main()
