"""Scratch schemas for checks that must commit: kind ``sql-concurrent`` runs an answer in
several sessions that see each other's committed work, which a rolled-back transaction cannot
show.

They live in a database of their own on the kit's PostgreSQL server, ``dojocheck_concurrent``
(outside the workspaces' ``dojo*`` names, so no reset or ``dojo workspaces`` sees it), one
schema per run, owned by the answer role and dropped after the run. The answer role owns
nothing else there; what PUBLIC may not do in the workspaces (end or cancel other sessions,
read their queries) it may not do here either, nor create anything outside its schema.
"""

from __future__ import annotations

import contextlib
import secrets
from collections.abc import Iterator
from typing import TYPE_CHECKING

from dbdojo import pgroles

if TYPE_CHECKING:
    import psycopg

DATABASE = "dojocheck_concurrent"
DEADLOCK_TIMEOUT = "200ms"  # a deadlock is found (and one session aborted) this soon


def url(role: str | None = None) -> str:
    """The scratch database's URL, as the kit's superuser or as ``role``."""
    from dbdojo.connect import pg_server_url

    admin = pg_server_url(DATABASE)
    return admin if role is None else pgroles.as_role(admin, role)


def connect(role: str | None = None, **kwargs) -> psycopg.Connection:
    """A connection to the scratch database (autocommit unless told otherwise), as the kit's
    superuser or as ``role``."""
    from dbdojo.connect import pg_connect

    return pg_connect(conninfo=url(role), **kwargs)


def ensure_database() -> None:
    """Create the scratch database once, fit for the answer role."""
    import psycopg
    from psycopg import sql

    from dbdojo.connect import pg_server

    with pg_server() as admin:
        pgroles.prepare_server(admin)
        if admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", (DATABASE,)).fetchone():
            return
        with contextlib.suppress(psycopg.errors.DuplicateDatabase):  # a parallel check did
            admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(DATABASE)))
    with connect() as scratch, scratch.transaction():
        pgroles.revoke_public(scratch)
        scratch.execute("REVOKE ALL ON SCHEMA public FROM PUBLIC")
        scratch.execute(
            sql.SQL("ALTER DATABASE {} SET deadlock_timeout = {}").format(
                sql.Identifier(DATABASE), sql.Literal(DEADLOCK_TIMEOUT)
            )
        )


@contextlib.contextmanager
def schema() -> Iterator[str]:
    """A new schema owned by the answer role; dropped, with everything in it, afterwards
    (found again by its oid: its owner may have renamed it, or dropped it)."""
    from psycopg import sql

    ensure_database()
    name = f"run_{secrets.token_hex(6)}"
    with connect() as admin:
        admin.execute(
            sql.SQL("CREATE SCHEMA {} AUTHORIZATION {}").format(
                sql.Identifier(name), sql.Identifier(pgroles.ANSWER)
            )
        )
        (oid,) = admin.execute("SELECT %s::regnamespace::oid", (name,)).fetchone() or (None,)
        try:
            yield name
        finally:
            admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = %s AND usename = %s AND application_name = %s",
                (DATABASE, pgroles.ANSWER, name),
            )
            left = admin.execute("SELECT nspname FROM pg_namespace WHERE oid = %s", (oid,))
            for (current,) in left.fetchall():
                admin.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(sql.Identifier(current)))


@contextlib.contextmanager
def writer(schema: str, timeout: float) -> Iterator[tuple[str, str]]:
    """A login role of its own for a Python answer's sessions (``sql-concurrent`` in Python):
    it may connect to the scratch database and read and write the tables (and use the
    sequences) of ``schema``, nothing else; ``search_path`` is that schema and
    ``statement_timeout`` is ``timeout``. (name, password); ended and dropped afterwards."""
    from psycopg import sql

    name, password = f"dojo_sbx_{secrets.token_hex(6)}", secrets.token_urlsafe(24)
    role, where = sql.Identifier(name), sql.Identifier(schema)
    grants = [
        "CREATE ROLE {role} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS "
        "NOINHERIT CONNECTION LIMIT 8 PASSWORD {password}",
        "GRANT CONNECT ON DATABASE {database} TO {role}",
        "GRANT USAGE ON SCHEMA {schema} TO {role}",
        "GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA {schema} TO {role}",
        "GRANT USAGE, SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA {schema} TO {role}",
        "ALTER ROLE {role} SET search_path = {schema}",
        "ALTER ROLE {role} SET statement_timeout = {ms}",
    ]
    ms = sql.Literal(max(1, int(timeout * 1000)))
    values = {"role": role, "schema": where, "database": sql.Identifier(DATABASE),
              "password": sql.Literal(password), "ms": ms}  # fmt: skip
    with connect() as admin:
        try:
            for statement in grants:
                admin.execute(sql.SQL(statement).format(**values))
            yield name, password
        finally:
            admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = %s",
                (name,),
            )
            admin.execute(sql.SQL("DROP OWNED BY {}").format(role))
            admin.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(role))
