"""What the MongoDB emulator's journal costs a write, and what starting it as the server user
costs `dojo up` (issue 16).

    .venv/bin/python benchmarks/bench_mongo_journal.py [--writes 300]

Starts the kit's emulator in a fresh state directory under /var/tmp and:

- times ``update_one`` round trips over the wire (the journal on, as always);
- times the journal's own work for the same command in-process: encoding and appending it
  (what every acknowledged write pays), and an fsync (what a write would pay if each were
  synced; the journal syncs once a second instead);
- times the crash recovery that replays the journal (kill -9, then `dojo up --wait`);
- times `dojo up --only mongo --wait` (as root the emulator runs as ``nobody`` from a linked
  copy of this Python, made on the first start).
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

DOJO = Path(sys.executable).parent / "dojo"


def dojo(*args: str) -> float:
    start = time.perf_counter()
    result = subprocess.run([str(DOJO), *args], capture_output=True, text=True, check=False)
    if result.returncode != 0:
        sys.exit(f"`dojo {' '.join(args)}` failed:\n{result.stdout}{result.stderr}")
    return time.perf_counter() - start


def journal_cost(body: dict, writes: int) -> tuple[float, float]:
    """Seconds per append of ``body`` to a journal, and per fsync of it."""
    from dbdojo.mongo.emulator.journal import Journal

    with tempfile.TemporaryDirectory(dir="/var/tmp") as tmp:
        journal = Journal(Path(tmp))
        journal.open([])
        start = time.perf_counter()
        for _ in range(writes):
            journal.command("dojo_bench", body)
        append = (time.perf_counter() - start) / writes
        syncs = []
        for _ in range(max(10, writes // 10)):
            journal.command("dojo_bench", body)
            start = time.perf_counter()
            os.fsync(journal._file.fileno())
            syncs.append(time.perf_counter() - start)
        journal.close()
    return append, statistics.median(syncs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--writes", type=int, default=300)
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="dojo-bench-", dir="/var/tmp"))
    root.chmod(0o755)
    os.environ["DOJO_STATE_DIR"] = str(root)
    os.environ.pop("DOJO_MONGO_URL", None)
    try:
        first_up = dojo("up", "--only", "mongo", "--wait")
        dojo("down", "--only", "mongo")
        warm_up = dojo("up", "--only", "mongo", "--wait")
        from dbdojo import state
        from dbdojo.connect import mongo_client

        collection = mongo_client()["dojo_bench"]["learner"]
        collection.insert_one({"_id": 1, "n": 0})
        start = time.perf_counter()
        for i in range(args.writes):
            collection.update_one({"_id": 1}, {"$set": {"n": i}})
        round_trip = (time.perf_counter() - start) / args.writes
        body = {"update": "learner", "updates": [{"q": {"_id": 1}, "u": {"$set": {"n": 1}}}]}
        append, fsync = journal_cost(body, args.writes)
        record = state.get_record("mongo")
        assert record is not None and record.pid
        os.kill(record.pid, signal.SIGKILL)
        recovery = dojo("up", "--only", "mongo", "--wait")
        assert mongo_client()["dojo_bench"]["learner"].find_one({"_id": 1})["n"] == args.writes - 1
        dojo("down", "--only", "mongo")
    finally:
        subprocess.run([str(DOJO), "down"], capture_output=True, check=False)
        shutil.rmtree(root, ignore_errors=True)
    print(f"update_one round trip (journal on): {round_trip * 1e3:8.3f} ms")
    print(f"journal append per write:           {append * 1e3:8.3f} ms "
          f"({append / round_trip:.1%} of a round trip)")  # fmt: skip
    print(f"fsync of the journal:               {fsync * 1e3:8.3f} ms "
          f"({fsync / round_trip:.1f}x a round trip: why it syncs once a second)")  # fmt: skip
    print(f"up after kill -9, {args.writes + 1} writes replayed: {recovery:6.2f} s")
    print(f"first `dojo up --only mongo --wait`: {first_up:6.2f} s (makes the Python copy as root)")
    print(f"warm  `dojo up --only mongo --wait`: {warm_up:6.2f} s")


if __name__ == "__main__":
    main()
