"""Each learner's rights on the three servers: their own database and nothing else.

PostgreSQL: a login role per learner, not a superuser and in no predefined role that reads
files or other sessions (no ``pg_read_server_files``, no ``pg_monitor``); it owns the dataset's
tables through ``dojo_owner`` (as ``dojo_learner`` does) and its own database, but may
connect to that database only: ``CONNECT`` is revoked from PUBLIC on every database of the
server and granted back to the kit's own roles (:func:`lock_server`) and, on a learner's
database, to that learner alone. A copy made from a template does not inherit database
privileges or owner, so every reset locks again.

Valkey 9.1: an ACL user per learner confined to their logical database (``db=N``, enforced
on ``SELECT``, ``MOVE``, ``COPY ... DB``, ``SWAPDB``, scripts and ``FLUSHALL``, see the tests),
without admin or dangerous commands apart from ``FLUSHDB``, ``KEYS`` and ``SORT``, which only
reach that database. Pub/Sub channels are server-wide in Redis: not isolated.

MongoDB: a user per learner with ``readWrite`` and ``dbAdmin`` on their database only
(:func:`mongo_user`; ``dbAdmin`` for ``dropDatabase``, of their own). The kit's emulator
enforces it once the classroom turns its authorization on (:mod:`dbdojo.mongo.kitauth`,
:mod:`dbdojo.mongo.emulator.auth`); a real ``mongod`` must run with ``--auth``.
"""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING

from psycopg import sql

from dbdojo import pgroles
from dbdojo.classroom.roster import Learner
from dbdojo.workspace import Workspace

if TYPE_CHECKING:
    import psycopg

KIT_ROLES = (pgroles.ANSWER, pgroles.LEARNER)
# a kernel holds two connections (`pg` and `%sql`): four notebooks open at once, and one
# learner cannot take the server's 100 connections from the class
CONNECTION_LIMIT = 8
LEARNER_PREDEFINED = ("pg_checkpoint", "pg_stat_scan_tables")
REDIS_RULES = ("~*", "&*", "+@all", "-@admin", "-@dangerous", "+flushdb", "+keys", "+sort", "+info")


def pg_role(admin: psycopg.Connection, learner: Learner) -> None:
    """Create or update the learner's login role (the kit's roles made first)."""
    pgroles.prepare_server(admin)
    role = sql.Identifier(learner.pg_role)
    exists = admin.execute(
        "SELECT 1 FROM pg_roles WHERE rolname = %s", (learner.pg_role,)
    ).fetchone()
    if not exists:
        admin.execute(sql.SQL("CREATE ROLE {} LOGIN").format(role))
    admin.execute(
        sql.SQL(
            "ALTER ROLE {} WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION "
            "NOBYPASSRLS INHERIT CONNECTION LIMIT {} PASSWORD {}"
        ).format(role, sql.Literal(CONNECTION_LIMIT), sql.Literal(learner.pg_password))
    )
    for group in (pgroles.OWNER, *LEARNER_PREDEFINED):
        admin.execute(sql.SQL("GRANT {} TO {}").format(sql.Identifier(group), role))


def lock_server(admin: psycopg.Connection) -> None:
    """No database admits PUBLIC; the kit's roles keep their way in (learners' roles have none
    but their own database's)."""
    names = [r[0] for r in admin.execute("SELECT datname FROM pg_database WHERE datallowconn")]
    for name in names:
        database = sql.Identifier(name)
        admin.execute(
            sql.SQL("REVOKE CONNECT, TEMPORARY ON DATABASE {} FROM PUBLIC").format(database)
        )
        for role in KIT_ROLES:
            admin.execute(
                sql.SQL("GRANT CONNECT, TEMPORARY ON DATABASE {} TO {}").format(
                    database, sql.Identifier(role)
                )
            )


def lock_database(admin: psycopg.Connection, learner: Learner) -> None:
    """The learner's database: theirs (and the checker's answer role's) only. ``admin`` is a
    superuser connection to that database."""
    pgroles.prepare(admin)
    database = sql.Identifier(Workspace(learner.workspace).database)
    role = sql.Identifier(learner.pg_role)
    # their copy is theirs: as its owner they own its schema public too (DROP SCHEMA works,
    # on their copy only); an owner cannot drop a database it is connected to, and they may
    # connect to no other
    admin.execute(sql.SQL("ALTER DATABASE {} OWNER TO {}").format(database, role))
    admin.execute(sql.SQL("REVOKE ALL ON DATABASE {} FROM PUBLIC").format(database))
    admin.execute(
        sql.SQL("REVOKE ALL ON DATABASE {} FROM {}").format(
            database, sql.Identifier(pgroles.LEARNER)
        )
    )
    admin.execute(
        sql.SQL("GRANT CONNECT, TEMPORARY, CREATE ON DATABASE {} TO {}").format(database, role)
    )
    admin.execute(
        sql.SQL("GRANT CONNECT, TEMPORARY ON DATABASE {} TO {}").format(
            database, sql.Identifier(pgroles.ANSWER)
        )
    )
    admin.execute(sql.SQL("GRANT USAGE, CREATE ON SCHEMA public TO {}").format(role))


def redis_user(admin_redis, learner: Learner, db: int) -> None:
    """The learner's Valkey ACL user, confined to logical database ``db``."""
    admin_redis.execute_command(
        "ACL", "SETUSER", learner.redis_user, "reset", "on", f">{learner.redis_password}",
        *REDIS_RULES, f"db={db}",
    )  # fmt: skip


def drop_redis_user(admin_redis, learner: Learner) -> None:
    admin_redis.execute_command("ACL", "DELUSER", learner.redis_user)


def mongo_user(client, learner: Learner) -> None:
    """The learner's MongoDB user: ``readWrite`` and ``dbAdmin`` on their database only, made
    anew (a changed password or roles apply). ``client``: the kit's admin."""
    database = client[Workspace(learner.workspace).database]
    drop_mongo_user(client, learner)
    database.command(
        "createUser",
        learner.mongo_user,
        pwd=learner.mongo_password,
        roles=[{"role": role, "db": database.name} for role in ("readWrite", "dbAdmin")],
    )


def drop_mongo_user(client, learner: Learner) -> None:
    """Drop the learner's MongoDB user (if there is one)."""
    import pymongo.errors

    database = client[Workspace(learner.workspace).database]
    with contextlib.suppress(pymongo.errors.OperationFailure):  # 11 UserNotFound
        database.command("dropUser", learner.mongo_user)
