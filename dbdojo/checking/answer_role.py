"""The PostgreSQL role that answers run as: never a superuser.

``dojo_answer`` logs in with a password only the kit holds (in the state file, out of the
answers' reach) and owns the dataset's tables through the group role ``dojo_owner``, so DDL
answers (an index, a constraint) work on the rolled-back copy they change, while nothing a
superuser alone may do is possible: no ``COPY ... TO PROGRAM``, no ``pg_read_file``, no
``ALTER SYSTEM``. In every workspace it checks, ending or cancelling other sessions and
reading their queries is revoked from PUBLIC (superusers, the kit's own connections, are not
affected).
"""

from __future__ import annotations

from typing import TYPE_CHECKING
from urllib.parse import quote, urlsplit, urlunsplit

from dbdojo import state
from dbdojo.connect import postgres_url
from dbdojo.workspace import Workspace

if TYPE_CHECKING:
    import psycopg

ANSWER_ROLE = "dojo_answer"
OWNER_ROLE = "dojo_owner"
SECRET_NAME = "postgres_answer"

_SERVER_READY: set[str] = set()

# Relations of the dataset (schema public) not yet owned by dojo_owner, extension members and
# sequences that belong to a column (they follow their table) left out.
_STRAYS = f"""
SELECT c.oid::regclass::text, c.relkind
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f')
  AND c.relowner <> '{OWNER_ROLE}'::regrole
  AND NOT EXISTS (SELECT FROM pg_depend d WHERE d.classid = 'pg_class'::regclass
                  AND d.objid = c.oid AND d.deptype IN ('e', 'a', 'i'))
UNION ALL
SELECT t.oid::regtype::text, 'T'
FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
WHERE n.nspname = 'public' AND t.typtype IN ('e', 'd')
  AND t.typowner <> '{OWNER_ROLE}'::regrole
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
_PUBLIC_CHECK = " OR ".join(
    f"has_function_privilege('public', '{obj}', 'execute')"
    if kind == "FUNCTION"
    else f"has_table_privilege('public', '{obj}', 'select')"
    for kind, obj in _PUBLIC_GRANTS
)


def password() -> str:
    return state.secret(SECRET_NAME)


def url(ws: Workspace) -> str:
    """The workspace's PostgreSQL URL, logged in as the answer role."""
    parts = urlsplit(postgres_url(ws))
    host = parts.netloc.rpartition("@")[2]
    netloc = f"{ANSWER_ROLE}:{quote(password(), safe='')}@{host}"
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


def prepare(admin: psycopg.Connection) -> None:
    """Make the roles exist on the server (once per process) and the database ``admin`` is
    connected to fit for answers: dataset owned by ``dojo_owner``, PUBLIC's risky grants
    revoked. Cheap when already done (one query)."""
    server = admin.info.host, admin.info.port
    if str(server) not in _SERVER_READY:
        _prepare_server(admin)
        _SERVER_READY.add(str(server))
    strays = admin.execute(_STRAYS).fetchall()
    loose = admin.execute(f"SELECT ({_PUBLIC_CHECK}), NOT has_schema_privilege("
                          f"'{OWNER_ROLE}', 'public', 'CREATE')").fetchone()  # fmt: skip
    if not strays and not any(loose or ()):
        return
    with admin.transaction():
        for name, kind in strays:
            admin.execute(f"ALTER {_KEYWORDS[kind]} {name} OWNER TO {OWNER_ROLE}")
        admin.execute(f"GRANT USAGE, CREATE ON SCHEMA public TO {OWNER_ROLE}")
        for kind, obj in _PUBLIC_GRANTS:
            what = "EXECUTE" if kind == "FUNCTION" else "SELECT"
            admin.execute(f"REVOKE {what} ON {kind} {obj} FROM PUBLIC")


def _prepare_server(admin: psycopg.Connection) -> None:
    import psycopg
    from psycopg import sql

    for attempt in range(3):
        try:
            with admin.transaction():
                for role, login in ((OWNER_ROLE, "NOLOGIN"), (ANSWER_ROLE, "LOGIN")):
                    exists = admin.execute(
                        "SELECT 1 FROM pg_roles WHERE rolname = %s", (role,)
                    ).fetchone()
                    if not exists:
                        admin.execute(f"CREATE ROLE {role} {login}")
                admin.execute(
                    sql.SQL(
                        "ALTER ROLE {} WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE "
                        "NOREPLICATION NOBYPASSRLS INHERIT CONNECTION LIMIT 200 PASSWORD {}"
                    ).format(sql.Identifier(ANSWER_ROLE), sql.Literal(password()))
                )
                admin.execute(f"GRANT {OWNER_ROLE} TO {ANSWER_ROLE}")
            return
        except (psycopg.errors.UniqueViolation, psycopg.errors.DuplicateObject):
            # another process created it at the same time
            if attempt == 2:
                raise
