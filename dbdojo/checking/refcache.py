"""The reference's results, kept for the process: a reference runs once per exercise and
workspace, not once per check.

A result is reused only while the data under it is the same seeded data: the key holds the
reference text, the exercise's options, the database's location and the checksum the seed wrote
into ``dataset_info`` (for Redis: the snapshot generation, named after that checksum). Where
no such version can be read (an unseeded or hand-made database) nothing is cached.

Results are also kept on disk (``.dojo/refcache/``, one pickle per key, written by the kit's
own trusted reference runs only), so a new process (``dojo grade``, a restarted kernel, another
learner's kernel on the same servers) reuses them too; a new seed changes the version, and
the directory is emptied when it holds more than ``DISK_LIMIT`` files.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import pickle
import threading
from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path
from typing import Any

from dbdojo.checking.model import MONGO_KINDS, SQL_KINDS, Exercise
from dbdojo.checking.result import ResultSet
from dbdojo.checking.runners import AnswerError
from dbdojo.workspace import SNAPSHOT_REDIS_DB, Workspace

LIMIT = 4096  # entries; results are capped at MAX_ROWS rows each
DISK_LIMIT = 20_000  # files in .dojo/refcache
_results: OrderedDict[tuple, ResultSet | AnswerError] = OrderedDict()
_lock = threading.Lock()


def data_version(kind: str, ws: Workspace, redis_source: int) -> str | None:
    """Where and which seeded data ``kind`` reads on ``ws``, or None when it cannot be told."""
    from dbdojo.checking import connections
    from dbdojo.connect import postgres_url, server_url

    try:
        if kind == "sql-concurrent":  # a scratch schema the setup fills: the same every time
            return f"{server_url('postgres')}#concurrent"
        if kind in SQL_KINDS:
            row = _checksum(ws)
            return f"{postgres_url(ws)}@{row[0]}" if row else None
        if kind in MONGO_KINDS:
            doc = connections.mongo(ws).dataset_info.find_one({"_id": "dataset"}, {"checksum": 1})
            return f"{server_url('mongo')}/{ws.database}@{doc['checksum']}" if doc else None
        if kind == "redis" and redis_source == SNAPSHOT_REDIS_DB:
            from dbdojo.dataset import redis_store

            generation = redis_store.current_generation(redis_store.snapshot_client())
            return f"{server_url('redis')}@{generation}" if generation else None
    except Exception:  # no dataset_info, not seeded, server down: run instead of reusing
        return None
    return None


def _checksum(ws: Workspace) -> tuple | None:
    """The seed's checksum row, read on the answer connection the check uses anyway; as the
    admin where the answer role may not read it (a table made since that connection opened)."""
    import psycopg

    from dbdojo.checking import connections

    query = "SELECT value FROM public.dataset_info WHERE key = 'checksum'"
    try:
        return connections.answer_pg(ws).execute(query).fetchone()
    except psycopg.errors.InsufficientPrivilege:
        return connections.pg(ws).execute(query).fetchone()


def key(ex: Exercise, version: str) -> tuple:
    options = json.dumps(ex.options, sort_keys=True, default=str)
    return (ex.id, ex.kind, ex.reference, options, version)


def reference_result(
    ex: Exercise, ws: Workspace, redis_source: int, run: Callable[[], ResultSet]
) -> ResultSet:
    """``run()``'s result (the reference on ``ws``), from the cache when the data is the same.
    An AnswerError is remembered too: a reference failing on an edge case fails each time."""
    version = data_version(ex.kind, ws, redis_source)
    if version is None:
        return run()
    k = key(ex, version)
    with _lock:
        found: Any = _results.get(k)
    if found is None:
        found = _load(k)
    if found is None:
        try:
            found = run()
            _store(k, found)
        except AnswerError as exc:
            if exc.timeout:  # a loaded machine, not the data: try again next time
                raise
            found = exc
    with _lock:  # the engine runs the targets of one check in threads
        _results[k] = found
        _results.move_to_end(k)
        if len(_results) > LIMIT:
            _results.popitem(last=False)
    if isinstance(found, AnswerError):
        raise found
    return found


def _path(k: tuple) -> Path:
    from dbdojo.paths import state_dir

    name = hashlib.sha256(repr(k).encode()).hexdigest()[:40]
    return state_dir() / "refcache" / f"{name}.pickle"


def _load(k: tuple) -> ResultSet | None:
    try:
        with open(_path(k), "rb") as fh:
            found = pickle.load(fh)
    except Exception:  # missing, half-written by a crash, from another version of the kit
        return None
    return found if isinstance(found, ResultSet) else None


def _store(k: tuple, result: ResultSet) -> None:
    path = _path(k)
    with contextlib.suppress(OSError):  # a full disk costs a re-run next time, nothing else
        path.parent.mkdir(exist_ok=True)
        if sum(1 for _ in path.parent.iterdir()) > DISK_LIMIT:
            clear_disk()
        temporary = path.with_suffix(f".{os.getpid()}.tmp")
        temporary.write_bytes(pickle.dumps(result, protocol=pickle.HIGHEST_PROTOCOL))
        temporary.replace(path)


def clear_disk() -> None:
    from dbdojo.paths import state_dir

    for path in (state_dir() / "refcache").glob("*"):
        path.unlink(missing_ok=True)


def clear() -> None:
    """Forget every result, in memory and on disk."""
    _results.clear()
    clear_disk()
