"""Seed load speed into PostgreSQL vs a raw server-side COPY FROM of the same rows.

The seed path is what ``dojo seed`` does per table: encode numpy columns to binary COPY and
stream them with psycopg's ``COPY ... FROM STDIN``. The limit is the server reading the very
same bytes from a file (``COPY ... FROM '/file' (FORMAT BINARY)``), with nothing to encode.
Uses the servers the kit is configured with (``dojo up`` or DOJO_POSTGRES_URL).

    .venv/bin/python benchmarks/bench_seed.py [scale]     # default: default
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

from psycopg import sql

from dbdojo.dataset import pg
from dbdojo.dataset.generate import generate
from dbdojo.dataset.pgbinary import HEADER, TRAILER

SEED_DB, RAW_DB = "dojo_bench_seed", "dojo_bench_raw"


def fresh_database(name: str):
    with pg.admin() as conn:
        pg.drop(conn, name)
        conn.execute(sql.SQL("CREATE DATABASE {} TEMPLATE template0").format(sql.Identifier(name)))
    conn = pg.connect(name)
    pg.run_sql_file(conn, "01_schema.sql")
    vector = pg.has_vector(conn)
    if vector:
        pg.run_sql_file(conn, pg.VECTOR_FILE)
    return conn, vector


def main(scale: str) -> None:
    data = generate(scale)
    rows = sum(data.rows(t) for t in data.tables)
    conn, vector = fresh_database(SEED_DB)
    started = time.perf_counter()
    with conn:
        for table in data.tables:
            pg.copy_table(conn, data, table, vector, lambda what, n: None)
    seed_s = time.perf_counter() - started

    folder = Path(tempfile.mkdtemp(prefix="dojo-bench-copy-", dir="/var/tmp"))
    folder.chmod(0o755)
    files = {}
    for table in data.tables:
        path = folder / f"{table}.bin"
        path.write_bytes(HEADER + data.encode(table, vector=vector) + TRAILER)
        path.chmod(0o644)
        files[table] = path
    conn, _ = fresh_database(RAW_DB)
    started = time.perf_counter()
    with conn:
        for table, path in files.items():
            columns = ", ".join(name for name, _, _ in data.columns(table, vector))
            conn.execute(f"COPY {table} ({columns}) FROM '{path}' (FORMAT BINARY)")
    raw_s = time.perf_counter() - started
    size = sum(p.stat().st_size for p in files.values())
    for path in files.values():
        path.unlink()
    folder.rmdir()
    with pg.admin() as admin:
        pg.drop(admin, SEED_DB)
        pg.drop(admin, RAW_DB)
    print(f"scale {scale}: {rows:,} rows, {size / 2**20:,.0f} MiB of binary COPY data")
    print(f"seed path (encode + COPY FROM STDIN): {seed_s:6.2f} s  {rows / seed_s:>12,.0f} rows/s")
    print(f"raw COPY FROM file (server side):     {raw_s:6.2f} s  {rows / raw_s:>12,.0f} rows/s")
    print(f"ratio seed / raw: {raw_s / seed_s:.2f}x (target >= 0.8x)")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "default")
