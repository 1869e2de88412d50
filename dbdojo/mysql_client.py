"""PyMySQL connections to the MariaDB/MySQL server: from a ``mysql://`` URL, or to a workspace.

A workspace's MariaDB database has the same name as its PostgreSQL one (``dojo`` for the main
workspace) and holds the same tables (:mod:`dbdojo.dataset.mysql_data`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, unquote, urlsplit

if TYPE_CHECKING:
    import pymysql.connections

    from dbdojo.workspace import Workspace


def url_params(url: str) -> dict[str, Any]:
    """PyMySQL's keyword arguments for ``mysql://user:password@host:port/database``;
    ``?ssl=true`` asks for TLS without verifying the certificate (MySQL 8.4's
    caching_sha2_password sends the password only over TLS, or RSA-encrypted, which would
    need the cryptography package)."""
    parts = urlsplit(url)
    params: dict[str, Any] = {
        "host": parts.hostname or "127.0.0.1",
        "port": parts.port or 3306,
        "user": unquote(parts.username or "root"),
        "password": unquote(parts.password or ""),
    }
    if database := parts.path.strip("/"):
        params["database"] = database
    if parse_qs(parts.query).get("ssl", ["false"])[0].lower() in ("true", "1", "required"):
        params["ssl"] = {"check_hostname": False}  # no CA given: PyMySQL verifies nothing
    return params


def connect_url(url: str, **kwargs: Any) -> pymysql.connections.Connection:
    """A PyMySQL connection (utf8mb4, autocommit unless told otherwise) to ``url``."""
    import pymysql

    kwargs.setdefault("charset", "utf8mb4")
    kwargs.setdefault("autocommit", True)
    kwargs.setdefault("connect_timeout", 5)
    return pymysql.connect(**{**url_params(url), **kwargs})


def available() -> str | None:
    """None when a MariaDB/MySQL server is configured and answers; else why not (one line
    that says how to get one)."""
    from dbdojo.connect import ServiceDown, server_url
    from dbdojo.services.mysql import MysqlService

    try:
        url = server_url("mysql")
    except ServiceDown:
        return MysqlService().unavailable() or "MariaDB is not running: run `dojo up`"
    health = MysqlService().probe(url)
    return None if health.healthy else f"MariaDB/MySQL does not answer: {health.detail}"


def mysql_connect(ws: Workspace | None = None, **kwargs: Any) -> pymysql.connections.Connection:
    """A connection to the workspace's MariaDB database (raises ServiceDown if unreachable)."""
    import pymysql

    from dbdojo.connect import NotSeeded, ServiceDown, server_url
    from dbdojo.workspace import current

    url = server_url("mysql")
    kwargs.setdefault("database", (ws or current()).database)
    try:
        return connect_url(url, **kwargs)
    except pymysql.err.OperationalError as exc:
        if exc.args and exc.args[0] == 1049:  # unknown database
            message = f"MariaDB has no {kwargs['database']!r} database: run `dojo seed`"
            raise NotSeeded(message) from exc
        raise ServiceDown("mysql", str(exc)) from exc
