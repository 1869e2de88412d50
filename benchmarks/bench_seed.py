"""Seed load speed into PostgreSQL vs a raw server-side COPY FROM of the same rows, and where a
whole ``dojo seed`` spends its time.

The seed path is what ``dojo seed`` does per table: encode numpy columns to binary COPY and
stream them with psycopg's ``COPY ... FROM STDIN``. The limit is the server reading the very
same bytes from a file (``COPY ... FROM '/file' (FORMAT BINARY)``), with nothing to encode.
Uses the servers the kit is configured with (``dojo up`` or DOJO_POSTGRES_URL).

The profile (``--profile``) seeds ``scale`` and rebuilds the edge variants from scratch on
servers of its own (a fresh state directory under /var/tmp, removed afterwards), never on the
servers in use, and prints the wall-clock time of each phase.

    .venv/bin/python benchmarks/bench_seed.py [scale]             # default: default
    .venv/bin/python benchmarks/bench_seed.py [scale] --profile   # per-phase seed profile
"""

from __future__ import annotations

import io
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

from psycopg import sql
from rich.console import Console

from dbdojo.connect import pg_server
from dbdojo.dataset import pg, pgcopy
from dbdojo.dataset.generate import generate
from dbdojo.dataset.pgbinary import HEADER, TRAILER

SEED_DB, RAW_DB = "dojo_bench_seed", "dojo_bench_raw"


def fresh_database(name: str):
    with pg.admin() as conn:
        pg.drop(conn, name)
        conn.execute(sql.SQL("CREATE DATABASE {} TEMPLATE template0").format(sql.Identifier(name)))
    conn = pg_server(name)
    pg.run_sql_file(conn, "01_schema.sql")
    vector = pg.has_vector(conn)
    if vector:
        pg.run_sql_file(conn, pg.VECTOR_FILE)
    return conn, vector


def profile(scale: str) -> None:
    """Seed ``scale`` and the edge variants on servers of its own; print each phase's time."""
    root = Path(tempfile.mkdtemp(prefix="dojo-bench-seed-", dir="/var/tmp"))
    root.chmod(0o755)
    for var in ("DOJO_POSTGRES_URL", "DOJO_MONGO_URL", "DOJO_REDIS_URL"):
        os.environ.pop(var, None)
    os.environ["DOJO_STATE_DIR"] = str(root)
    os.environ["DOJO_RESET_SPARES"] = "0"  # a spare is background work, not part of a seed
    from dbdojo.dataset import phases
    from dbdojo.dataset.seeding import ensure_edge_variants, seed
    from dbdojo.services import manager

    try:
        failed = [o for o in manager.up(wait=True) if not o.ok]
        if failed:
            sys.exit(f"servers did not start: {failed}")
        quiet = Console(file=io.StringIO())
        with phases.recording() as timings:
            started = time.perf_counter()
            meta = seed(scale, force=True, console=quiet)
            seeded = time.perf_counter() - started
            ensure_edge_variants(force=True, console=quiet)
            total = time.perf_counter() - started
    finally:
        manager.down()
        shutil.rmtree(root, ignore_errors=True)
    print(f"seed profile, scale {scale} (checksum {meta['checksum'][:16]}):")
    edge_parts: dict[str, dict[str, float]] = {}
    for name, seconds in timings:
        variant, _, phase = name.partition(": ")
        if variant.startswith("edge_") and phase:
            kind = phase.split()[0] if phase.split()[0] in KINDS else "PostgreSQL"
            parts = edge_parts.setdefault(variant.removeprefix("edge_"), {})
            parts[kind] = parts.get(kind, 0.0) + seconds
            continue
        line = f"  {name:40} {seconds:8.2f} s  {seconds / total:6.1%}"
        if name.startswith("edge variant "):
            parts = edge_parts.get(name.removeprefix("edge variant "), {})
            line += "   " + ", ".join(f"{k} {v:.2f}" for k, v in parts.items())
        print(line)
    print(f"  {'dojo seed, edge-case workspaces included':40} {seeded:8.2f} s   (target 45 s)")
    print(f"  {'the edge variants again, on their own':40} {total - seeded:8.2f} s")


KINDS = ("generate", "Redis", "MongoDB", "reset", "COPY")


def main(scale: str) -> None:
    data = generate(scale)
    rows = sum(data.rows(t) for t in data.tables)
    conn, vector = fresh_database(SEED_DB)
    started = time.perf_counter()
    with conn:
        pgcopy.copy_tables(conn, data, vector)
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
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    chosen = args[0] if args else "default"
    profile(chosen) if "--profile" in sys.argv else main(chosen)
