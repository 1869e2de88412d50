"""InnoDB's clustered primary key (lesson X3): a sequential BIGINT key against a random UUID
key, for the same rows: insert time, clustered (data) size, secondary-index size, and the time
of secondary-index lookups, with the ratios UUID / sequential.

Runs on the kit's MariaDB/MySQL server (``dojo up`` or DOJO_MYSQL_URL), in the workspace's
database, on tables ``bench_keys_*`` it drops at the end; the rows are the seeded ``orders``.

    .venv/bin/python benchmarks/bench_mysql_keys.py [--rows 100000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import statistics
import time

from dbdojo.notebook.mysql import mysql

KEYS = {
    "sequential BIGINT": ("BIGINT AUTO_INCREMENT", "NULL"),
    "UUID CHAR(36)": ("CHAR(36)", "UUID()"),
    "UUID BINARY(16)": ("BINARY(16)", "UNHEX(REPLACE(UUID(), '-', ''))"),
}


def measure(my, table: str, key_type: str, key_expr: str, rows: int) -> dict[str, float]:
    my.run(f"DROP TABLE IF EXISTS {table}")
    my.run(
        f"CREATE TABLE {table} (id {key_type} PRIMARY KEY, customer_id INT, "
        "total DECIMAL(10,2), KEY (customer_id))"
    )
    started = time.perf_counter()
    my.run(
        f"INSERT INTO {table} SELECT {key_expr}, customer_id, total FROM orders "
        f"ORDER BY order_id LIMIT {rows}"
    )
    insert_s = time.perf_counter() - started
    my.run(f"ANALYZE TABLE {table}")
    with my.conn.cursor() as cur:
        cur.execute(
            "SELECT data_length, index_length FROM information_schema.tables "
            "WHERE table_schema = DATABASE() AND table_name = %s",
            (table,),
        )
        data, index = cur.fetchone()
    lookups = []
    for attempt in range(2):  # the first pass warms the buffer pool; the second is timed
        for customer in range(1, 2001, 10):
            started = time.perf_counter()
            my.df(f"SELECT SUM(total) FROM {table} WHERE customer_id = %s", (customer,))
            if attempt:
                lookups.append(time.perf_counter() - started)
    my.run(f"DROP TABLE {table}")
    return {
        "insert_s": insert_s,
        "data_mb": data / 2**20,
        "secondary_mb": index / 2**20,
        "lookup_ms": statistics.median(lookups) * 1000,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    results: dict[str, dict[str, float]] = {}
    with mysql() as my:
        print(f"{my.value('SELECT VERSION()')}, {args.rows:,} rows, median of {args.repeat}")
        for name, (key_type, key_expr) in KEYS.items():
            runs = [
                measure(my, f"bench_keys_{i}", key_type, key_expr, args.rows)
                for i in range(args.repeat)
            ]
            results[name] = {k: statistics.median(r[k] for r in runs) for k in runs[0]}
    base = results["sequential BIGINT"]
    print(f"{'key':<20}{'insert s':>10}{'data MB':>10}{'2nd MB':>10}{'lookup ms':>11}")
    for name, figures in results.items():
        print(
            f"{name:<20}{figures['insert_s']:>10.2f}{figures['data_mb']:>10.1f}"
            f"{figures['secondary_mb']:>10.1f}{figures['lookup_ms']:>11.2f}"
        )
    for name, figures in results.items():
        if name != "sequential BIGINT":
            ratios = ", ".join(f"{k} x{figures[k] / base[k]:.2f}" for k in base)
            print(f"{name} / sequential: {ratios}")


if __name__ == "__main__":
    main()
