"""Clients for the databases of a workspace, wherever the servers are.

Server URLs come from the user (``DOJO_*_URL``, see :mod:`dbdojo.settings`) or, by default,
from the servers ``dojo up`` started (their URLs are recorded in ``.dojo/state.json`` under
``services.<name>.url``). Everything that talks to a database gets its client here.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, unquote, urlsplit, urlunsplit

from dbdojo.errors import DojoError
from dbdojo.settings import user_urls
from dbdojo.workspace import Workspace, current

if TYPE_CHECKING:
    import psycopg
    import pymongo.database
    import pymysql.connections
    import redis

LABELS = {
    "postgres": "PostgreSQL",
    "mongo": "MongoDB",
    "redis": "Redis",
    "mysql": "MariaDB/MySQL",  # optional: `dojo up` starts it where a server binary exists
    "postgres_replica": "PostgreSQL replica",  # `dojo up --replicas` (services/replicas.py)
    "redis_replica": "Redis replica",
}


EMULATOR_READY_MS = 120_000  # importing mongoeco and loading the databases: 1-7 s, more under load


class ServiceDown(DojoError, RuntimeError):
    """A database the kit needs is not reachable; the message says which and how to start it."""

    def __init__(self, service: str, detail: str = "") -> None:
        self.service = service
        label = LABELS[service]
        reason = f": {detail}" if detail else ""
        super().__init__(
            f"{label} is not running{reason}. Start the databases with `dojo up` "
            f"(or check {label}'s URL with `dojo status`)."
        )


class ServerRefused(ServiceDown):
    """The server runs but turned the connection away (every connection slot taken): the
    message quotes the server's own words and says how to make room."""

    def __init__(self, service: str, words: str) -> None:
        RuntimeError.__init__(
            self,
            f"{LABELS[service]} refused the connection: {words}. Every connection it allows is "
            "in use: shut down the notebooks you no longer use (Kernel > Shut Down Kernel), "
            "or size the server for the class (DOJO_CLASS_SIZE, then `dojo down && dojo up`; "
            "`dojo status` shows the connections in use).",
        )
        self.service = service


_REFUSALS = ("too many clients already", "remaining connection slots are reserved")


def refusal(exc: BaseException) -> str:
    """The server's own words when ``exc`` is PostgreSQL refusing a connection for lack of
    slots (SQLSTATE 53300), else ""."""
    text = str(exc)
    if getattr(exc, "sqlstate", None) != "53300" and not any(r in text for r in _REFUSALS):
        return ""
    fatal = text[text.find("FATAL:") :] if "FATAL:" in text else text
    return " ".join(fatal.split())


def pg_unreachable(exc: BaseException) -> ServiceDown:
    """The error to raise when connecting to PostgreSQL failed with ``exc``."""
    if words := refusal(exc):
        return ServerRefused("postgres", words)
    return ServiceDown("postgres", str(exc).strip().splitlines()[0])


class NotSeeded(DojoError, RuntimeError):
    """The server runs but the workspace's database has not been created yet."""


def recorded_urls() -> dict[str, str]:
    """URLs of the servers ``dojo up`` started, from the state file (raises
    :class:`dbdojo.state.StateDamaged`, saying how to rebuild it, if it is damaged)."""
    from dbdojo import state

    services = state.load().get("services", {})
    return {name: info["url"] for name, info in services.items() if info.get("url")}


def mask(url: str) -> str:
    """``url`` with its password replaced by ``***``."""
    parts = urlsplit(url)
    if not parts.password:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return urlunsplit(parts._replace(netloc=netloc))


def server_url(service: str) -> str:
    """The server URL of ``service``: the user's own first, else the kit's embedded server."""
    url = user_urls().get(service) or recorded_urls().get(service)
    if not url:
        raise ServiceDown(service, "no server has been started and no URL is configured")
    return url


def _with_path(url: str, path: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, path, parts.query, parts.fragment))


def pg_server_url(database: str = "postgres") -> str:
    """The URL of database ``database`` on the kit's PostgreSQL server, as its superuser."""
    return _with_path(server_url("postgres"), "/" + database)


def postgres_url(ws: Workspace | None = None) -> str:
    return pg_server_url((ws or current()).database)


def redis_url(ws: Workspace | None = None) -> str:
    ws = ws or current()
    base = server_url("redis")
    if ws.name == "main" and urlsplit(base).path.strip("/"):
        return base  # the database the user chose in their URL
    return _with_path(base, f"/{ws.redis_db}")


def pg_connect(
    ws: Workspace | None = None, conninfo: str | None = None, **kwargs
) -> psycopg.Connection:
    """A psycopg connection to the workspace's database (autocommit unless told otherwise);
    ``conninfo``: the workspace's URL with other credentials."""
    import psycopg

    try:
        return _pg(conninfo or postgres_url(ws), kwargs)
    except psycopg.OperationalError as exc:
        if "does not exist" in str(exc):
            raise NotSeeded(f"{exc}. Load the dataset with `dojo seed`.") from exc
        raise pg_unreachable(exc) from exc


def pg_server(dbname: str = "postgres", **kwargs) -> psycopg.Connection:
    """A connection to any database of the kit's PostgreSQL server, as its superuser (the
    kit's own work: seeding, resets, sizing); raises ServiceDown if the server does not answer."""
    import psycopg

    try:
        return _pg(server_url("postgres"), {"dbname": dbname, **kwargs})
    except psycopg.OperationalError as exc:
        raise pg_unreachable(exc) from exc


def _pg(conninfo: str, kwargs: dict[str, Any]) -> psycopg.Connection:
    """``psycopg.connect`` with the kit's defaults: autocommit, 5 s to connect."""
    import psycopg

    kwargs.setdefault("autocommit", True)
    kwargs.setdefault("connect_timeout", 5)
    return psycopg.connect(conninfo, **kwargs)


def mongo_client(**kwargs) -> pymongo.MongoClient:
    """A client of the MongoDB server in use (the kit's emulator: as the kit's admin when a
    classroom requires authentication, :mod:`dbdojo.mongo.kitauth`)."""
    import pymongo

    kwargs.setdefault("serverSelectionTimeoutMS", 3000)
    kwargs.setdefault("tz_aware", True)
    if kit_emulator():
        from dbdojo.mongo import kitauth

        kwargs = {**kitauth.client_options(), **kwargs}
    client: pymongo.MongoClient = pymongo.MongoClient(server_url("mongo"), **kwargs)
    return client


def mongo_db(ws: Workspace | None = None, **kwargs) -> pymongo.database.Database:
    """The workspace's MongoDB database. Raises ServiceDown if the server does not answer."""
    import pymongo.errors

    client = mongo_client(**kwargs)
    try:
        client.admin.command("ping")
    except pymongo.errors.PyMongoError as exc:
        if not kit_emulator():
            raise ServiceDown("mongo", str(exc).splitlines()[0][:200]) from exc
        # it holds the connections it accepts until its engine is loaded: wait that long
        with mongo_client(serverSelectionTimeoutMS=EMULATOR_READY_MS) as waiting:
            waiting.admin.command("ping")
        client.admin.command("ping")
    return client[(ws or current()).database]


def kit_emulator() -> bool:
    """Whether the URL in use is the kit's MongoDB emulator, which listens at once and serves
    once its engine is loaded (seconds after ``dojo up`` returns)."""
    from dbdojo import state

    record = state.get_record("mongo")
    return record is not None and record.backend == "emulator" and server_url("mongo") == record.url


def redis_db_client(db: int, timeout: float = 5.0) -> redis.Redis:
    """A new client on logical database ``db`` of the kit's Redis server, for the checker
    (answers get their own: a shared one could be left on another database by a ``SELECT``)."""
    import redis

    url = _with_path(server_url("redis"), f"/{db}")
    return redis.Redis.from_url(url, decode_responses=True, socket_timeout=timeout)


def redis_client(ws: Workspace | None = None, **kwargs) -> redis.Redis:
    """A redis-py client on the workspace's logical database (str responses by default)."""
    import redis

    kwargs.setdefault("decode_responses", True)
    kwargs.setdefault("socket_connect_timeout", 3)
    client = redis.Redis.from_url(redis_url(ws), **kwargs)
    try:
        client.ping()
    except redis.ConnectionError as exc:
        raise ServiceDown("redis", str(exc)) from exc
    return client


# --- MariaDB/MySQL (optional: lesson X3) ---------------------------------------------------


def mysql_params(url: str) -> dict[str, Any]:
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


def mysql_connect_url(url: str, **kwargs: Any) -> pymysql.connections.Connection:
    """A PyMySQL connection (utf8mb4, autocommit unless told otherwise) to ``url``."""
    import pymysql

    kwargs.setdefault("charset", "utf8mb4")
    kwargs.setdefault("autocommit", True)
    kwargs.setdefault("connect_timeout", 5)
    return pymysql.connect(**{**mysql_params(url), **kwargs})


def mysql_connect(ws: Workspace | None = None, **kwargs: Any) -> pymysql.connections.Connection:
    """A connection to the workspace's MariaDB database (raises ServiceDown if unreachable)."""
    import pymysql

    url = server_url("mysql")
    kwargs.setdefault("database", (ws or current()).database)
    try:
        return mysql_connect_url(url, **kwargs)
    except pymysql.err.OperationalError as exc:
        if exc.args and exc.args[0] == 1049:  # unknown database
            message = f"MariaDB has no {kwargs['database']!r} database: run `dojo seed`"
            raise NotSeeded(message) from exc
        raise ServiceDown("mysql", str(exc)) from exc
