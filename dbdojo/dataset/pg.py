"""PostgreSQL: build a template database aside, swap it in atomically, clone workspaces from it.

Databases on the server:

- ``dojo_template`` holds the seeded dataset (``dojo_template_edge_<variant>`` the edge cases);
  nobody connects to it; every workspace is a clone (``CREATE DATABASE ... TEMPLATE``).
- ``dojo_build`` (``dojo_build_<variant>``) is where a seed loads; only a complete build is
  renamed to the template, in one transaction with the old template's rename, so a seed killed
  at any point leaves the previous template usable.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from dbdojo import settings
from dbdojo.connect import pg_server
from dbdojo.dataset import pgcopy, pgfiles
from dbdojo.dataset.generate import GENERATOR_VERSION, Dataset
from dbdojo.dataset.phases import timed
from dbdojo.paths import datasets_dir, state_dir
from dbdojo.workspace import MAIN

if TYPE_CHECKING:
    import psycopg
    import psycopg.sql

BEFORE_LOAD = ["01_schema.sql"]
VECTOR_FILE = "02_vector.sql"
AFTER_LOAD = ["03_constraints.sql", "04_indexes.sql", "05_comments.sql"]
MAINTENANCE_WORK_MEM = "512MB"  # per index build; the seed runs one build at a time
Report = Callable[[str, int], None]  # (what, rows just loaded)


def template_name(dataset: str = MAIN) -> str:
    """``dojo_template`` for the main dataset, ``dojo_template_<name>`` for an edge variant."""
    return "dojo_template" if dataset == MAIN else f"dojo_template_{dataset}"


def build_name(dataset: str = MAIN) -> str:
    return "dojo_build" if dataset == MAIN else f"dojo_build_{dataset}"


@contextmanager
def admin() -> Iterator[psycopg.Connection]:
    with pg_server() as conn:
        yield conn


def exists(conn: psycopg.Connection, dbname: str) -> bool:
    return (
        conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (dbname,)).fetchone()
        is not None
    )


def drop(conn: psycopg.Connection, dbname: str) -> None:
    from psycopg import sql

    conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(dbname)))


def has_vector(conn: psycopg.Connection) -> bool:
    row = conn.execute("SELECT 1 FROM pg_available_extensions WHERE name = 'vector'").fetchone()
    return row is not None


def run_sql_file(conn: psycopg.Connection, name: str) -> None:
    conn.execute((datasets_dir() / "postgres" / name).read_text())


def metadata(data: Dataset, **extra: str) -> dict[str, str]:
    """What is recorded about a seeded dataset (the checksum is added while loading)."""
    return {
        "scale": data.scale.name,
        "seed": str(data.seed),
        "generator_version": GENERATOR_VERSION,
        **extra,
    }


def build_template(
    data: Dataset,
    meta: dict[str, str],
    dataset: str = MAIN,
    report: Report = lambda what, rows: None,
    layout_sql: str = "",
    copied: Callable[[dict[str, str]], None] = lambda meta: None,
) -> dict[str, str]:
    """Load ``data`` into a fresh build database, finish it, swap it in as the template.

    ``layout_sql`` runs right after the COPY: statements that change where rows sit in the
    tables (an edge case's physical order), never what they hold. Returns ``meta`` with the
    data's checksum, as recorded in the template; ``copied`` gets it as soon as it is known.
    """
    from psycopg import sql

    build, template = build_name(dataset), template_name(dataset)
    prefix = "" if dataset == MAIN else f"{dataset}: "
    with admin() as conn, timed(f"{prefix}PostgreSQL create build database"):
        drop(conn, build)
        conn.execute(
            sql.SQL("CREATE DATABASE {} TEMPLATE template0 ENCODING 'UTF8'").format(
                sql.Identifier(build)
            )
        )
    with pg_server(build) as conn:
        run_sql_file(conn, BEFORE_LOAD[0])
        vector = has_vector(conn)
        if vector:
            run_sql_file(conn, VECTOR_FILE)
        digest = hashlib.sha256()
        pgcopy.copy_tables(
            conn, data, vector, report, digest, phase=lambda t: timed(f"{prefix}COPY {t}")
        )
        meta = {**meta, "checksum": digest.hexdigest()}
        copied(meta)
        if layout_sql:
            conn.execute(layout_sql.encode())
        with conn.cursor() as cur:
            cur.executemany("INSERT INTO dataset_info VALUES (%s, %s)", list(meta.items()))
        _speed_up_maintenance(conn)
        for name in AFTER_LOAD:
            with timed(f"{prefix}PostgreSQL {name}"):
                run_sql_file(conn, name)
            report(name, 0)
        with timed(f"{prefix}PostgreSQL VACUUM (ANALYZE)"):
            conn.execute("VACUUM (ANALYZE)")
        report("VACUUM (ANALYZE)", 0)
    with admin() as conn, timed(f"{prefix}PostgreSQL template swap"):
        conn.execute(
            sql.SQL("COMMENT ON DATABASE {} IS {}").format(
                sql.Identifier(build), sql.Literal(json.dumps(meta, sort_keys=True))
            )
        )
        swap_in(conn, build, template)
    return meta


def _speed_up_maintenance(conn: psycopg.Connection) -> None:
    """Session settings for building constraints and indexes on freshly loaded tables: more
    memory per sort (fewer merge passes) and parallel index builds on this server's cores."""
    conn.execute(f"SET maintenance_work_mem = '{MAINTENANCE_WORK_MEM}'")
    workers = max(1, min(4, (os.cpu_count() or 2) - 1))
    conn.execute(f"SET max_parallel_maintenance_workers = {workers}")


def build_leftovers(conn: psycopg.Connection) -> list[str]:
    """Build databases (``dojo_build``, ``dojo_build_<variant>``) on the server: outside a
    running seed, the leftovers of an interrupted one."""
    rows = conn.execute(
        "SELECT datname FROM pg_database WHERE datname = 'dojo_build' "
        "OR datname LIKE 'dojo\\_build\\_%' ORDER BY datname"
    ).fetchall()
    return [r[0] for r in rows]


def swap_in(conn: psycopg.Connection, new: str, target: str, keep_old: bool = False) -> None:
    """Rename ``new`` to ``target`` atomically; the previous ``target`` becomes
    ``<target>_old``, dropped here unless ``keep_old`` (then the caller drops it later)."""
    import psycopg.errors

    old = f"{target}_old"
    drop(conn, old)
    for attempt in range(5):  # a client may reconnect between terminate and rename: retry
        try:
            with conn.transaction():
                if exists(conn, target):
                    terminate(conn, target)
                    conn.execute(_rename(target, old))
                conn.execute(_rename(new, target))
            break
        except psycopg.errors.ObjectInUse:
            if attempt == 4:
                raise
            time.sleep(0.05)
    if not keep_old:
        drop(conn, old)


def _rename(old: str, new: str) -> psycopg.sql.Composed:
    from psycopg import sql

    return sql.SQL("ALTER DATABASE {} RENAME TO {}").format(
        sql.Identifier(old), sql.Identifier(new)
    )


def terminate(conn: psycopg.Connection, dbname: str) -> None:
    conn.execute(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
        "WHERE datname = %s AND pid <> pg_backend_pid()",
        (dbname,),
    )


def template_meta(conn: psycopg.Connection, dataset: str = MAIN) -> dict[str, str] | None:
    """What the template holds (scale, seed, checksum ...), or None when nothing is seeded."""
    row = conn.execute(
        "SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = %s",
        (template_name(dataset),),
    ).fetchone()
    if row is None or not row[0]:
        return None
    return json.loads(row[0])


def clone(
    conn: psycopg.Connection, template: str, target: str, strategy: str = "FILE_COPY"
) -> None:
    """Replace database ``target`` by a fresh copy of ``template``."""
    fresh = f"{target}_new"
    drop(conn, fresh)
    create_copy(conn, template, fresh, strategy)
    swap_in(conn, fresh, target)


def create_copy(
    conn: psycopg.Connection, template: str, name: str, strategy: str, tablespace: str = ""
) -> None:
    """CREATE DATABASE ``name`` as a copy of ``template`` (in ``tablespace``, else in the
    template's), labelled with the template's data. A FILE_COPY within a file system that can
    clone files clones them (``file_copy_method = clone``): the copy shares every block with
    the template until one side writes it."""
    from psycopg import sql

    where = (
        sql.SQL(" TABLESPACE {}").format(sql.Identifier(tablespace)) if tablespace else sql.SQL("")
    )
    clone_files = strategy == "FILE_COPY" and not tablespace and pgfiles.clones(conn, template)
    if clone_files:
        conn.execute("SET file_copy_method = clone")
    try:
        conn.execute(
            sql.SQL("CREATE DATABASE {} TEMPLATE {} STRATEGY {}{}").format(
                sql.Identifier(name), sql.Identifier(template), sql.SQL(strategy), where
            )
        )
    finally:
        if clone_files:
            conn.execute("RESET file_copy_method")
    text = label(conn, template)
    conn.execute(
        sql.SQL("COMMENT ON DATABASE {} IS {}").format(sql.Identifier(name), sql.Literal(text))
    )


def label(conn: psycopg.Connection, database: str) -> str:
    """Which data ``database`` holds: its comment, its template's metadata (``''``: none)."""
    row = conn.execute(
        "SELECT coalesce(shobj_description(oid, 'pg_database'), '') FROM pg_database "
        "WHERE datname = %s",
        (database,),
    ).fetchone()
    return row[0] if row else ""


def spare_name(target: str) -> str:
    return f"{target}_spare"


def reset_database(conn: psycopg.Connection, template: str, target: str) -> bool:
    """Make ``target`` a fresh copy of ``template``; True if a ready spare copy was used.

    Copying a large template takes seconds, renaming takes milliseconds: a reset swaps in a
    spare copy made in advance when one of the current template exists, and a background
    process then prepares the next spare (see :mod:`dbdojo.dataset.spare`). Where copies
    are clones of the template's files (:func:`pgfiles.clones`) a spare costs next to no
    disk, and is still worth it: a clone takes ~0.1 s on a quiet machine but 0.6-2 s on a
    busy one (CREATE DATABASE's two checkpoints and fsyncs), a rename milliseconds
    (benchmarks/bench_learner_disk.py).
    """
    import psycopg.errors

    fast = spare_ready(conn, template, target)
    if fast:
        try:
            swap_in(conn, spare_name(target), target, keep_old=True)
        except psycopg.errors.InvalidCatalogName:  # a background job replaced a stale spare
            fast = False
    if not fast:
        clone(conn, template, target)
    if settings.reset_spares():
        start_spare(template, target)
    return fast


def spare_ready(conn: psycopg.Connection, template: str, target: str) -> bool:
    """True if ``target`` has a spare copy of ``template``'s current data."""
    spare = spare_name(target)
    return exists(conn, spare) and label(conn, spare) == label(conn, template) != ""


def start_spare(template: str, target: str) -> None:
    """Prepare the next spare of ``target`` in a detached process (drops the replaced copy)."""
    log = state_dir() / "logs"
    log.mkdir(parents=True, exist_ok=True)
    with open(log / "reset-spares.log", "a") as out:
        subprocess.Popen(
            [sys.executable, "-m", "dbdojo.dataset.spare", template, target],
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=out,
            start_new_session=True,
        )
