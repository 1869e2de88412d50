"""Redis snapshots kept in the snapshot logical database, copied server-side into workspaces.

In ``SNAPSHOT_REDIS_DB`` a snapshot of dataset ``d`` is a *generation*: keys
``snap:<gen>|<key>``, the set ``snap:<gen>:keys`` listing them and the hash ``snap:<gen>:ttl``
(TTLs applied when restored, so sessions do not expire inside the snapshot). The string
``dojo:snapshot:<d>`` names the current generation and is switched only once a generation is
complete, so a seed killed midway leaves the previous snapshot in use.
"""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING
from urllib.parse import urlsplit, urlunsplit

from dbdojo.connect import NotSeeded, ServiceDown, redis_client, server_url
from dbdojo.dataset.redis_data import RedisData
from dbdojo.workspace import MAIN, SNAPSHOT_REDIS_DB, Workspace

if TYPE_CHECKING:
    import redis

BATCH = 2_000


def snapshot_client() -> redis.Redis:
    """A client on the snapshot database (binary-safe: bitmaps are raw bytes)."""
    import redis

    parts = urlsplit(server_url("redis"))
    url = urlunsplit((parts.scheme, parts.netloc, f"/{SNAPSHOT_REDIS_DB}", parts.query, ""))
    client = redis.Redis.from_url(url, socket_connect_timeout=3)
    try:
        client.ping()
    except redis.ConnectionError as exc:
        raise ServiceDown("redis", str(exc)) from exc
    return client


def _pointer(dataset: str) -> str:
    return f"dojo:snapshot:{dataset}"


def current_generation(client: redis.Redis, dataset: str = MAIN) -> str | None:
    value = client.get(_pointer(dataset))
    return value.decode() if value else None


def snapshot_meta(dataset: str = MAIN) -> dict[str, str] | None:
    client = snapshot_client()
    gen = current_generation(client, dataset)
    if gen is None:
        return None
    raw = client.get(f"snap:{gen}:meta")
    return json.loads(raw) if raw else None


def build_snapshot(data: RedisData, meta: dict[str, str], dataset: str = MAIN) -> None:
    """Write a new generation, switch the pointer to it, then delete older generations."""
    client = snapshot_client()
    gen = f"{dataset}@{meta['checksum'][:16]}"
    _delete_generation(client, gen)  # a half-written one from an interrupted seed
    prefix = f"snap:{gen}|"
    pipe = client.pipeline(transaction=False)
    for i, (command, key, *args) in enumerate(data.commands, 1):
        pipe.execute_command(command, prefix + key, *args)
        if i % BATCH == 0:
            pipe.execute()
    keys = data.keys
    for start in range(0, len(keys), BATCH):
        pipe.sadd(f"snap:{gen}:keys", *keys[start : start + BATCH])
    if data.ttl:
        pipe.hset(f"snap:{gen}:ttl", mapping=data.ttl)
    pipe.set(f"snap:{gen}:meta", json.dumps(meta, sort_keys=True))
    pipe.execute()
    old = current_generation(client, dataset)
    client.set(_pointer(dataset), gen)
    if old and old != gen:
        _delete_generation(client, old)


def _delete_generation(client: redis.Redis, gen: str) -> None:
    keys = [k.decode() for k in client.smembers(f"snap:{gen}:keys")]
    names = [f"snap:{gen}|{k}" for k in keys]
    for start in range(0, len(names), BATCH):
        client.unlink(*names[start : start + BATCH])
    client.unlink(f"snap:{gen}:keys", f"snap:{gen}:ttl", f"snap:{gen}:meta")


def stray_keys(client: redis.Redis) -> int:
    """Keys of the snapshot database that belong to no current generation: what a seed
    interrupted while writing a generation leaves (cheap: counts, never scans)."""
    pointers = list(client.scan_iter(match=_pointer("*"), count=1000))
    gens = [g.decode() for g in client.mget(pointers) if g] if pointers else []
    expected = len(pointers)
    for gen in gens:
        expected += client.scard(f"snap:{gen}:keys")
        expected += client.exists(f"snap:{gen}:keys", f"snap:{gen}:ttl", f"snap:{gen}:meta")
    return max(0, client.dbsize() - expected)


def clear_strays(client: redis.Redis) -> int:
    """Delete the keys :func:`stray_keys` counts; returns how many. Only under the seed lock
    (a seed writing a generation holds it)."""
    if not stray_keys(client):
        return 0
    pointers = list(client.scan_iter(match=_pointer("*"), count=1000))
    keep = {g.decode() for g in client.mget(pointers) if g} if pointers else set()
    strays = []
    for key in client.scan_iter(match="snap:*", count=5000):
        gen = re.split(r"[|:]", key.decode(errors="replace")[len("snap:") :], maxsplit=1)[0]
        if gen not in keep:
            strays.append(key)
    for start in range(0, len(strays), BATCH):
        client.unlink(*strays[start : start + BATCH])
    return len(strays)


def target_db(ws: Workspace) -> int:
    client = redis_client(ws)
    return int(client.connection_pool.connection_kwargs.get("db", 0))


# Runs inside the server: one atomic step, no per-key round trips or client-side packing.
_RESTORE = """
local gen, db, snapshot_db = ARGV[1], ARGV[2], ARGV[3]
redis.call('SELECT', db)
redis.call('FLUSHDB')
redis.call('SELECT', snapshot_db)
local keys = redis.call('SMEMBERS', 'snap:' .. gen .. ':keys')
for _, key in ipairs(keys) do
  redis.call('COPY', 'snap:' .. gen .. '|' .. key, key, 'DB', db)
end
local ttl = redis.call('HGETALL', 'snap:' .. gen .. ':ttl')
redis.call('SELECT', db)
for i = 1, #ttl, 2 do
  redis.call('EXPIRE', ttl[i], ttl[i + 1])
end
return #keys
"""


def restore(ws: Workspace, dataset: str = MAIN) -> int:
    """Make the workspace's logical database an exact copy of the snapshot; returns key count.

    A server-side script: FLUSHDB on the target, ``COPY ... DB n`` of every key, then the
    TTLs; atomic like MULTI/EXEC.
    """
    client = snapshot_client()
    gen = current_generation(client, dataset)
    if gen is None:
        raise NotSeeded(f"Redis holds no snapshot of dataset {dataset!r}: run `dojo seed`.")
    db = target_db(ws)
    if db == SNAPSHOT_REDIS_DB:
        raise ValueError(f"workspace {ws.name!r} maps to the snapshot database {db}")
    import redis

    try:
        return int(client.eval(_RESTORE, 0, gen, db, SNAPSHOT_REDIS_DB))
    except redis.ResponseError as exc:
        if "out of range" not in str(exc):
            raise
        from dbdojo.workspace import NoRoomForWorkspace

        raise NoRoomForWorkspace(
            f"Redis has no logical database {db} for the workspace {ws.name!r} ({exc}): it was "
            "started with fewer databases than the kit now uses; restart it with "
            "`dojo down && dojo up` (its data is kept)"
        ) from exc
