"""jupysql's ``%sql``/``%%sql`` wired to a workspace's PostgreSQL."""

from __future__ import annotations

from typing import Any

from dbdojo.connect import postgres_url
from dbdojo.workspace import Workspace

ALIAS = "dojo"
_SETTINGS = {"displaycon": "False", "feedback": "0", "named_parameters": '"enabled"'}


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
    settings = {**_SETTINGS, "short_errors": str(not strict)}
    for key, value in settings.items():
        ip.run_line_magic("config", f"SqlMagic.{key} = {value}")


def set_short_errors(ip: Any, short: bool) -> None:
    ip.run_line_magic("config", f"SqlMagic.short_errors = {short}")


def short_errors(ip: Any) -> bool:
    magic = ip.magics_manager.registry.get("SqlMagic")
    return bool(getattr(magic, "short_errors", True))


def connect(ip: Any, ws: Workspace) -> None:
    """Point ``%sql`` at ``ws``'s database, replacing an earlier kit connection."""
    disconnect(ip)
    ip.run_line_magic("sql", f"{sqlalchemy_url(postgres_url(ws))} --alias {ALIAS}")


def disconnect(ip: Any) -> None:
    """Close the kit's ``%sql`` connection (before a reset drops the database under it)."""
    from sql.connection import ConnectionManager

    if ALIAS not in ConnectionManager.connections:
        return
    closing = ConnectionManager.connections[ALIAS]
    ConnectionManager.close_connection_with_descriptor(ALIAS)
    if ConnectionManager.current is closing:
        ConnectionManager.current = None
