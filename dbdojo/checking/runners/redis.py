"""Run Redis answers: ``solve(r, prefix)`` on a scratch logical database seeded from the
snapshot; the result is the return value plus the final state of the keys it may touch."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from typing import Any

from dbdojo import slots
from dbdojo.checking.compare import RETURN_KEY
from dbdojo.checking.pyexec import function
from dbdojo.checking.result import ResultSet
from dbdojo.checking.runners import AnswerError
from dbdojo.connect import redis_db_client
from dbdojo.paths import state_dir
from dbdojo.workspace import SNAPSHOT_REDIS_DB, Workspace

POOL = 32  # scratch databases, so parallel checks do not collide (a class checks at once)
WAIT = 30.0  # seconds a check waits for a scratch database before giving up


@contextmanager
def scratch_db() -> Iterator[Workspace]:
    """Lock one of the checker's scratch workspaces (a Redis logical database) for the
    duration, waiting a while for one when every one is busy."""
    with slots.wait_free(state_dir(), "checker-redis", range(1, POOL + 1), WAIT) as number:
        if number is None:
            message = (
                f"all {POOL} scratch Redis databases of the checker stayed busy for {WAIT:.0f} s;"
                " try again"
            )
            raise RuntimeError(message)
        yield Workspace(f"checker_{number}")


def reseed(scratch: Workspace, source: int) -> None:
    """Make the scratch database a copy of ``source``. The snapshot database holds the seeded
    dataset as a generation: the dataset's own script copies it inside the server in one step
    (``dbdojo.dataset.redis_store.restore``); any other source is copied key by key."""
    if source == SNAPSHOT_REDIS_DB:
        from dbdojo.connect import NotSeeded
        from dbdojo.dataset import redis_store

        try:
            redis_store.restore(scratch)
        except NotSeeded as exc:
            raise AnswerError("Redis holds no snapshot of the dataset: run `dojo seed`.") from exc
        return
    db = scratch.redis_db
    redis_db_client(db).flushdb()
    src = redis_db_client(source)
    pipe = src.pipeline(transaction=False)
    for n, key in enumerate(src.scan_iter(count=1000), 1):
        pipe.copy(key, key, destination_db=db)
        if n % 1000 == 0:
            pipe.execute()
    pipe.execute()


def key_state(
    r: Any, key: str, json_values: bool = True, since: float | None = None
) -> tuple[str, str, Any, Any] | None:
    """(key, type, value, TTL): strings holding a JSON document compared as JSON (unless the
    exercise says the text itself matters), streams without their time-based ids but with
    their consumer groups' state, the TTL as :func:`ttl_seconds` reads it, plus what it lost
    since ``since`` (the ``time.monotonic()`` of the last command of the code checked): a
    loaded machine may read it seconds later."""
    kind = r.type(key)
    readers = {
        "string": lambda: _json(r.get(key)) if json_values else r.get(key),
        "hash": lambda: {f: _json(v) if json_values else v for f, v in r.hgetall(key).items()},
        "list": lambda: r.lrange(key, 0, -1),
        "set": lambda: sorted(r.smembers(key)),
        "zset": lambda: r.zrange(key, 0, -1, withscores=True),
        "stream": lambda: stream_state(r, key),
    }
    if kind == "none":
        return None
    try:
        value = readers.get(kind, lambda: f"<{kind}>")()
    except UnicodeDecodeError:  # a bitmap, a HyperLogLog: bytes that are no text
        value = _binary(r, key, kind)
    asked = time.monotonic()
    pttl = r.pttl(key)
    # The middle of the round trip: a stall of the loaded machine before or after the reply
    # moves it by half the stall, not all of it (a 60 s TTL read as 61 s failed a check).
    late = 0.0 if since is None else (asked + time.monotonic()) / 2 - since
    return (key, kind, value, ttl_seconds(pttl + int(late * 1000) if pttl >= 0 else pttl))


def _binary(r: Any, key: str, kind: str) -> str:
    """A value that is not text, compared exactly by its digest: the string's bytes, or for
    another type its serialized form (``DUMP``)."""
    import hashlib

    from redis.client import NEVER_DECODE

    command = "GET" if kind == "string" else "DUMP"
    data = r.execute_command(command, key, **{NEVER_DECODE: []}) or b""
    what = "bytes" if kind == "string" else f"{kind}, serialized"
    return f"<binary, {len(data):,} {what}, sha256 {hashlib.sha256(data).hexdigest()[:16]}>"


def ttl_seconds(pttl_ms: int) -> int | None:
    """The time to live in whole seconds (to the nearest: a TTL read a few ms after it was set,
    or with the time since added back, reads as set) at two significant figures: 299.4 s and
    300 s read the same, 5 s and 5,000 s do not. None: no TTL."""
    if pttl_ms < 0:
        return None
    return int(float(f"{round(pttl_ms / 1000):.2g}"))


def _json(text: Any) -> Any:
    if isinstance(text, str) and text.lstrip()[:1] in ("{", "["):
        try:
            return {"json": json.loads(text)}
        except ValueError:
            pass
    return text


def _id(stream_id: str) -> tuple[int, ...]:
    return tuple(int(part) for part in stream_id.split("-"))


def stream_state(r: Any, key: str) -> dict[str, Any]:
    """The entries' fields, and per consumer group what was delivered, to whom, how often, and
    what is still pending; entries named by their position (ids are times)."""
    entries = r.xrange(key)
    ids = [_id(i) for i, _ in entries]

    def position(stream_id: str) -> int:  # entries at or before it: 0 for "0-0"
        return sum(1 for i in ids if i <= _id(stream_id))

    groups = []
    for group in r.xinfo_groups(key):
        name = group["name"]
        pending = r.xpending_range(key, name, "-", "+", 10_000)
        consumers = r.xinfo_consumers(key, name)
        groups.append(
            {
                "group": name,
                "delivered_up_to": position(group["last-delivered-id"]),
                "pending": sorted(
                    [position(p["message_id"]), p["consumer"], p["times_delivered"]]
                    for p in pending
                ),
                "consumers": sorted([c["name"], c["pending"]] for c in consumers),
            }
        )
    return {"entries": [fields for _, fields in entries], "groups": sorted(groups, key=str)}


@contextmanager
def prepared(
    options: dict[str, Any], timeout: float, prefixes: list[str], source_db: int
) -> Iterator[tuple[Workspace, Any]]:
    """A locked scratch database seeded from ``source_db``, the exercise's setup run once per
    prefix, and the grader's client on it; emptied afterwards. The grader's own commands
    timing out or failing are reported as the learner reads them."""
    import redis

    with scratch_db() as scratch:
        reseed(scratch, source_db)
        r = redis_db_client(scratch.redis_db, timeout)
        try:
            if options.get("setup"):
                setup = function(options["setup"], "setup", {})
                for prefix in prefixes:
                    setup(r, prefix)
            yield scratch, r
        except redis.TimeoutError as exc:  # the setup's or the grader's own commands
            message = f"stopped after {timeout:g} s: a command blocked"
            raise AnswerError(message, timeout=True) from exc
        except redis.RedisError as exc:
            raise AnswerError(f"Redis error: {exc}") from exc
        finally:
            r.close()
            redis_db_client(scratch.redis_db).flushdb(asynchronous=True)


def run(
    source: str,
    options: dict[str, Any],
    timeout: float,
    prefix: str,
    source_db: int = SNAPSHOT_REDIS_DB,
    trusted: bool = False,
) -> ResultSet:
    """Run the cell's function once on a fresh scratch database and capture the outcome: the
    return value, and the keys' end state as the grader reads it. An answer (not ``trusted``)
    runs in the sandbox; the exercise's own setup and reference run here."""
    if not trusted:
        from dbdojo.checking import sandbox
    # an answer's turn is taken before the setup: TTLs it sets do not age while the answer waits
    with (
        nullcontext() if trusted else sandbox.turn(),
        prepared(options, timeout, [prefix], source_db) as (scratch, r),
    ):
        commands: list[str] | None = None
        if trusted:
            solve = function(source, options.get("function", "solve"), {})
            returned = call(solve, r, prefix, timeout)
            since = time.monotonic()
        else:
            returned, commands, late = sandbox.run_redis(
                source, options, timeout, prefix, scratch.redis_db
            )
            since = time.monotonic() - late
        touched = set(r.scan_iter(match=_escape(prefix) + "*", count=10_000))
        keys = sorted(touched | set(options.get("keys", [])))
        as_json = not options.get("json_as_text", False)
        states = [s for k in keys if (s := key_state(r, k, as_json, since)) is not None]
    rows = [(RETURN_KEY, "return", returned, None), *states]
    return ResultSet(["key", "type", "value", "ttl"], rows, noun="key", commands=commands)


def call(solve: Any, r: Any, prefix: str, timeout: float) -> Any:
    """``solve(r, prefix)``, its failures as the learner reads them (here for a reference, in
    the sandbox for an answer)."""
    import redis

    try:
        return solve(r, prefix)
    except AnswerError:
        raise
    except redis.TimeoutError as exc:
        raise AnswerError(f"stopped after {timeout:g} s: a command blocked", timeout=True) from exc
    except redis.RedisError as exc:
        raise AnswerError(f"Redis error: {exc}") from exc
    except Exception as exc:
        raise AnswerError(f"{type(exc).__name__}: {exc}") from exc


def _escape(prefix: str) -> str:
    return "".join("\\" + c if c in "*?[]\\" else c for c in prefix)
