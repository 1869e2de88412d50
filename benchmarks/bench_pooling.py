"""Connection pooling (lesson P6): what a new connection costs next to a pooled one, and
throughput against pool size for work that waits and work that computes.

Runs as the learner's role on the current workspace (``dojo up`` and ``dojo seed`` first).

    .venv-test/bin/python benchmarks/bench_pooling.py [--clients 16] [--seconds 2]
"""

from __future__ import annotations

import argparse
import os
import statistics
import threading
import time
from collections.abc import Callable

import psycopg
from psycopg_pool import ConnectionPool

from dbdojo import pgroles
from dbdojo.workspace import current

WORK = {
    "waits (pg_sleep 10 ms)": "SELECT pg_sleep(0.01)",
    "computes (CPU)": "SELECT count(*) FROM generate_series(1, 300000)",
}
SIZES = (1, 2, 4, 8, 16)


def per_call_ms(fn: Callable[[], None], calls: int = 50) -> float:
    start = time.perf_counter()
    for _ in range(calls):
        fn()
    return (time.perf_counter() - start) / calls * 1000


def connection_cost(url: str) -> tuple[float, float]:
    """Median ms of a short query on a new connection, and on one borrowed from a pool."""

    def fresh() -> None:
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("SELECT 1").fetchone()

    with ConnectionPool(url, kwargs={"autocommit": True}, min_size=2, max_size=2) as pool:
        pool.wait()

        def pooled() -> None:
            with pool.connection() as conn:
                conn.execute("SELECT 1").fetchone()

        runs = [(per_call_ms(fresh), per_call_ms(pooled)) for _ in range(3)]
    return statistics.median(r[0] for r in runs), statistics.median(r[1] for r in runs)


def throughput(url: str, size: int, sql: str, clients: int, seconds: float) -> float:
    """Transactions per second of ``clients`` threads sharing a pool of ``size``."""
    with ConnectionPool(url, kwargs={"autocommit": True}, min_size=size, max_size=size) as pool:
        pool.wait()
        done = [0] * clients
        stop = time.monotonic() + seconds

        def client(i: int) -> None:
            while time.monotonic() < stop:
                with pool.connection() as conn:
                    conn.execute(sql).fetchone()
                done[i] += 1

        threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
        start = time.monotonic()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        return sum(done) / (time.monotonic() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=2.0)
    args = parser.parse_args()
    url = pgroles.url(current(), pgroles.LEARNER)
    pgroles.connect(current(), pgroles.LEARNER).close()  # the roles made fit once

    fresh, pooled = connection_cost(url)
    print(f"query on a new connection: {fresh:.2f} ms; from a pool: {pooled:.3f} ms "
          f"({fresh / pooled:.0f}x)")  # fmt: skip
    print(f"\n{args.clients} clients, {os.cpu_count()} CPU cores: transactions/s by pool size")
    print(f"{'pool':>6}" + "".join(f"{label:>26}" for label in WORK))
    first: dict[str, float] = {}
    for size in SIZES:
        row = f"{size:>6}"
        for label, sql in WORK.items():
            tps = throughput(url, size, sql, args.clients, args.seconds)
            first.setdefault(label, tps)
            row += f"{tps:>16.0f} ({tps / first[label]:4.1f}x)"
        print(row)


if __name__ == "__main__":
    main()
