"""Where a PostgreSQL database's files are on this machine, and whether copies can share them.

Only for a server whose files this process can see (the kit's own, started by ``dojo up``); a
server elsewhere answers None / False and is copied the usual way.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from dbdojo.dataset import reflink

if TYPE_CHECKING:
    import psycopg


def tablespace_dir(conn: psycopg.Connection, database: str) -> Path | None:
    """The directory of ``database``'s tablespace on this machine (the data directory for
    ``pg_default``), or None where it is not here (a server elsewhere, or not readable)."""
    import psycopg.errors

    try:
        row = conn.execute(
            "SELECT current_setting('data_directory'), pg_tablespace_location(dattablespace) "
            "FROM pg_database WHERE datname = %s",
            (database,),
        ).fetchone()
    except psycopg.errors.InsufficientPrivilege:  # a server of the user's, not as superuser
        return None
    if row is None:
        return None
    path = Path(row[1] or row[0])
    try:
        return path if path.is_dir() else None
    except OSError:
        return None


def database_dir(conn: psycopg.Connection, database: str) -> Path | None:
    """The directory holding ``database``'s files on this machine, or None (see
    :func:`tablespace_dir`)."""
    row = conn.execute(
        "SELECT oid, dattablespace = (SELECT oid FROM pg_tablespace WHERE spcname = "
        "'pg_default') FROM pg_database WHERE datname = %s",
        (database,),
    ).fetchone()
    where = tablespace_dir(conn, database)
    if row is None or where is None:
        return None
    if row[1]:
        return where / "base" / str(row[0])
    versions = sorted(where.glob("PG_*"))  # <location>/PG_<major>_<catalog version>/<oid>
    return versions[-1] / str(row[0]) if versions else None


def clones(conn: psycopg.Connection, database: str) -> bool:
    """Whether copies of ``database`` within its tablespace can share its blocks (a reflink
    file system under it, on this machine)."""
    where = tablespace_dir(conn, database)
    return where is not None and reflink.supported_cached(str(where))


def on_disk(conn: psycopg.Connection, database: str) -> tuple[int, bool]:
    """What ``database`` takes on disk, and whether it shares blocks with other copies: its
    private bytes on a file system that clones (``FIEMAP``), else ``pg_database_size``."""
    where = database_dir(conn, database)
    if where is not None and clones(conn, database):
        try:
            return reflink.private_bytes(where), True
        except OSError:  # unreadable files, or a file system without FIEMAP
            pass
    row = conn.execute("SELECT pg_database_size(%s)", (database,)).fetchone()
    return int(row[0]), False
