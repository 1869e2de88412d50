"""Partition count vs planning time and locks (the measurement behind lesson P7, section 8).

Builds a range-partitioned table with 1 to 2,048 partitions (100 rows in all) in a scratch
schema of the current workspace, and prints the median planning time of a query pruned to one
partition and of one that reads them all, the relation locks the second one holds, and the
ratios to one partition. Drops the schema at the end.

    .venv-test/bin/python benchmarks/bench_partitions.py [runs]     # default: 15
"""

from __future__ import annotations

import statistics
import sys

import psycopg

from dbdojo.connect import pg_connect

SCHEMA = "bench_partitions"
COUNTS = (1, 16, 128, 512, 2048)
KEYS = 204_800  # divisible by every count


def drop(conn: psycopg.Connection) -> None:
    """Drop the table a few hundred partitions at a time: one DROP of thousands of tables
    needs more locks than the lock table holds (max_locks_per_transaction)."""
    names = (
        conn.execute(
            f"SELECT relid::regclass::text FROM pg_partition_tree('{SCHEMA}.t') WHERE isleaf"
        ).fetchall()
        if conn.execute(f"SELECT to_regclass('{SCHEMA}.t')").fetchone()[0]
        else []
    )
    for first in range(0, len(names), 256):
        conn.execute("DROP TABLE " + ", ".join(name for (name,) in names[first : first + 256]))
    conn.execute(f"DROP TABLE IF EXISTS {SCHEMA}.t")


def build(conn: psycopg.Connection, n: int) -> None:
    drop(conn)
    conn.execute(f"CREATE TABLE {SCHEMA}.t (k int NOT NULL, v text) PARTITION BY RANGE (k)")
    width = KEYS // n
    for first in range(0, n, 256):  # 256 per transaction: each holds a few locks per table
        with conn.transaction():
            for i in range(first, min(first + 256, n)):
                conn.execute(
                    f"CREATE TABLE {SCHEMA}.t_{i} PARTITION OF {SCHEMA}.t "
                    f"FOR VALUES FROM ({i * width}) TO ({(i + 1) * width})"
                )
    step = KEYS // 100
    keys = f"generate_series(0, {KEYS - 1}, {step})"
    conn.execute(f"INSERT INTO {SCHEMA}.t SELECT k, 'x' FROM {keys} AS k")
    conn.execute(f"ANALYZE {SCHEMA}.t")


def planning_ms(conn: psycopg.Connection, sql: str, runs: int) -> float:
    times = []
    for _ in range(runs):
        (doc,) = conn.execute(f"EXPLAIN (SUMMARY, FORMAT JSON) {sql}").fetchone()
        times.append(doc[0]["Planning Time"])
    return statistics.median(times)


def locks_held(conn: psycopg.Connection, sql: str) -> int:
    with conn.transaction(force_rollback=True):
        conn.execute(sql)
        return conn.execute(
            "SELECT count(*) FROM pg_locks WHERE pid = pg_backend_pid() AND locktype = 'relation' "
            f"AND relation::regclass::text LIKE '{SCHEMA}.%'"
        ).fetchone()[0]


def main(runs: int) -> None:
    with pg_connect() as conn:
        conn.execute(f"CREATE SCHEMA IF NOT EXISTS {SCHEMA}")
        try:
            rows = []
            for n in COUNTS:
                build(conn, n)
                every_sql = f"SELECT count(*) FROM {SCHEMA}.t"
                pruned = planning_ms(conn, f"SELECT * FROM {SCHEMA}.t WHERE k = 5", runs)
                every = planning_ms(conn, every_sql, runs)
                rows.append((n, pruned, every, locks_held(conn, every_sql)))
        finally:
            drop(conn)
            conn.execute(f"DROP SCHEMA {SCHEMA} CASCADE")
    _, base_pruned, base_every, _ = rows[0]
    print(f"{'partitions':>10} {'pruned ms':>10} {'x':>6} {'all ms':>9} {'x':>7} {'locks':>6}")
    for n, pruned, every, locks in rows:
        print(
            f"{n:>10,} {pruned:>10.3f} {pruned / base_pruned:>6.1f} "
            f"{every:>9.3f} {every / base_every:>7.0f} {locks:>6,}"
        )


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 15)
