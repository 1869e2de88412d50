"""Run Redis answers: ``solve(r, prefix)`` on a scratch logical database seeded from the
snapshot; the result is the return value plus the final state of the keys it may touch."""

from __future__ import annotations

import fcntl
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from dbdojo.checking.pyexec import function
from dbdojo.checking.result import ResultSet
from dbdojo.checking.runners import AnswerError
from dbdojo.connect import server_url
from dbdojo.paths import state_dir
from dbdojo.workspace import SNAPSHOT_REDIS_DB, Workspace

POOL = 4  # scratch databases, so parallel checks do not collide
RETURN_KEY = "(return value)"


def client(db: int, timeout: float = 5.0) -> Any:
    """A redis-py client on logical database ``db`` of the kit's Redis server."""
    import redis

    parts = urlsplit(server_url("redis"))
    url = urlunsplit((parts.scheme, parts.netloc, f"/{db}", parts.query, ""))
    return redis.Redis.from_url(url, decode_responses=True, socket_timeout=timeout)


@contextmanager
def scratch_db() -> Iterator[int]:
    """Lock one of the checker's scratch logical databases for the duration."""
    for i in range(1, POOL + 1):
        lock = open(state_dir() / f"checker-redis-{i}.lock", "w")  # noqa: SIM115
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            lock.close()
            continue
        try:
            yield Workspace(f"checker_{i}").redis_db
        finally:
            lock.close()
        return
    raise RuntimeError(f"all {POOL} scratch Redis databases of the checker are busy; try again")


def reseed(db: int, source: int) -> None:
    """Make ``db`` a copy of ``source`` (server-side COPY, Redis >= 6.2). The snapshot
    database holds the seeded dataset as a generation (``dbdojo.dataset.redis_store``): its
    keys are copied under their dataset names, with their TTLs."""
    target = client(db)
    target.flushdb()
    src = client(source)
    names, ttl = _source_keys(src, source)
    pipe = src.pipeline(transaction=False)
    for n, (name, key) in enumerate(names, 1):
        pipe.copy(name, key, destination_db=db)
        if n % 1000 == 0:
            pipe.execute()
    pipe.execute()
    if ttl:
        expire = target.pipeline(transaction=False)
        for key, seconds in ttl.items():
            expire.expire(key, int(seconds))
        expire.execute()


def _source_keys(src: Any, source: int) -> tuple[Iterator[tuple[str, str]], dict[str, str]]:
    """(stored name, dataset name) of every key to copy, and the TTLs to set on the copy."""
    if source != SNAPSHOT_REDIS_DB:
        return ((key, key) for key in src.scan_iter(count=1000)), {}
    gen = src.get("dojo:snapshot:main")
    if gen is None:
        raise AnswerError("Redis holds no snapshot of the dataset: run `dojo seed`.")
    keys = src.sscan_iter(f"snap:{gen}:keys", count=1000)
    return ((f"snap:{gen}|{key}", key) for key in keys), src.hgetall(f"snap:{gen}:ttl")


def key_state(r: Any, key: str) -> tuple[str, str, Any, bool] | None:
    """(key, type, value, has TTL); stream entries without their time-based ids."""
    kind = r.type(key)
    readers = {
        "string": lambda: r.get(key),
        "hash": lambda: r.hgetall(key),
        "list": lambda: r.lrange(key, 0, -1),
        "set": lambda: sorted(r.smembers(key)),
        "zset": lambda: r.zrange(key, 0, -1, withscores=True),
        "stream": lambda: [fields for _, fields in r.xrange(key)],
    }
    if kind == "none":
        return None
    value = readers.get(kind, lambda: f"<{kind}>")()
    return (key, kind, value, r.pttl(key) > 0)


def run(
    source: str,
    options: dict[str, Any],
    timeout: float,
    prefix: str,
    source_db: int = SNAPSHOT_REDIS_DB,
) -> ResultSet:
    """Run the cell's function once on a fresh scratch database and capture the outcome."""
    import redis

    solve = function(source, options.get("function", "solve"), {})
    with scratch_db() as db:
        reseed(db, source_db)
        r = client(db, timeout)
        try:
            if options.get("setup"):
                function(options["setup"], "setup", {})(r, prefix)
            returned = solve(r, prefix)
            touched = set(r.scan_iter(match=_escape(prefix) + "*"))
            keys = sorted(touched | set(options.get("keys", [])))
            states = [s for s in (key_state(r, k) for k in keys) if s is not None]
        except redis.TimeoutError as exc:
            message = f"stopped after {timeout:g} s: a command blocked"
            raise AnswerError(message, timeout=True) from exc
        except redis.RedisError as exc:
            raise AnswerError(f"Redis error: {exc}") from exc
        except AnswerError:
            raise
        except Exception as exc:
            raise AnswerError(f"{type(exc).__name__}: {exc}") from exc
        finally:
            r.flushdb()
    rows = [(RETURN_KEY, "return", returned, False), *states]
    return ResultSet(["key", "type", "value", "ttl"], rows, noun="key")


def _escape(prefix: str) -> str:
    return "".join("\\" + c if c in "*?[]\\" else c for c in prefix)
