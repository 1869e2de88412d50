"""The dataset in MariaDB/MySQL: the same generated tables as PostgreSQL's, for lesson X3.

``dojo seed`` copies PostgreSQL's seeded template into MariaDB's ``dojo_template`` (built as
``dojo_template_build`` and swapped in), and each edge case's into
``dojo_template_edge_<variant>``, so both servers hold the same rows: each table leaves
PostgreSQL with ``COPY ... TO STDOUT`` in its text format, which is also ``LOAD DATA``'s
default format (tab separated, ``\\N`` for NULL, backslash escapes). A workspace's own
database (``dojo`` for the main one) is a copy of that template, indexes included, made when
lesson X3 first asks for it (:func:`reset`) and restored by ``dojo reset``; a new seed drops
the main workspace's stale copy rather than copying again (X3 alone uses it). Without a
MariaDB/MySQL server nothing happens (``dojo up`` says once how to get one).

Lab answers are checked on ``dojo_template`` and the edge cases' copies, which only the kit
writes, as ``dojo_answer``, who may only read them (:mod:`dbdojo.checking.runners.mysql`).
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from rich.console import Console

from dbdojo import state
from dbdojo.dataset.columns import TABLES
from dbdojo.errors import DojoError
from dbdojo.workspace import MAIN, Workspace

ANSWER_USER = "dojo_answer"
TEMPLATE = "dojo_template"  # the seeded copy: answers are checked on it
LONG_TEXT = {"description", "notes", "comment", "note", "address"}
JSON_COLUMNS = ("json", "textarr")  # jsonb and text[] (as a JSON array)
TYPES = {
    "int2": "SMALLINT", "int4": "INT", "int8": "BIGINT", "float4": "FLOAT", "float8": "DOUBLE",
    "num2": "DECIMAL(10,2)", "date": "DATE", "ts": "DATETIME(6)", "bool": "BOOLEAN",
    "json": "JSON", "textarr": "JSON", "text": "VARCHAR(255)",
}  # fmt: skip
# Secondary indexes like PostgreSQL's (datasets/postgres/04_indexes.sql), and the FULLTEXT
# index lesson X3 searches with.
INDEXES = (
    "CREATE INDEX orders_customer_idx ON orders (customer_id, placed_at)",
    "CREATE INDEX orders_merchant_idx ON orders (merchant_id)",
    "CREATE INDEX orders_placed_at_idx ON orders (placed_at)",
    "CREATE INDEX order_lines_order_idx ON order_lines (order_id)",
    "CREATE INDEX order_lines_product_idx ON order_lines (product_id)",
    "CREATE INDEX products_merchant_idx ON products (merchant_id)",
    "CREATE INDEX customers_email_idx ON customers (email)",
    "CREATE INDEX payments_order_idx ON payments (order_id)",
    "CREATE INDEX delivery_jobs_order_idx ON delivery_jobs (order_id)",
    "CREATE INDEX ratings_order_idx ON ratings (order_id)",
    "CREATE FULLTEXT INDEX products_text_ftx ON products (name, description)",
)
SKIPPED = ("gps_pings", "delivery_status_events")  # 6 million rows that X3 does not need


def tables() -> list[str]:
    """The tables loaded into MariaDB, in load order."""
    return [name for name in TABLES if name not in SKIPPED]


def create_table(table: str) -> str:
    """MariaDB's ``CREATE TABLE`` for a generated table; its first column is the key."""
    columns = []
    for name, kind in TABLES[table]:
        sql_type = "TEXT" if kind == "text" and name in LONG_TEXT else TYPES[kind]
        columns.append(f"`{name}` {sql_type}")
    key = TABLES[table][0][0]
    return (
        f"CREATE TABLE `{table}` ({', '.join(columns)}, PRIMARY KEY (`{key}`)) "
        "ENGINE=InnoDB DEFAULT CHARSET=utf8mb4"
    )


def export_query(table: str) -> str:
    """PostgreSQL's ``SELECT`` whose text COPY output ``LOAD DATA`` reads as is."""
    exprs = []
    for name, kind in TABLES[table]:
        col = f'"{name}"'
        if kind == "ts":
            exprs.append(f"to_char({col} AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US')")
        elif kind == "bool":
            exprs.append(f"{col}::int")
        elif kind == "textarr":
            exprs.append(f"to_json({col})::text")
        else:
            exprs.append(f"{col}::text")
    return f"SELECT {', '.join(exprs)} FROM {table} ORDER BY 1"


def configured() -> bool:
    """Whether the kit has a MariaDB/MySQL server to load (its own or the user's URL)."""
    from dbdojo.connect import ServiceDown, server_url

    try:
        server_url("mysql")
    except ServiceDown:
        return False
    return True


def _admin(**kwargs):
    from dbdojo.connect import mysql_connect_url, server_url

    return mysql_connect_url(server_url("mysql"), **kwargs)


def _answering() -> bool:
    """Whether the configured server answers; if not, say so once (the others go on)."""
    from dbdojo.services.mysql import available

    if why := available():
        Console(stderr=True).print(f"[yellow]MariaDB/MySQL skipped:[/] {why}")
        return False
    return True


def template(dataset: str = MAIN) -> str:
    """MariaDB's seeded copy of ``dataset`` (PostgreSQL's template name): ``dojo_template``,
    or ``dojo_template_edge_<variant>`` for an edge-case variant."""
    from dbdojo.dataset import pg

    return pg.template_name(dataset)


def dataset_of(ws: Workspace) -> str:
    """The dataset a workspace holds: its own for an edge-case workspace, else the main one."""
    from dbdojo.dataset.edge_names import edge_workspaces

    return ws.name if ws.name in {edge.name for edge in edge_workspaces()} else MAIN


def build_template(dataset: str = MAIN) -> float | None:
    """Copy PostgreSQL's seeded template of ``dataset`` into MariaDB (:func:`template`);
    returns the seconds it took (None without a server)."""
    if not configured() or not _answering():
        return None
    from dbdojo.connect import pg_server
    from dbdojo.dataset import pg

    target = template(dataset)
    build = f"{target}_build"
    started = time.perf_counter()
    with (
        pg_server(pg.template_name(dataset)) as source,
        _admin(local_infile=True) as my,
        my.cursor() as cur,
        tempfile.TemporaryDirectory(dir=state.data_root()) as scratch,
    ):
        cur.execute(f"DROP DATABASE IF EXISTS `{build}`")
        cur.execute(f"CREATE DATABASE `{build}` CHARACTER SET utf8mb4")
        cur.execute(f"USE `{build}`")
        cur.execute("SET SESSION foreign_key_checks = 0, unique_checks = 0, time_zone = '+00:00'")
        # PostgreSQL writes the next tables' files while MariaDB loads this one
        with ThreadPoolExecutor(1, thread_name_prefix="dojo-export") as ahead:
            files = [
                ahead.submit(_export, source, table, Path(scratch) / f"{table}.tsv")
                for table in tables()
            ]
            for table, exported in zip(tables(), files, strict=True):
                _load(cur, table, exported.result())
        for statement in INDEXES:
            cur.execute(statement)
        _dataset_info(source, cur)
        _swap_in(cur, build, target)
        _answer_user(cur, target)
    return time.perf_counter() - started


def build_template_apart(dataset: str = MAIN) -> float | None:
    """:func:`build_template` in a Python process of its own. Every row it copies passes
    through Python: beside the seed's snapshot thread each row waited for the GIL, and the
    copy took 2.3 times as long."""
    done = subprocess.run(
        [sys.executable, "-m", __name__, dataset, str(os.getpid())],
        stdout=subprocess.PIPE,
        text=True,
    )
    if done.returncode:
        raise DojoError(
            f"copying the dataset into MariaDB/MySQL failed (exit {done.returncode}): "
            "its error is above"
        )
    took = done.stdout.split()[-1] if done.stdout.split() else "None"
    return None if took == "None" else float(took)


def reset(ws: Workspace, only_existing: bool = False) -> float | None:
    """Make the workspace's MariaDB database a copy of ``dojo_template``; returns the seconds
    it took, or None when there is nothing to do (no server or template; ``only_existing``
    and the workspace has no MariaDB database yet: X3's notebook makes it on first use)."""
    if not configured() or not _answering():
        return None
    started = time.perf_counter()
    with _admin() as my, my.cursor() as cur:
        if only_existing and not _exists(cur, ws.database):
            return None
        cur.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = %s", (TEMPLATE,)
        )
        names = sorted(row[0] for row in cur.fetchall())
        if not names:
            Console(stderr=True).print("[yellow]MariaDB/MySQL not reset:[/] run `dojo seed`")
            return None
        cur.execute(f"DROP DATABASE IF EXISTS `{ws.database}`")
        cur.execute(f"CREATE DATABASE `{ws.database}` CHARACTER SET utf8mb4")
        cur.execute("SET SESSION foreign_key_checks = 0, unique_checks = 0")
        for name in names:
            cur.execute(f"CREATE TABLE `{ws.database}`.`{name}` LIKE `{TEMPLATE}`.`{name}`")
            cur.execute(f"INSERT INTO `{ws.database}`.`{name}` SELECT * FROM `{TEMPLATE}`.`{name}`")
    return time.perf_counter() - started


def drop(ws: Workspace) -> list[str]:
    """Drop the workspace's MariaDB database, if a server is configured and it has one."""
    if not configured() or not _answering():
        return []
    with _admin() as my, my.cursor() as cur:
        dropped = cur.execute(f"DROP DATABASE IF EXISTS `{ws.database}`")
    return [f"MariaDB {ws.database}"] if dropped else []


def has_copy(ws: Workspace) -> bool:
    """Whether the workspace has its MariaDB database (with the dataset's tables)."""
    with _admin() as my, my.cursor() as cur:
        return _exists(cur, ws.database)


def _exists(cur, database: str) -> bool:
    cur.execute(
        "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = %s "
        "AND table_name = 'dataset_info'",
        (database,),
    )
    return bool(cur.fetchone()[0])


def _swap_in(cur, build: str, target: str) -> None:
    """Replace ``target``'s tables by ``build``'s (``RENAME TABLE`` moves each at once)."""
    cur.execute(f"DROP DATABASE IF EXISTS `{target}`")
    cur.execute(f"CREATE DATABASE `{target}` CHARACTER SET utf8mb4")
    cur.execute(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = %s", (build,)
    )
    moves = [f"`{build}`.`{name}` TO `{target}`.`{name}`" for (name,) in cur.fetchall()]
    cur.execute("RENAME TABLE " + ", ".join(moves))
    cur.execute(f"DROP DATABASE `{build}`")


def _export(pg, table: str, path: Path) -> Path:
    with open(path, "wb") as out, pg.cursor().copy(f"COPY ({export_query(table)}) TO STDOUT") as cp:
        for chunk in cp:
            out.write(chunk)
    return path


def _load(cur, table: str, path: Path) -> None:
    cur.execute(create_table(table))
    cur.execute(
        f"LOAD DATA LOCAL INFILE %s INTO TABLE `{table}` CHARACTER SET utf8mb4", (str(path),)
    )
    path.unlink()


def _dataset_info(pg, cur) -> None:
    rows = pg.execute("SELECT key, value FROM dataset_info").fetchall()
    cur.execute("CREATE TABLE dataset_info (`key` VARCHAR(64) PRIMARY KEY, value TEXT)")
    cur.executemany("INSERT INTO dataset_info VALUES (%s, %s)", rows)


def _answer_user(cur, database: str) -> None:
    """``dojo_answer``: reads ``database``'s tables and nothing else; a few connections."""
    password = state.secret("mysql_answer")
    for host in ("127.0.0.1", "localhost", "::1"):
        user = f"'{ANSWER_USER}'@'{host}'"
        cur.execute(f"CREATE USER IF NOT EXISTS {user} IDENTIFIED BY %s", (password,))
        cur.execute(f"ALTER USER {user} IDENTIFIED BY %s WITH MAX_USER_CONNECTIONS 8", (password,))
        cur.execute(f"GRANT SELECT ON `{database}`.* TO {user}")


def ensure_answer_user() -> None:
    """(Re)make ``dojo_answer`` with this install's password (another checkout's seed, or a
    server at the user's URL, may have made it with another), reading every seeded copy."""
    with _admin() as my, my.cursor() as cur:
        cur.execute("SHOW DATABASES LIKE 'dojo\\_template%'")
        copies = [name for (name,) in cur.fetchall() if not name.endswith("_build")]
        for database in copies or [TEMPLATE]:
            _answer_user(cur, database)


def template_checksum(dataset: str = MAIN) -> str | None:
    """The checksum MariaDB's copy of ``dataset`` was made from (None: no server, no copy)."""
    if not configured():
        return None
    try:
        with _admin(connect_timeout=3) as my, my.cursor() as cur:
            where = template(dataset)
            cur.execute(f"SELECT value FROM `{where}`.dataset_info WHERE `key` = 'checksum'")
            row = cur.fetchone()
    except Exception:
        return None
    return row[0] if row else None


def _die_with(parent: int) -> None:
    """Be killed when ``parent`` dies, even by SIGKILL (Linux's PR_SET_PDEATHSIG): a copy
    must not outlive the seed that started it, and race the next seed's."""
    with contextlib.suppress(OSError, AttributeError):  # not Linux: no such call
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)
    if os.getppid() != parent:  # it died before the call above
        sys.exit(1)


if __name__ == "__main__":  # build_template_apart's process: DATASET PARENT_PID
    _die_with(int(sys.argv[2]))
    print(build_template(sys.argv[1]))
