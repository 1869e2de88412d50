"""The PostgreSQL roles the kit hands out: never superusers.

- ``dojo_answer``: what checked answers log in as (dbdojo.checking). It owns the dataset's
  tables through the group role ``dojo_owner``, so DDL answers (an index, a constraint) work on
  the rolled-back copy they change; nothing only a superuser may do is possible: no
  ``COPY ... TO PROGRAM``, no ``pg_read_file``, no ``ALTER SYSTEM``.
- ``dojo_learner``: what a learner's notebook (``pg``, ``%sql``) logs in as. Also an owner of
  the dataset through ``dojo_owner``, and what the lessons need on top: reading the server's
  statistics (``pg_monitor``), ``CHECKPOINT``, ``pgstattuple``, creating schemas and trusted
  extensions in its workspace, ``SET track_io_timing`` (P3), and in X1 setting
  ``synchronous_standby_names`` and reloading; ``pg_stat_statements`` (P6), in the schema
  ``extensions`` that only the learner may use.
- ``dojo_app`` and ``dojo_merchant`` (lesson P6): course roles without LOGIN and without any
  attribute, holding only what an owner of the tables grants them in its own database: an
  application role to practise least privilege on, a merchant (tenant) under row-level
  security. The answer and learner roles may ``SET ROLE`` to them (to see the database as
  they do) without inheriting their privileges and without the right to grant them.

Passwords are generated per install and kept in the state file. In every database prepared
here, ending or cancelling other sessions and reading their queries is revoked from PUBLIC
(the kit's own superuser connections are not affected; the learner gets the views back).
"""

from __future__ import annotations

from typing import TYPE_CHECKING
from urllib.parse import quote, urlsplit, urlunsplit

from dbdojo import state
from dbdojo.connect import postgres_url
from dbdojo.settings import classroom_kernel
from dbdojo.workspace import Workspace

if TYPE_CHECKING:
    import psycopg

OWNER = "dojo_owner"
ANSWER = "dojo_answer"
LEARNER = "dojo_learner"
APP = "dojo_app"
TENANT = "dojo_merchant"
COURSE_ROLES = (APP, TENANT)
SECRETS = {ANSWER: "postgres_answer", LEARNER: "postgres_learner"}
LEARNER_ROLES = ("pg_monitor", "pg_checkpoint", "pg_stat_scan_tables", "pg_maintain")
LEARNER_PARAMETERS = ("synchronous_standby_names",)  # ALTER SYSTEM in X1
LEARNER_SETTINGS = ("track_io_timing",)  # superuser-only settings the lessons SET (P3)
# Installed by the kit where missing (a workspace seeded before the seed added them), since
# neither role may create them: pgstattuple is untrusted, pg_trgm needs CREATE on the database.
EXTENSIONS = ("pgstattuple", "pg_trgm")  # P1, P4
# P6: pg_stat_statements, in a schema of its own that only the learner may use (as hosted
# PostgreSQL services do): its views stay out of the dataset's schema (where they would break
# `GRANT ... ON ALL TABLES IN SCHEMA public`), and out of the answers' reach.
STATEMENTS_SCHEMA = "extensions"

_SERVER_READY: set[str] = set()

# Relations of the dataset (schema public) not yet owned by dojo_owner, extension members and
# sequences that belong to a column (they follow their table) left out.
_STRAYS = f"""
SELECT c.oid::regclass::text, c.relkind
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f')
  AND c.relowner <> '{OWNER}'::regrole
  AND NOT EXISTS (SELECT FROM pg_depend d WHERE d.classid = 'pg_class'::regclass
                  AND d.objid = c.oid AND d.deptype IN ('e', 'a', 'i'))
UNION ALL
SELECT t.oid::regtype::text, 'T'
FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
WHERE n.nspname = 'public' AND t.typtype IN ('e', 'd')
  AND t.typowner <> '{OWNER}'::regrole
  AND NOT EXISTS (SELECT FROM pg_depend d WHERE d.classid = 'pg_type'::regclass
                  AND d.objid = t.oid AND d.deptype = 'e')
"""
_KEYWORDS = {"r": "TABLE", "p": "TABLE", "f": "FOREIGN TABLE", "v": "VIEW",
             "m": "MATERIALIZED VIEW", "S": "SEQUENCE", "T": "TYPE"}  # fmt: skip

# What PUBLIC may call or read by default and an answer must not: end or cancel another
# learner's check (all answers share one role), read other sessions' query texts.
_PUBLIC_GRANTS = [
    ("FUNCTION", "pg_terminate_backend(integer, bigint)"),
    ("FUNCTION", "pg_cancel_backend(integer)"),
    ("FUNCTION", "pg_stat_get_activity(integer)"),
    ("TABLE", "pg_catalog.pg_stat_activity"),
]
# The same for pg_stat_statements (cluster-wide: every check's statements, as one role), once
# the extension exists in the database; the learner (pg_monitor) gets it back.
_STATEMENTS_GRANTS = [
    ("TABLE", f"{STATEMENTS_SCHEMA}.pg_stat_statements"),
    ("TABLE", f"{STATEMENTS_SCHEMA}.pg_stat_statements_info"),
    ("FUNCTION", f"{STATEMENTS_SCHEMA}.pg_stat_statements(boolean)"),
]
_HAS_STATEMENTS = (
    "EXISTS (SELECT FROM pg_extension WHERE extname = 'pg_stat_statements' "
    f"AND extnamespace::regnamespace::text = '{STATEMENTS_SCHEMA}')"
)
_STATEMENTS_MISSING = (
    "EXISTS (SELECT FROM pg_available_extensions WHERE name = 'pg_stat_statements') "
    f"AND NOT {_HAS_STATEMENTS}"
)
# What the learner's notebooks use that PUBLIC lacks (or lost above), per database.
_LEARNER_GRANTS = [
    ("FUNCTION", "pg_stat_get_activity(integer)"),
    ("TABLE", "pg_catalog.pg_stat_activity"),
    ("FUNCTION", "pg_reload_conf()"),
    ("FUNCTION", "pg_control_checkpoint()"),
    ("FUNCTION", "pg_control_system()"),
    ("FUNCTION", "pg_control_recovery()"),
]


def _privilege(kind: str) -> str:
    return "EXECUTE" if kind == "FUNCTION" else "SELECT"


def _has(role: str, kind: str, obj: str) -> str:
    check = "has_function_privilege" if kind == "FUNCTION" else "has_table_privilege"
    return f"{check}('{role}', {_found(kind, obj)}, '{_privilege(kind)}')"


def _found(kind: str, obj: str) -> str:
    """``obj`` as SQL: its name, or for an object of a schema other than pg_catalog its OID read
    from the catalogs (a role without USAGE on the schema may not look the name up, but may
    read the catalogs: :func:`fit` runs on the answer role's connection)."""
    if "." not in obj or obj.startswith("pg_catalog."):
        return f"'{obj}'"
    schema, _, name = obj.partition(".")
    if kind != "FUNCTION":
        return (
            "(SELECT c.oid FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            f"WHERE n.nspname = '{schema}' AND c.relname = '{name}')"
        )
    name, _, args = name.rstrip(")").partition("(")
    return (
        "(SELECT p.oid FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace "
        f"WHERE n.nspname = '{schema}' AND p.proname = '{name}' "
        f"AND oidvectortypes(p.proargtypes) = '{args}')"
    )


_LOOSE = " OR ".join(
    [_has("public", kind, obj) for kind, obj in _PUBLIC_GRANTS]
    + [f"NOT {_has(LEARNER, kind, obj)}" for kind, obj in _LEARNER_GRANTS]
    + [
        f"({_STATEMENTS_MISSING})",
        f"CASE WHEN {_HAS_STATEMENTS} THEN "
        + " OR ".join(
            f"{_has('public', kind, obj)} OR NOT {_has(LEARNER, kind, obj)}"
            for kind, obj in _STATEMENTS_GRANTS
        )
        + f" OR NOT has_schema_privilege('{LEARNER}', '{STATEMENTS_SCHEMA}', 'USAGE')"
        + f" OR has_schema_privilege('public', '{STATEMENTS_SCHEMA}', 'USAGE')"
        + " ELSE false END",
        f"NOT has_schema_privilege('{OWNER}', 'public', 'CREATE')",
        f"NOT has_database_privilege('{LEARNER}', current_database(), 'CREATE')",
        *(
            f"(EXISTS (SELECT FROM pg_available_extensions WHERE name = '{ext}') "
            f"AND NOT EXISTS (SELECT FROM pg_extension WHERE extname = '{ext}'))"
            for ext in EXTENSIONS
        ),
    ]
)


def password(role: str) -> str:
    return state.secret(SECRETS[role])


def url(ws: Workspace, role: str) -> str:
    """The workspace's PostgreSQL URL, logged in as ``role``. In a classroom learner's kernel
    the learner's role is their own, already in their URL (dbdojo.classroom)."""
    if role == LEARNER and classroom_kernel():
        return postgres_url(ws)
    return as_role(postgres_url(ws), role)


def as_role(server: str, role: str) -> str:
    """The PostgreSQL URL ``server``, logged in as ``role`` (with its password) instead."""
    parts = urlsplit(server)
    host = parts.netloc.rpartition("@")[2]
    netloc = f"{role}:{quote(password(role), safe='')}@{host}"
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


def connect(ws: Workspace, role: str, **kwargs) -> psycopg.Connection:
    """A connection to the workspace's database as ``role``, the database made fit first."""
    from dbdojo.connect import pg_connect

    if role == LEARNER and classroom_kernel():  # no kit credentials here: nothing to prepare
        return pg_connect(ws, **kwargs)
    with pg_connect(ws) as admin:
        prepare(admin)
    return pg_connect(ws, conninfo=url(ws, role), **kwargs)


def prepare(admin: psycopg.Connection) -> None:
    """Make the roles exist on the server (once per process) and the database ``admin`` is
    connected to fit for them. Cheap when already done (one query)."""
    prepare_server(admin)
    if fit(admin):
        return
    from psycopg import sql

    with admin.transaction():
        admin.execute("SELECT pg_advisory_xact_lock(hashtext('dbdojo.pgroles.database'))")
        for name, kind in admin.execute(_STRAYS).fetchall():
            admin.execute(f"ALTER {_KEYWORDS[kind]} {name} OWNER TO {OWNER}")
        admin.execute(f"GRANT USAGE, CREATE ON SCHEMA public TO {OWNER}")
        revoke_public(admin)
        for kind, obj in _LEARNER_GRANTS:
            admin.execute(f"GRANT {_privilege(kind)} ON {kind} {obj} TO {LEARNER}")
        database = admin.info.dbname
        admin.execute(
            sql.SQL("GRANT CREATE ON DATABASE {} TO {}").format(
                sql.Identifier(database), sql.Identifier(LEARNER)
            )
        )
        available = admin.execute(
            "SELECT name FROM pg_available_extensions WHERE name = ANY(%s)", (list(EXTENSIONS),)
        ).fetchall()
        for (extension,) in available:
            admin.execute(f'CREATE EXTENSION IF NOT EXISTS "{extension}"')
        _statements(admin)


def fit(conn: psycopg.Connection) -> bool:
    """Whether the database ``conn`` is connected to needs none of :func:`prepare`'s work (no
    relation left to hand to the owner role, no grant missing or loose). Catalog reads that any
    role may run: the answer role's own connection tells whether an admin one is needed."""
    query = f"SELECT EXISTS ({_STRAYS}) OR coalesce(({_LOOSE}), true)"
    (unfit,) = conn.execute(query).fetchone() or (True,)
    return not unfit


def _server_key(ws: Workspace) -> str:
    parts = urlsplit(postgres_url(ws))
    return str((parts.hostname, parts.port))


def answer_role_ready(ws: Workspace) -> bool:
    """Whether this process made the roles on the server of ``ws`` (:func:`prepare_server`) or
    found the answer role as that leaves it (:func:`answer_role_intact`)."""
    return _server_key(ws) in _SERVER_READY | _ANSWER_READY


# What prepare_server leaves, as the answer role may read it on its own connection: itself with
# no attribute but LOGIN and INHERIT, a member of the owner role; the course roles with no
# attribute and no setting, granted to it with SET only (no INHERIT, no ADMIN, by any grantor).
_ATTRIBUTES = "r.rolsuper OR r.rolcreatedb OR r.rolcreaterole OR r.rolreplication OR r.rolbypassrls"
_COURSE = ", ".join(f"'{role}'" for role in COURSE_ROLES)
_ANSWER_INTACT = f"""
SELECT count(*) = {1 + len(COURSE_ROLES)} FROM pg_roles r
WHERE (r.rolname = '{ANSWER}' AND r.rolname = current_user AND r.rolcanlogin AND r.rolinherit
       AND NOT ({_ATTRIBUTES}) AND pg_has_role(r.oid, '{OWNER}', 'USAGE'))
   OR (r.rolname IN ({_COURSE}) AND NOT (r.rolcanlogin OR {_ATTRIBUTES}) AND r.rolconfig IS NULL
       AND EXISTS (SELECT FROM pg_auth_members m WHERE m.roleid = r.oid
                   AND m.member = '{ANSWER}'::regrole AND m.set_option)
       AND NOT EXISTS (SELECT FROM pg_auth_members m WHERE m.roleid = r.oid
                       AND m.member = '{ANSWER}'::regrole AND (m.inherit_option OR m.admin_option)))
"""
_ANSWER_READY: set[str] = set()


def answer_role_intact(conn: psycopg.Connection, ws: Workspace) -> bool:
    """On the answer role's own connection (its login proves its password): whether the roles
    are as :func:`prepare_server` leaves them for answers, so that a process that only checks
    answers need not connect as the admin to make them again (PostgreSQL 16+: older servers
    do not tell the options of a membership)."""
    if conn.info.server_version < 160000:
        return False
    (intact,) = conn.execute(_ANSWER_INTACT).fetchone() or (False,)
    if intact:
        _ANSWER_READY.add(_server_key(ws))
    return bool(intact)


def _statements(admin: psycopg.Connection) -> None:
    """pg_stat_statements in its own schema, for the learner only (see STATEMENTS_SCHEMA)."""
    if admin.execute(f"SELECT {_STATEMENTS_MISSING}").fetchone() == (True,):
        admin.execute(f"CREATE SCHEMA IF NOT EXISTS {STATEMENTS_SCHEMA}")
        if admin.execute(
            "SELECT 1 FROM pg_extension WHERE extname = 'pg_stat_statements'"
        ).fetchone():  # created elsewhere (e.g. in public) before the kit did it here
            admin.execute(f"ALTER EXTENSION pg_stat_statements SET SCHEMA {STATEMENTS_SCHEMA}")
        else:
            admin.execute(f"CREATE EXTENSION pg_stat_statements SCHEMA {STATEMENTS_SCHEMA}")
    if admin.execute(f"SELECT {_HAS_STATEMENTS}").fetchone() == (True,):
        admin.execute(f"REVOKE ALL ON SCHEMA {STATEMENTS_SCHEMA} FROM PUBLIC")
        admin.execute(f"GRANT USAGE ON SCHEMA {STATEMENTS_SCHEMA} TO {LEARNER}")
        for kind, obj in _STATEMENTS_GRANTS:
            admin.execute(f"REVOKE {_privilege(kind)} ON {kind} {obj} FROM PUBLIC")
            admin.execute(f"GRANT {_privilege(kind)} ON {kind} {obj} TO {LEARNER}")


def revoke_public(admin: psycopg.Connection) -> None:
    """In ``admin``'s database, take from PUBLIC what an answer must not do (see above)."""
    for kind, obj in _PUBLIC_GRANTS:
        admin.execute(f"REVOKE {_privilege(kind)} ON {kind} {obj} FROM PUBLIC")


def prepare_server(admin: psycopg.Connection) -> None:
    """Make the kit's roles exist on ``admin``'s server (once per process)."""
    server = str((admin.info.host, admin.info.port))
    if server not in _SERVER_READY:
        _prepare_server(admin)
        _SERVER_READY.add(server)


def _prepare_server(admin: psycopg.Connection) -> None:
    import psycopg
    from psycopg import sql

    for attempt in range(3):
        try:
            with admin.transaction():
                # one process at a time: a class's kernels start together, and concurrent
                # ALTER ROLEs fail with "tuple concurrently updated"
                admin.execute("SELECT pg_advisory_xact_lock(hashtext('dbdojo.pgroles'))")
                for role in (OWNER, ANSWER, LEARNER):
                    exists = admin.execute(
                        "SELECT 1 FROM pg_roles WHERE rolname = %s", (role,)
                    ).fetchone()
                    if not exists:
                        admin.execute(f"CREATE ROLE {role} NOLOGIN")
                for role in (ANSWER, LEARNER):
                    admin.execute(
                        sql.SQL(
                            "ALTER ROLE {} WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE "
                            "NOREPLICATION NOBYPASSRLS INHERIT PASSWORD {}"
                        ).format(sql.Identifier(role), sql.Literal(password(role)))
                    )
                    admin.execute(f"GRANT {OWNER} TO {role}")
                _course_roles(admin)
                present = {
                    name
                    for (name,) in admin.execute(
                        "SELECT rolname FROM pg_roles WHERE rolname = ANY(%s)",
                        (list(LEARNER_ROLES),),
                    ).fetchall()
                }
                for granted in sorted(present):
                    admin.execute(f"GRANT {granted} TO {LEARNER}")
                if admin.info.server_version >= 150000:
                    for parameter in LEARNER_PARAMETERS:
                        admin.execute(f"GRANT ALTER SYSTEM ON PARAMETER {parameter} TO {LEARNER}")
                    for parameter in LEARNER_SETTINGS:
                        admin.execute(f"GRANT SET ON PARAMETER {parameter} TO {LEARNER}")
            return
        except (psycopg.errors.UniqueViolation, psycopg.errors.DuplicateObject):
            # another process created a role at the same time
            if attempt == 2:
                raise
        except psycopg.errors.InternalError_ as exc:
            # a role's row changed under this ALTER ROLE by a session outside the lock (a
            # notebook's own ALTER ROLE, a classroom's grants): PostgreSQL says "tuple
            # concurrently updated" and the next try finds the row settled
            if "concurrently updated" not in str(exc) or attempt == 2:
                raise


def _course_roles(admin: psycopg.Connection) -> None:
    """The P6 roles: no login, no attribute; the answer and learner roles may SET ROLE to
    them but neither inherit their privileges nor grant them to anyone."""
    for role in COURSE_ROLES:
        if not admin.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (role,)).fetchone():
            admin.execute(f"CREATE ROLE {role} NOLOGIN")
        admin.execute(
            f"ALTER ROLE {role} WITH NOLOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE "
            "NOREPLICATION NOBYPASSRLS PASSWORD NULL"
        )
        admin.execute(f"ALTER ROLE {role} RESET ALL")  # what a member may have set on it
        options = " WITH INHERIT FALSE, SET TRUE" if admin.info.server_version >= 160000 else ""
        admin.execute(f"REVOKE ADMIN OPTION FOR {role} FROM {ANSWER}, {LEARNER}")
        admin.execute(f"GRANT {role} TO {ANSWER}, {LEARNER}{options}")
