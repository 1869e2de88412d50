"""Workspaces on disk: what each one takes in the three databases, and dropping them.

Every PostgreSQL workspace is a full copy of its template plus a spare copy made in advance
(:mod:`dbdojo.dataset.spare`), so they add up fast; ``dojo workspaces`` shows them and
``dojo drop`` removes them from all three databases. On a file system that clones files, a
copy shares the template's blocks: what it takes is its private bytes (``shared``), not
``pg_database_size``.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field

from dbdojo.connect import ServiceDown
from dbdojo.dataset import pg, pgfiles
from dbdojo.errors import Invalid
from dbdojo.workspace import MAIN, Workspace, allocated, release

_COPY_SUFFIXES = ("_spare", "_new", "_old", "_spare_new")
_NOT_WORKSPACES = re.compile(r"^dojo_(template|build|snap)")
# workspace databases and their copies: dojo, dojo_x, dojo_x_spare, dojo_x_spare_new, ...
_SIZES_SQL = """
SELECT datname, pg_database_size(oid) FROM pg_database
WHERE datname = 'dojo' OR datname LIKE 'dojo\\_%'
"""


@dataclass
class Usage:
    """One workspace: its PostgreSQL bytes (own database, spare and leftovers), and whether
    MongoDB and Redis hold it (None: that server did not answer)."""

    workspace: str
    database: str
    postgres_bytes: int = 0
    spare_bytes: int = 0
    mongo: bool | None = None
    redis: bool | None = None
    redis_db: int | None = None
    shared: bool = False  # PostgreSQL bytes are private ones: the rest is shared with the template

    @property
    def total_bytes(self) -> int:
        return self.postgres_bytes + self.spare_bytes

    def to_dict(self) -> dict:
        return {**asdict(self), "total_bytes": self.total_bytes}


@dataclass
class Inventory:
    workspaces: list[Usage]
    template_bytes: dict[str, int] = field(default_factory=dict)  # template db -> bytes
    problems: list[str] = field(default_factory=list)  # servers that did not answer
    # left by an interrupted seed (removed by the next `dojo seed`): build db -> bytes
    leftover_bytes: dict[str, int] = field(default_factory=dict)
    leftover_redis_keys: int = 0

    @property
    def total_bytes(self) -> int:
        return (
            sum(u.total_bytes for u in self.workspaces)
            + sum(self.template_bytes.values())
            + sum(self.leftover_bytes.values())
        )

    def to_dict(self) -> dict:
        return {
            "workspaces": [u.to_dict() for u in self.workspaces],
            "templates": self.template_bytes,
            "leftovers": self.leftover_bytes,
            "leftover_redis_keys": self.leftover_redis_keys,
            "total_bytes": self.total_bytes,
            "problems": self.problems,
        }


def workspace_of(database: str) -> Workspace | None:
    """The workspace whose database (or copy of it) ``database`` is; None for the kit's own."""
    if database != "dojo" and (not database.startswith("dojo_") or _NOT_WORKSPACES.match(database)):
        return None
    base = database
    for suffix in _COPY_SUFFIXES:
        if base.endswith(suffix) and base != "dojo":
            base = base.removesuffix(suffix)
            break
    try:
        return Workspace.of_database(base)
    except ValueError:
        return None


def inventory() -> Inventory:
    """Every workspace found in any of the three databases, largest first."""
    found: dict[str, Usage] = {}
    result = Inventory([])

    def usage(ws: Workspace) -> Usage:
        return found.setdefault(ws.name, Usage(ws.name, ws.database))

    try:
        _postgres(result, usage)
    except ServiceDown as exc:
        result.problems.append(str(exc))
    try:
        mongo_names = _mongo_databases()
    except ServiceDown as exc:
        result.problems.append(str(exc))
    else:
        for database in mongo_names:
            if (ws := workspace_of(database)) is not None:
                usage(ws).mongo = True
        for u in found.values():
            u.mongo = u.database in mongo_names
    _redis(result, found, usage)
    result.workspaces = sorted(found.values(), key=lambda u: (-u.total_bytes, u.workspace))
    return result


def _postgres(result: Inventory, usage) -> None:
    with pg.admin() as conn:
        rows = conn.execute(_SIZES_SQL).fetchall()
        for database, size in rows:
            if database.startswith("dojo_template"):
                result.template_bytes[database] = int(size)
            elif database.startswith("dojo_build"):
                result.leftover_bytes[database] = int(size)
            elif (ws := workspace_of(database)) is not None:
                u = usage(ws)
                size, shared = pgfiles.on_disk(conn, database)
                u.shared = u.shared or shared
                if database == ws.database:
                    u.postgres_bytes += size
                else:
                    u.spare_bytes += size


def _mongo_databases() -> set[str]:
    import pymongo.errors

    from dbdojo.connect import mongo_client

    try:
        with mongo_client() as client:
            try:
                return set(client.list_database_names())
            except pymongo.errors.OperationFailure:
                # the emulator cannot list databases once one holds a Decimal128: ask the
                # kit's own record of workspaces instead, and check each for collections
                from dbdojo.mongo import snapshots as mongo_snapshots

                names = {
                    *mongo_snapshots.workspaces(),
                    *(Workspace(n).database for n in allocated()),
                }
                return {name for name in names if client[name].list_collection_names()}
    except pymongo.errors.PyMongoError as exc:
        raise ServiceDown("mongo", str(exc).splitlines()[0][:200]) from exc


def _redis(result: Inventory, found: dict[str, Usage], usage) -> None:
    from dbdojo.connect import redis_client

    names = {MAIN, *allocated(), *found}
    for name in sorted(names):
        ws = Workspace(name)
        if name != MAIN and name not in allocated():
            found[name].redis = False  # never given a Redis database
            continue
        try:
            client = redis_client(ws)
        except ServiceDown as exc:
            result.problems.append(str(exc))
            return
        if name == MAIN:
            from dbdojo.dataset import redis_store

            result.leftover_redis_keys = redis_store.stray_keys(redis_store.snapshot_client())
        present = client.dbsize() > 0
        if present or name in found:
            u = usage(ws)
            u.redis = present
            u.redis_db = int(client.connection_pool.connection_kwargs.get("db", 0))


def drop(ws: Workspace, *, force: bool = False) -> list[str]:
    """Drop workspace ``ws`` in all three databases (with its PostgreSQL spare); returns what
    was dropped. ``main`` (the learner's own work) only with ``force``."""
    if ws.name == MAIN and not force:
        raise Invalid(
            "refusing to drop `main`, your everyday workspace (your changes would be lost): "
            "add --force to drop it anyway; `dojo reset` brings it back from the seeded data"
        )
    dropped = []
    lock = f"dbdojo.spare.{ws.database}"  # the lock of a spare being prepared (dataset.spare)
    with pg.admin() as conn:
        conn.execute("SELECT pg_advisory_lock(hashtext(%s))", (lock,))
        for database in (ws.database, *(f"{ws.database}{s}" for s in _COPY_SUFFIXES)):
            if pg.exists(conn, database):
                pg.drop(conn, database)
                dropped.append(f"PostgreSQL {database}")
        conn.execute("SELECT pg_advisory_unlock(hashtext(%s))", (lock,))
    dropped += _drop_mongo(ws)
    dropped += _drop_redis(ws)
    from dbdojo.dataset import mysql_data

    dropped += mysql_data.drop(ws)
    return dropped


def _drop_mongo(ws: Workspace) -> list[str]:
    from dbdojo.connect import mongo_client
    from dbdojo.mongo import snapshots as mongo_snapshots

    with mongo_client() as client:
        if not client[ws.database].list_collection_names():
            return []
    try:
        mongo_snapshots.drop(ws)  # also forgets which snapshot it came from
    except mongo_snapshots.SnapshotsUnsupported:  # a MongoDB the kit keeps no snapshots in
        with mongo_client() as client:
            client.drop_database(ws.database)
    return [f"MongoDB {ws.database}"]


def _drop_redis(ws: Workspace) -> list[str]:
    from dbdojo.connect import redis_client

    if ws.name != MAIN and ws.name not in allocated():
        return []
    import redis

    try:
        client = redis_client(ws)
        db = int(client.connection_pool.connection_kwargs.get("db", 0))
        client.flushdb()
    except redis.ResponseError as exc:  # a database the server does not have holds nothing
        if "out of range" not in str(exc):
            raise
        db = ws.redis_db
    if ws.name != MAIN:
        release(ws.name)
    return [f"Redis database {db}"]


def template_bytes() -> int:
    """Size of the main dataset's PostgreSQL template (0 if not seeded)."""
    with pg.admin() as conn:
        row = conn.execute(
            "SELECT pg_database_size(oid) FROM pg_database WHERE datname = %s",
            (pg.template_name(),),
        ).fetchone()
    return int(row[0]) if row else 0


def free_bytes(path: str) -> int:
    """Free bytes on the file system holding ``path`` (for an unprivileged user)."""
    import shutil

    return shutil.disk_usage(path).free


def human(size: int) -> str:
    """Bytes as a short figure: ``812 MB``, ``1.6 GB``."""
    if size >= 10**9:
        return f"{size / 10**9:.1f} GB"
    if size >= 10**6:
        return f"{size / 10**6:.0f} MB"
    return f"{size / 10**3:.0f} kB"
