"""Build a snapshot for the emulator in this process (mongoeco's own client, no wire: inserts
over the wire are quadratic in mongoeco 4.11) and save it atomically as a snapshot file."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pymongo.results import InsertManyResult

from dbdojo.mongo.emulator import memstate
from dbdojo.mongo.emulator.server import SNAPSHOT_SUFFIX, write_atomic
from dbdojo.mongo.snapshots import bulkload

BUILD_DATABASE = "dojo_build"

# pymongo's create_index takes MongoDB's option names; mongoeco's takes snake_case ones.
_INDEX_OPTIONS = {
    "expireAfterSeconds": "expire_after_seconds",
    "partialFilterExpression": "partial_filter_expression",
    "wildcardProjection": "wildcard_projection",
    "maxTimeMS": "max_time_ms",
}


def as_wire(value: Any) -> Any:
    """``value`` as the emulator's wire server would store it: through BSON and mongoeco's
    wire decoding (its own ObjectId/Decimal128/Int64 types, naive UTC datetimes)."""
    from bson import decode, encode
    from mongoeco.wire.bson_bridge import decode_wire_value

    return decode_wire_value(decode(encode({"v": value}))["v"])


class _Collection:
    """A mongoeco collection taking pymongo's arguments and storing what the wire would."""

    def __init__(self, inner: Any, engine: Any) -> None:
        self._inner = inner
        self._engine = engine

    def create_index(self, keys: Any, **options: Any) -> str:
        options = {
            _INDEX_OPTIONS.get(k, k): as_wire(v) if isinstance(v, dict) else v
            for k, v in options.items()
        }
        return self._inner.create_index(keys, **options)

    def insert_many(self, documents: Any, *args: Any, **kwargs: Any) -> Any:
        """Into a collection without secondary indexes: stored directly (:mod:`.bulkload`, the
        same stored documents, several times faster); otherwise mongoeco's ``insert_many``."""
        documents = list(documents)
        if self._inner.name not in self._inner.database.list_collection_names():
            self._inner.database.create_collection(self._inner.name)
        name, database = self._inner.name, self._inner.database
        if bulkload.bulk_insert(self._engine, database.name, name, documents):
            return InsertManyResult([d["_id"] for d in documents], acknowledged=True)
        return self._inner.insert_many([as_wire(d) for d in documents], *args, **kwargs)

    def insert_one(self, document: Any, *args: Any, **kwargs: Any) -> Any:
        return self._inner.insert_one(as_wire(document), *args, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


class _Database:
    """A mongoeco database whose collections accept pymongo's ``create_index`` options."""

    def __init__(self, inner: Any, engine: Any) -> None:
        self._inner = inner
        self._engine = engine

    def __getitem__(self, name: str) -> _Collection:
        return _Collection(self._inner[name], self._engine)

    def get_collection(self, name: str, **kwargs: Any) -> _Collection:
        return _Collection(self._inner.get_collection(name, **kwargs), self._engine)

    def create_collection(self, name: str, **options: Any) -> _Collection:
        return _Collection(self._inner.create_collection(name, **as_wire(options)), self._engine)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        from mongoeco.api._sync.collection import Collection

        attr = getattr(self._inner, name)
        # `db.orders` is a collection in pymongo; wrap it like `db["orders"]`
        return _Collection(attr, self._engine) if isinstance(attr, Collection) else attr


def build_image(build: Callable[[Any], None]) -> memstate.Image:
    """Run ``build(db)`` on an empty in-memory mongoeco database and return its image."""
    from mongoeco import MongoClient
    from mongoeco.engines.memory import MemoryEngine

    from dbdojo.mongo.emulator.costs import MATERIALIZATION_LIMIT, patch_costs

    patch_costs()
    engine = MemoryEngine(aggregation_materialization_limit=MATERIALIZATION_LIMIT)
    with MongoClient(engine) as client, memstate.no_gc():
        build(_Database(client[BUILD_DATABASE], engine))
        return memstate.capture(engine, BUILD_DATABASE)  # before close: it empties the engine


def save_snapshot(directory: Path, name: str, image: memstate.Image) -> Path:
    """Write snapshot ``name`` into ``directory`` atomically (old one intact until the swap)."""
    directory.mkdir(parents=True, exist_ok=True)
    for stale in directory.glob(f".{name}{SNAPSHOT_SUFFIX}.*.tmp"):
        pid = stale.name.rsplit(".", 2)[-2]
        if not (pid.isdigit() and _alive(int(pid))):
            stale.unlink(missing_ok=True)  # left by a build that was killed
    path = directory / f"{name}{SNAPSHOT_SUFFIX}"
    write_atomic(path, memstate.dumps(image))
    return path


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
