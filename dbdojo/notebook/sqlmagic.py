"""jupysql's ``%sql``/``%%sql`` wired to a workspace's PostgreSQL.

jupysql (with SQLAlchemy, pandas and matplotlib behind it) takes most of a second to import,
so ``%load_ext dbdojo`` only installs stand-ins (:func:`install_lazy`): the first ``%sql``,
``%%sql`` or ``%config SqlMagic…`` loads jupysql, connects it and runs as if it had always
been there. Notebooks that never use SQL never pay for it.

Writes commit as in psql: the engine is AUTOCOMMIT for every connection it opens (jupysql only
sets it on its first one, so after an interrupt its replacement kept writes in an open
transaction). An interrupted query is cancelled, the connection made usable again, and the
learner sees one line (:class:`QueryInterrupted`), not a traceback through the drivers.
"""

from __future__ import annotations

import contextlib
from typing import Any

from IPython.core.magic import needs_local_scope, no_var_expand

from dbdojo import pgroles
from dbdojo.workspace import Workspace

ALIAS = "dojo"
_SETTINGS = {"displaycon": "False", "feedback": "0", "named_parameters": '"enabled"'}
LEARNER_SETTINGS: dict[str, str] = {}
"""Set by the kit's learner kernels (:mod:`.startup`): e.g. no 10-row display limit."""


class QueryInterrupted(KeyboardInterrupt):
    """The learner interrupted a ``%sql`` query; PostgreSQL cancelled it."""

    def __str__(self) -> str:
        return "the running statement was cancelled by PostgreSQL; the next query runs normally"


def sqlalchemy_url(url: str) -> str:
    """``postgresql://…`` as a SQLAlchemy URL that uses psycopg 3."""
    for scheme in ("postgresql://", "postgres://"):
        if url.startswith(scheme):
            return "postgresql+psycopg://" + url[len(scheme) :]
    return url


def configure(ip: Any, *, strict: bool) -> None:
    """Load jupysql once and set the kit's defaults.

    ``short_errors`` off (strict, the tests) makes a failing query raise the driver's own
    exception with its traceback; on (learners) jupysql shows the database's message.
    """
    if "sql" not in ip.extension_manager.loaded:
        import sql.magic

        # The kit sets jupysql up itself; jupysql's search for settings in pyproject.toml
        # would only print a notice (about a missing `toml` package) into every notebook.
        sql.magic.load_SqlMagic_configs = lambda ip: None
        ip.extension_manager.load_extension("sql")
        _wrap(ip)
    settings = {**_SETTINGS, **LEARNER_SETTINGS, "short_errors": str(not strict)}
    for key, value in settings.items():
        ip.run_line_magic("config", f"SqlMagic.{key} = {value}")


def _wrap(ip: Any) -> None:
    """Put a wrapper around jupysql's ``%sql``: an interrupt leaves a usable connection."""
    jupysql = ip.magics_manager.magics["cell"]["sql"]

    @no_var_expand
    @needs_local_scope
    def sql(line: str = "", cell: str | None = None, local_ns: Any = None) -> Any:
        try:
            return jupysql(line, "" if cell is None else cell, local_ns)
        except KeyboardInterrupt:
            recover()
            raise QueryInterrupted() from None

    ip.register_magic_function(sql, magic_kind="line_cell", magic_name="sql")


def _sqlalchemy_connection() -> Any:
    """The kit's SQLAlchemy connection behind ``%sql``, or None."""
    from sql.connection import ConnectionManager

    found = ConnectionManager.connections.get(ALIAS)
    return getattr(found, "_connection_sqlalchemy", None)


def recover() -> None:
    """After an interrupt SQLAlchemy marks the connection invalid until rolled back (jupysql
    would then warn ``JupySQLRollbackPerformed`` on the next query): roll back now."""
    conn = _sqlalchemy_connection()
    if conn is not None:
        with contextlib.suppress(Exception):  # broken: the next query reconnects
            conn.rollback()


def reopen() -> None:
    """Drop the connection behind ``%sql`` (the server closed it): the next query opens a new
    one from the engine, which is AUTOCOMMIT."""
    conn = _sqlalchemy_connection()
    if conn is not None:
        conn.invalidate()
        recover()


def dbapi_connection(ip: Any) -> Any:
    """The psycopg connection ``%sql`` holds now, or None (not loaded, not connected, or
    invalidated: SQLAlchemy then opens a new one on the next query)."""
    if not loaded(ip):
        return None
    conn = _sqlalchemy_connection()
    if conn is None or conn.invalidated or conn.closed:
        return None
    try:
        return conn.connection.dbapi_connection
    except Exception:
        return None


def loaded(ip: Any) -> bool:
    return "sql" in ip.extension_manager.loaded


def install_lazy(ip: Any, ws: Workspace, *, strict: bool) -> None:
    """``%sql``/``%%sql`` stand-ins that load and connect jupysql on first use, then run."""
    previous = _lazy.pop(ip, None)
    if previous is not None:
        previous.restore_config()
    if loaded(ip):  # loaded before (by hand, or an earlier workspace): point it at this one
        configure(ip, strict=strict)
        connect(ip, ws)
        return
    _lazy[ip] = _LazySql(ip, ws, strict)


class _LazySql:
    """The stand-ins of one shell: ``%sql``/``%%sql``, and ``%config`` wrapped so that
    ``%config SqlMagic.x = y`` before the first query loads jupysql first."""

    def __init__(self, ip: Any, ws: Workspace, strict: bool) -> None:
        self.ip, self.ws, self.strict = ip, ws, strict
        self.original_config = ip.find_line_magic("config")

        @no_var_expand
        @needs_local_scope
        def sql(line: str = "", cell: str | None = None, local_ns: Any = None) -> Any:
            return self.load()(line, "" if cell is None else cell, local_ns)

        def config(line: str = "") -> Any:
            if line.strip().startswith("SqlMagic"):
                self.load()
            return self.original_config(line)

        ip.register_magic_function(sql, magic_kind="line_cell", magic_name="sql")
        # not register_magic_function: it would set a `config` attribute, a traitlets trait
        ip.magics_manager.magics["line"]["config"] = config

    def load(self) -> Any:
        """Load and connect jupysql (once); returns its ``sql`` magic."""
        if not loaded(self.ip):
            configure(self.ip, strict=self.strict)
            connect(self.ip, self.ws)
            self.restore_config()
        return self.ip.find_magic("sql")

    def restore_config(self) -> None:
        self.ip.magics_manager.magics["line"]["config"] = self.original_config


_lazy: dict[Any, _LazySql] = {}  # shell -> its stand-ins, until jupysql is loaded


def ensure_loaded(ip: Any) -> None:
    """Load jupysql now if only the stand-ins are installed."""
    if not loaded(ip) and ip in _lazy:
        _lazy[ip].load()


def set_short_errors(ip: Any, short: bool) -> None:
    ip.run_line_magic("config", f"SqlMagic.short_errors = {short}")


def short_errors(ip: Any) -> bool:
    magic = ip.magics_manager.registry.get("SqlMagic")
    return bool(getattr(magic, "short_errors", True))


def connect(ip: Any, ws: Workspace) -> None:
    """Point ``%sql`` at ``ws``'s database, replacing an earlier kit connection."""
    import sqlalchemy
    from sql.connection import ConnectionManager

    disconnect(ip)
    url = pgroles.url(ws, pgroles.LEARNER)  # the learner's role, as `pg` (dbdojo.pgroles)
    engine = sqlalchemy.create_engine(
        sqlalchemy_url(url), isolation_level="AUTOCOMMIT", pool_pre_ping=True
    )
    magic = ip.magics_manager.registry["SqlMagic"]
    ConnectionManager.set(engine, displaycon=False, alias=ALIAS, config=magic)


def disconnect(ip: Any) -> None:
    """Close the kit's ``%sql`` connection (before a reset drops the database under it)."""
    if not loaded(ip):
        return
    from sql.connection import ConnectionManager

    if ALIAS not in ConnectionManager.connections:
        return
    closing = ConnectionManager.connections[ALIAS]
    ConnectionManager.close_connection_with_descriptor(ALIAS)
    if ConnectionManager.current is closing:
        ConnectionManager.current = None
