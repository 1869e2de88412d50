"""The emulator's answers to a beginner's first commands, made to read as MongoDB 8's.

mongoeco 4.11 (pinned) gets a few of them wrong; the kit corrects them in the emulator process,
around mongoeco's wire executor (see :func:`dbdojo.mongo.emulator.wire.serving`):

- ``$bsonSize`` (and so ``listDatabases``, ``dbStats``, ``collStats``) fails on Decimal128,
  Int64, MinKey/MaxKey, Code and DBRef values: :func:`patch_bson_sizes` gives their BSON sizes.
- ``listDatabases``, ``dbStats``, ``collStats`` and a lone ``$collStats`` stage read and decode
  every document on each call (seconds per collection, tens per workspace): :class:`Dialect`
  answers them from the engine's catalog, with the sizes measured once per version of a
  collection's data, and with the fields MongoDB 8 documents (``capped``, ``indexSizes``,
  ``totalSize``, ``views``, ``fsUsedSize``, ``host``, ``localTime``...).
- the projection ``{$slice: [skip, limit]}`` with a negative ``skip`` returns ``[]`` (mongoeco
  slices ``[skip:skip + limit]``): :func:`patch_projection_slice` counts ``skip`` from the end.
- ``buildinfo`` (what ``server_info()`` sends) is unknown; ``buildInfo`` is served, with the
  fields MongoDB documents (``gitVersion`` stays "mongoeco": the kit tells the emulator by it).
- ``listIndexes`` adds ``ns``, ``unique`` on ``_id_`` and false options, and lacks ``v``;
  ``listCollections`` lacks ``info.uuid`` and ``idIndex``.
"""

from __future__ import annotations

import datetime
import decimal
import shutil
import socket
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from dbdojo.mongo.emulator.pipeline import optimize

Execute = Callable[[Any], Awaitable[dict[str, Any]]]
MB = 1 << 20
SIZE_CACHE = 256  # collection versions whose size is remembered
INDEX_ENTRY_BYTES = 32  # collStats' index sizes: an estimate per indexed document


def patch_projection_slice() -> None:
    """``{$slice: [skip, limit]}`` as MongoDB documents it (idempotent): a negative ``skip``
    starts that many elements from the end (at the first element if there are fewer)."""
    from copy import deepcopy

    from mongoeco.core import projections

    original = getattr(
        projections._slice_projection_array, "__wrapped__", projections._slice_projection_array
    )

    def slice_array(value: list[Any], operand: object) -> list[Any]:
        if isinstance(operand, list | tuple) and len(operand) == 2 and operand[0] < 0:
            skip, limit = operand
            start = max(len(value) + skip, 0)
            return deepcopy(value[start : start + limit])
        return original(value, operand)

    slice_array.__wrapped__ = original  # type: ignore[attr-defined]
    projections._slice_projection_array = slice_array


def patch_bson_sizes() -> None:
    """Teach mongoeco's ``$bsonSize`` the BSON types it cannot size (idempotent): pymongo's
    and mongoeco's own Decimal128, DBRef, and pymongo's Int64, MinKey, MaxKey, Code."""
    from mongoeco.core.aggregation import runtime

    original = getattr(runtime._bson_value_size, "__wrapped__", runtime._bson_value_size)

    def value_size(value: Any) -> int:
        kind = type(value).__name__
        if kind == "Decimal128" or isinstance(value, decimal.Decimal):
            return 16
        if kind == "Int64":
            return 8
        if kind in ("MinKey", "MaxKey"):
            return 0
        if kind == "DBRef":
            as_document = getattr(value, "as_document", None) or value.as_doc
            return runtime._bson_document_size(dict(as_document()))
        if kind == "Code":
            code = runtime._bson_string_size(str(value))
            scope = getattr(value, "scope", None)
            return code if scope is None else 4 + code + runtime._bson_document_size(dict(scope))
        return original(value)

    value_size.__wrapped__ = original  # type: ignore[attr-defined]
    runtime._bson_value_size = value_size


QUERYING = {"find", "aggregate", "count", "distinct", "update", "delete", "findAndModify",
            "findandmodify", "explain"}  # fmt: skip


def normalize_body(body: dict[str, Any]) -> dict[str, Any]:
    """A command document as mongoeco knows it: ``buildinfo`` -> ``buildInfo``, and the
    query and expression forms of MongoDB 8 it lacks rewritten into ones it evaluates the same
    way (:func:`rewrite`)."""
    name = next(iter(body), None)
    if name == "buildinfo":
        return {("buildInfo" if key == "buildinfo" else key): value for key, value in body.items()}
    if name == "aggregate" and isinstance(body.get("pipeline"), list):
        body = {**body, "pipeline": optimize(body["pipeline"])}
    if name in QUERYING:
        return rewrite(body)
    return body


def rewrite(value: Any) -> Any:
    """Equivalent forms of what mongoeco 4.11 refuses or gets wrong:

    - ``{$not: [expr]}`` (the aggregation expression) -> ``{$cond: [expr, false, true]}``;
    - ``{$filter: {..., limit: n}}`` -> ``{$slice: [{$filter: {...}}, n]}``;
    - ``{$elemMatch: {$and: [a, b]}}`` -> ``{$elemMatch: {**a, **b}}`` (disjoint keys only);
    - ``{$toDouble: x}`` of a Decimal128 -> through its string form (mongoeco cannot convert it).
    """
    if isinstance(value, list):
        return [rewrite(item) for item in value]
    if not isinstance(value, dict):
        return value
    value = {key: rewrite(item) for key, item in value.items()}
    if len(value) != 1:
        return value
    ((key, item),) = value.items()
    if key == "$not" and isinstance(item, list) and len(item) == 1:
        return {"$cond": [item[0], False, True]}
    if key == "$filter" and isinstance(item, dict) and "limit" in item:
        rest = {k: v for k, v in item.items() if k != "limit"}
        return {"$slice": [{"$filter": rest}, item["limit"]]}
    if key == "$elemMatch" and isinstance(item, dict) and list(item) == ["$and"]:
        parts = item["$and"]
        keys = [k for part in parts if isinstance(part, dict) for k in part]
        if all(isinstance(p, dict) for p in parts) and len(keys) == len(set(keys)):
            return {"$elemMatch": {k: v for part in parts for k, v in part.items()}}
    if key == "$toDouble" and not isinstance(item, dict | list):
        decimal_ = {"$eq": [{"$type": item}, "decimal"]}
        return {"$cond": [decimal_, {"$toDouble": {"$toString": item}}, {"$toDouble": item}]}
    return value


class Dialect:
    """The corrections, for one engine: :meth:`execute` wraps mongoeco's executor."""

    def __init__(self, engine: Any) -> None:
        self.engine = engine
        self._sizes: dict[int, tuple[Any, int]] = {}  # id(collection root) -> (root, bytes)

    async def execute(self, context: Any, execute: Execute) -> dict[str, Any]:
        name, command = context.command_name, context.command_document
        if name == "listDatabases" and not command.get("filter"):
            return self.list_databases(bool(command.get("nameOnly")))
        scale = command.get("scale", 1)
        if name == "dbStats" and _valid_scale(scale):
            return self.db_stats(context.db_name, scale)
        if name == "collStats" and _valid_scale(scale) and self._stored(context.db_name, command):
            return self.coll_stats(context.db_name, str(command["collStats"]), scale)
        if name == "aggregate" and (stage := self._coll_stats_only(context.db_name, command)):
            return stage
        result = await execute(context)
        if not isinstance(result, dict) or result.get("ok") != 1:
            return result
        if name == "listIndexes":
            _batch(result, _index_document)
        elif name == "listCollections" and not command.get("nameOnly"):
            _batch(result, lambda info: _collection_info(context.db_name, info))
        elif name == "buildInfo":
            _build_info(result)
        elif name == "aggregate" and _first_stage(command) == "$collStats":
            _batch(result, self.coll_stats_stage)
        return result

    def list_databases(self, name_only: bool) -> dict[str, Any]:
        """``listDatabases`` from the catalog (the workspaces the emulator holds)."""
        from dbdojo.mongo.emulator import memstate

        names = memstate.database_names(self.engine)
        if name_only:
            return {"databases": [{"name": name} for name in names], "ok": 1.0}
        databases = []
        for name in names:
            size = self.database_size(name)
            databases.append({"name": name, "sizeOnDisk": size, "empty": size == 0})
        total = sum(db["sizeOnDisk"] for db in databases)
        return {"databases": databases, "totalSize": total, "totalSizeMb": total // MB, "ok": 1.0}

    def _collections(self, database: str) -> dict[str, Any]:
        with self.engine._meta_lock:
            return dict(self.engine._storage.get(database, {}))

    def _stored(self, database: str, command: dict[str, Any]) -> bool:
        name = command["collStats"]
        return isinstance(name, str) and name in self._collections(database)

    def _data_size(self, docs: Any) -> int:
        """The BSON size of one collection's documents, measured once per version of its data
        (workspaces restored from one snapshot share their versions)."""
        from mongoeco.core.aggregation import _bson_document_size

        root = docs._snapshot_state()[0]
        cached = self._sizes.get(id(root))
        if cached is None or cached[0] is not root:
            public = self.engine._borrow_public_storage_document  # decoded once, then kept
            size = sum(_bson_document_size(public(doc)) for doc in docs.values())
            if len(self._sizes) >= SIZE_CACHE:  # it keeps old versions alive: drop the oldest
                del self._sizes[next(iter(self._sizes))]
            cached = self._sizes[id(root)] = (root, size)
        return cached[1]

    def database_size(self, database: str) -> int:
        return sum(self._data_size(docs) for docs in self._collections(database).values())

    def index_names(self, database: str, collection: str) -> list[str]:
        with self.engine._meta_lock:
            records = list(self.engine._indexes.get(database, {}).get(collection, []))
        return ["_id_", *(record.name for record in records if record.name != "_id_")]

    def coll_stats(self, database: str, collection: str, scale: int) -> dict[str, Any]:
        """``collStats`` with the fields MongoDB 8 documents (sizes of the documents' BSON;
        index sizes estimated at INDEX_ENTRY_BYTES an entry)."""
        docs = self._collections(database)[collection]
        count, size = len(docs), self._data_size(docs)
        names = self.index_names(database, collection)
        index_sizes = {name: count * INDEX_ENTRY_BYTES // scale for name in names}
        total_index = sum(index_sizes.values())
        return {
            "ns": f"{database}.{collection}",
            "size": size // scale,
            "count": count,
            "avgObjSize": size // count if count else 0,
            "storageSize": size // scale,
            "freeStorageSize": 0,
            "capped": False,
            "nindexes": len(names),
            "indexBuilds": [],
            "totalIndexSize": total_index,
            "totalSize": size // scale + total_index,
            "indexSizes": index_sizes,
            "scaleFactor": scale,
            "ok": 1.0,
        }

    def db_stats(self, database: str, scale: int) -> dict[str, Any]:
        """``dbStats`` with the fields MongoDB 8 documents, from the same measures."""
        with self.engine._meta_lock:
            names = set(self.engine._collections.get(database, set()))
        stored = self._collections(database)
        stats = [self.coll_stats(database, name, 1) for name in sorted(stored)]
        objects = sum(s["count"] for s in stats)
        data = sum(s["size"] for s in stats)
        index = sum(s["totalIndexSize"] for s in stats)
        disk = shutil.disk_usage("/")
        return {
            "db": database,
            "collections": len(names | set(stored)),
            "views": 0,
            "objects": objects,
            "avgObjSize": data / objects if objects else 0,
            "dataSize": data // scale,
            "storageSize": data // scale,
            "indexes": sum(s["nindexes"] for s in stats),
            "indexSize": index // scale,
            "totalSize": (data + index) // scale,
            "scaleFactor": scale,
            "fsUsedSize": disk.used // scale,
            "fsTotalSize": disk.total // scale,
            "ok": 1.0,
        }

    def _coll_stats_only(self, database: str, command: dict[str, Any]) -> dict[str, Any] | None:
        """A pipeline of one ``$collStats`` stage (storageStats and/or count) on a stored
        collection, answered from the same measures as collStats; None for anything else."""
        collection, pipeline = command.get("aggregate"), command.get("pipeline")
        if not isinstance(collection, str) or collection not in self._collections(database):
            return None
        if (
            not isinstance(pipeline, list)
            or len(pipeline) != 1
            or _first_stage(command) != ("$collStats")
        ):
            return None
        options = pipeline[0]["$collStats"]
        if not isinstance(options, dict) or not set(options) <= {"storageStats", "count"}:
            return None
        stats = self.coll_stats(database, collection, 1)
        document: dict[str, Any] = {"ns": stats["ns"]}
        if "storageStats" in options:
            scale = (options["storageStats"] or {}).get("scale", 1)
            if not _valid_scale(scale):
                return None
            storage = self.coll_stats(database, collection, scale)
            storage.pop("ok")
            document["storageStats"] = storage
        if "count" in options:
            document["count"] = stats["count"]
        self.coll_stats_stage(document)
        namespace = stats["ns"]
        return {"cursor": {"firstBatch": [document], "id": 0, "ns": namespace}, "ok": 1.0}

    def coll_stats_stage(self, document: dict[str, Any]) -> None:
        """A ``$collStats`` result: ``host``, ``localTime``; storageStats as collStats."""
        document.setdefault("host", socket.gethostname())
        document.setdefault("localTime", datetime.datetime.now(datetime.UTC).replace(tzinfo=None))
        stored = document.get("storageStats")
        database, _, collection = str(document.get("ns", "")).partition(".")
        if isinstance(stored, dict) and collection in self._collections(database):
            scale = stored.get("scaleFactor", 1)
            fresh = self.coll_stats(database, collection, scale if _valid_scale(scale) else 1)
            fresh.pop("ok")
            document["storageStats"] = fresh


def _valid_scale(scale: Any) -> bool:
    return isinstance(scale, int) and not isinstance(scale, bool) and scale >= 1


def _collection_info(database: str, info: dict[str, Any]) -> None:
    """A listCollections entry as MongoDB 8 gives it: ``info.uuid`` and ``idIndex``."""
    if info.get("type") != "collection":
        return
    info.setdefault("options", {})
    details = info.setdefault("info", {"readOnly": False})
    details.setdefault("uuid", uuid.uuid5(uuid.NAMESPACE_URL, f"mongodb:{database}.{info['name']}"))
    info.setdefault("idIndex", {"v": 2, "key": {"_id": 1}, "name": "_id_"})


def _first_stage(command: dict[str, Any]) -> str | None:
    pipeline = command.get("pipeline") or [{}]
    return next(iter(pipeline[0]), None) if isinstance(pipeline[0], dict) else None


def _batch(result: dict[str, Any], fix: Callable[[dict[str, Any]], None]) -> None:
    for document in result.get("cursor", {}).get("firstBatch", []):
        fix(document)


def _index_document(index: dict[str, Any]) -> None:
    """As MongoDB 4.4+ lists an index: ``v`` first, no ``ns``; ``_id_`` is not "unique"."""
    index.pop("ns", None)
    for option in ("unique", "sparse", "hidden"):  # listed only when true
        if index.get(option) is False or (option == "unique" and index.get("name") == "_id_"):
            index.pop(option)
    items = list(index.items())
    index.clear()
    index.update({"v": 2, **dict(items)})


def _build_info(info: dict[str, Any]) -> None:
    """The fields MongoDB's buildInfo documents (``gitVersion`` stays "mongoeco": the kit
    tells the emulator by it)."""
    for key, value in {
        "modules": [],
        "javascriptEngine": "none",
        "bits": 64,
        "debug": False,
        "maxBsonObjectSize": 16 * MB,
        "storageEngines": ["memory"],
    }.items():
        info.setdefault(key, value)
