"""Answers written in Python (kinds ``python``, ``redis``, ``mongo-*``) run here: in a process
of their own, confined (:mod:`.confine`), reaching only their own scratch data through gates
the grader holds (:mod:`.relay`, :mod:`.mongo_gate`, :mod:`.redis_gate`). What comes back is
data (:mod:`.values`); the verdict is computed outside.
"""

from __future__ import annotations

import contextlib
import secrets
import socket
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote, urlsplit

from dbdojo.checking.result import ResultSet
from dbdojo.checking.runners import AnswerError
from dbdojo.checking.sandbox import mongo_gate, pg_gate, process, redis_gate, relay, values
from dbdojo.checking.sandbox.process import SandboxError, turn
from dbdojo.workspace import Workspace, current

__all__ = [
    "SandboxError",
    "run_mongo",
    "run_pg_sessions",
    "run_python",
    "run_redis",
    "run_redis_clients",
    "turn",
]


def run_python(source: str, options: dict[str, Any], timeout: float) -> ResultSet:
    """A ``python`` answer. Its ``mongo_db()`` is a scratch database of its own, dropped after."""
    scratch = Workspace(f"answer_{secrets.token_hex(6)}")
    with process.box() as b, _mongo_gate(b, {scratch.database}, True, timeout) as (env, gate):
        request = {"kind": "python", "source": source, "options": options, "timeout": timeout}
        reply = process.run(b, request, timeout, {"DOJO_WORKSPACE": scratch.name, **env})
    if gate is not None and gate.connections:
        _drop_mongo(scratch)
    return _result(reply)


def run_mongo(
    source: str, targets: list[Workspace], options: dict[str, Any], timeout: float
) -> dict[str, ResultSet | AnswerError]:
    """A ``mongo-query``/``mongo-pipeline`` answer on each target, read-only."""
    databases = {ws.database for ws in targets}
    with process.box() as b, _mongo_gate(b, databases, False, timeout) as (env, _):
        request = {"kind": "mongo", "source": source, "options": options, "timeout": timeout,
                   "targets": [ws.name for ws in targets]}  # fmt: skip
        reply = process.run(b, request, timeout * len(targets), env)
    if "targets" not in reply:
        error = _error(reply)
        return {ws.name: error for ws in targets}
    out: dict[str, ResultSet | AnswerError] = {}
    for ws in targets:
        part = reply["targets"].get(ws.name) if isinstance(reply["targets"], dict) else None
        out[ws.name] = _result(part) if part and "result" in part else _error(part or {})
    return out


def run_redis(
    source: str, options: dict[str, Any], timeout: float, prefix: str, db: int
) -> tuple[Any, list[str], float]:
    """A ``redis`` answer's ``solve(r, prefix)`` on logical database ``db``: its return value,
    the commands it sent (see :class:`.redis_gate.CommandLog`) and the seconds since its last
    command (TTLs are read later by that much)."""
    request = {"kind": "redis", "source": source, "options": options, "prefix": prefix,
               "timeout": timeout}  # fmt: skip
    with _redis_gate(db, timeout) as (b, gate, env, log):
        reply = process.run(b, {**request, "socket": str(gate.path)}, timeout, env)
    if "returned" not in reply:
        raise _error(reply)
    return values.decode(reply["returned"]), log.lines, log.idle()


def run_redis_clients(
    source: str,
    options: dict[str, Any],
    timeout: float,
    prefixes: list[str],
    clients: int,
    db: int,
) -> list[list[Any]]:
    """The answer's ``solve`` run by ``clients`` threads at once, each with a connection of
    its own, once per prefix (a round), all within ``timeout``; the gate holds each command a
    few random milliseconds (:func:`.redis_gate.jittered`) so the clients' commands
    interleave. Per round, per client: the return value, or the :class:`AnswerError` it
    raised."""
    request = {"kind": "redis-clients", "source": source, "options": options,
               "prefixes": prefixes, "clients": clients, "timeout": timeout}  # fmt: skip
    with _redis_gate(db, timeout, jitter=True) as (b, gate, env, _):
        reply = process.run(b, {**request, "socket": str(gate.path)}, timeout, env)
    return _returns(reply, "rounds")


def _returns(reply: dict[str, Any], key: str) -> list[list[Any]]:
    """``reply[key]``: lists of what each call returned (decoded) or the error it raised."""
    if key not in reply:
        raise _error(reply)
    try:
        return [
            [values.decode(c["returned"]) if "returned" in c else _error(c) for c in calls]
            for calls in reply[key]
        ]
    except (KeyError, TypeError, ValueError) as exc:
        raise SandboxError(f"the answer's process sent a malformed result ({exc})") from exc


@contextlib.contextmanager
def _redis_gate(
    db: int, timeout: float, jitter: bool = False
) -> Iterator[tuple[process.Box, relay.Relay, dict[str, str], redis_gate.CommandLog]]:
    """A box for the answer, the Redis gate to database ``db`` (its commands logged, and
    held a few random milliseconds each when ``jitter``), the PostgreSQL gate; the answer's
    scripts and user ended after."""
    from dbdojo.connect import redis_db_client, server_url

    admin = redis_db_client(db)
    password = redis_gate.open_user(admin, db)
    connect = redis_gate.connector(server_url("redis"), db, password)
    log = redis_gate.CommandLog()
    framer = redis_gate.jittered(log.commands) if jitter else log.commands
    workspace = current()
    try:
        with (
            process.box() as b,
            relay.serve(b.path / "redis.sock", connect, b.uid, framer) as gate,
            _pg_gate(b, workspace) as pg_env,
            redis_gate.ScriptWatch(redis_db_client(db, timeout=2)),
        ):
            yield b, gate, {"DOJO_WORKSPACE": workspace.name, **pg_env}, log
    finally:
        redis_gate.stop_scripts(admin)
        redis_gate.close_user(admin, db)


@contextlib.contextmanager
def _pg_gate(b: process.Box, ws: Workspace) -> Iterator[dict[str, str]]:
    """``DOJO_POSTGRES_URL`` for the child: a read-only role of its own, for ``ws``'s database
    alone, through a relayed Unix socket (none if PostgreSQL is not set up)."""
    import psycopg

    from dbdojo.connect import ServiceDown, pg_server

    try:
        admin = pg_server()
    except (ServiceDown, psycopg.Error):
        yield {}
        return
    with admin:
        try:
            role, password = pg_gate.open_role(admin)
        except psycopg.Error:  # a server of the user's where the kit may not create roles
            yield {}
            return
        try:
            with _pg_relay(b, role, password, ws.database) as env:
                yield env
        finally:
            pg_gate.close_role(admin, role)


@contextlib.contextmanager
def _pg_relay(
    b: process.Box, role: str, password: str, database: str, framer: relay.Framer | None = None
) -> Iterator[dict[str, str]]:
    """The relayed Unix socket through which ``role`` alone reaches ``database`` (each message
    passed through ``framer`` when given); ``DOJO_POSTGRES_URL`` for the child."""
    from dbdojo.connect import server_url

    parts = urlsplit(server_url("postgres"))
    host, port = parts.hostname or "127.0.0.1", parts.port or 5432
    gate = pg_gate.Gate(role, database)
    path = b.path / ".s.PGSQL.5432"

    def upstream() -> socket.socket:
        sock = socket.create_connection((host, port), timeout=10)
        sock.settimeout(None)  # the answer's own time limit bounds the wait, not the relay
        return sock

    messages = framer(gate.messages) if framer else gate.messages
    with relay.serve(path, upstream, b.uid, messages):
        yield {"DOJO_POSTGRES_URL": pg_gate.url(str(b.path), role, password, database)}


def run_pg_sessions(
    source: str,
    options: dict[str, Any],
    timeout: float,
    role: str,
    password: str,
    sessions: list[dict],
) -> list[list[Any]]:
    """A ``sql-concurrent`` answer in Python: its ``solve(conn)`` run from one thread per
    session at once, each with a connection of its own to the scratch database as ``role``
    (:func:`.runners.pg_scratch.writer`), as often as the session's ``repeat`` says; each
    message held a few random milliseconds so that the sessions interleave. Per session: the
    return values, or the :class:`AnswerError` it raised."""
    from dbdojo.checking.runners import pg_scratch
    from dbdojo.checking.sandbox.redis_gate import jittered

    request = {"kind": "pg-sessions", "source": source, "options": options,
               "sessions": sessions, "timeout": timeout}  # fmt: skip
    with (
        process.box() as b,
        _pg_relay(b, role, password, pg_scratch.DATABASE, jittered) as env,
    ):
        reply = process.run(b, request, timeout, env)
    return _returns(reply, "sessions")


@contextlib.contextmanager
def _mongo_gate(
    b: process.Box, databases: set[str], writes: bool, timeout: float
) -> Iterator[tuple[dict[str, str], relay.Relay | None]]:
    """``DOJO_MONGO_URL`` for the child, pointing at a gate (none if MongoDB is not set up)."""
    from dbdojo.connect import ServiceDown, server_url

    try:
        url = server_url("mongo")
    except ServiceDown:
        yield {}, None
        return
    policy = mongo_gate.Policy(databases, writes, max(1, int(timeout * 1000)))
    gate = mongo_gate.Gate(policy)
    path = b.path / "mongo.sock"
    upstream = _mongo_upstream(url)
    with relay.serve(path, upstream, b.uid, mongo_gate.messages, gate.check) as served:
        env = {"DOJO_MONGO_URL": f"mongodb://{quote(str(path), safe='')}/?directConnection=true"}
        yield env, served


def _mongo_upstream(url: str):
    parts = urlsplit(url)
    plain = parts.scheme == "mongodb" and "," not in parts.netloc and "@" not in parts.netloc
    if not plain or "tls=true" in parts.query.lower() or "ssl=true" in parts.query.lower():
        raise SandboxError(
            "MongoDB answers are checked through the kit's gate, which reaches MongoDB by a "
            "plain mongodb://host:port URL (no TLS, no login): the kit's own server, or a "
            "mongod of yours on this machine"
        )
    host = parts.hostname or "127.0.0.1"
    port = parts.port or 27017
    from dbdojo.connect import kit_emulator
    from dbdojo.mongo import kitauth

    login = kitauth.credentials() if kit_emulator() else None

    def connect() -> socket.socket:
        """A connection to MongoDB; as the kit's admin if it requires authentication (the
        answer never learns the password: the gate authenticates before relaying)."""
        sock = socket.create_connection((host, port), timeout=10)
        if login:
            from dbdojo.mongo.emulator import scram

            def send(body: dict[str, Any]) -> dict[str, Any]:
                return mongo_gate.command(sock, "admin", body)

            try:
                scram.client_exchange(send, login["user"], login["password"])
            except BaseException:
                sock.close()
                raise
        # Blocking from now on: a query the emulator answers after 10 s (a loaded machine)
        # reached the answer as "connection closed"; the answer's time limit bounds the wait.
        sock.settimeout(None)
        return sock

    return connect


def _drop_mongo(ws: Workspace) -> None:
    from dbdojo.checking import connections

    with contextlib.suppress(Exception):
        connections.mongo(Workspace("main")).client.drop_database(ws.database)


def _result(reply: dict[str, Any]) -> ResultSet:
    if "result" not in reply:
        raise _error(reply)
    data = reply["result"]
    try:
        return ResultSet(
            columns=[str(c) for c in data["columns"]],
            rows=values.decode(data["rows"]),
            documents=bool(data["documents"]),
            order_by=[str(k) for k in data["order_by"]] if data.get("order_by") else None,
            ordered=bool(data["ordered"]),
            noun=str(data["noun"]),
            commands=[str(c) for c in data["commands"]] if data.get("commands") else None,
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise SandboxError(f"the answer's process sent a malformed result ({exc})") from exc


def _error(reply: dict[str, Any]) -> AnswerError:
    message = str(reply.get("error") or "the answer gave no result")[:2000]
    return AnswerError(message, str(reply.get("hint") or ""), bool(reply.get("timeout")))
