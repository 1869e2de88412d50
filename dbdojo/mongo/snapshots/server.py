"""Snapshots on a real MongoDB server: each one is a database, restored with ``$out``.

Snapshot ``name`` lives in database ``dojo_snap_<name>_<generation>``; the collection
``dojo_snapmeta.snapshots`` points each name at its current generation. A build writes a new
generation and then moves the pointer (one document write), so a build killed at any point
leaves the previous snapshot in place; leftover generations are dropped by the next build.
``dojo_snapmeta.workspaces`` records which snapshot each workspace database was restored from.

Not exercised on the machines the kit is developed on (no ``mongod`` there; the emulator has no
``$out``): run ``pytest tests/test_mongo_snapshots.py`` with ``DOJO_MONGO_URL`` set to a real
MongoDB to check it.
"""

from __future__ import annotations

from collections.abc import Callable

from pymongo import MongoClient
from pymongo.database import Database

from dbdojo.mongo.emulator.control import MissingSnapshot

META_DATABASE = "dojo_snapmeta"
PREFIX = "dojo_snap_"
_INDEX_KEYS_DROPPED = ("v", "ns", "key", "name", "background")


def _pointer(client: MongoClient, name: str) -> str | None:
    found = client[META_DATABASE].snapshots.find_one({"_id": name})
    return found["database"] if found else None


class ServerSnapshots:
    """The snapshots of the MongoDB server ``client`` talks to."""

    def __init__(self, client: MongoClient) -> None:
        self.client = client

    def build(self, name: str, build_fn: Callable[[Database], None]) -> None:
        current = _pointer(self.client, name)
        for leftover in self.client.list_database_names():
            if leftover.startswith(f"{PREFIX}{name}_") and leftover != current:
                self.client.drop_database(leftover)
        counter = self.client[META_DATABASE].generations.find_one_and_update(
            {"_id": name}, {"$inc": {"n": 1}}, upsert=True, return_document=True
        )
        target = f"{PREFIX}{name}_{counter['n']}"
        build_fn(self.client[target])
        self.client[META_DATABASE].snapshots.replace_one(
            {"_id": name}, {"_id": name, "database": target}, upsert=True
        )
        if current:
            self.client.drop_database(current)

    def names(self) -> list[str]:
        return sorted(doc["_id"] for doc in self.client[META_DATABASE].snapshots.find())

    def restore(self, database: str, name: str) -> None:
        source_name = _pointer(self.client, name)
        if source_name is None:
            raise MissingSnapshot(
                f"no MongoDB snapshot {name!r}: load the dataset with `dojo seed`"
            )
        source, target = self.client[source_name], self.client[database]
        self.client.drop_database(database)
        for info in source.list_collections(filter={"type": "collection"}):
            coll = info["name"]
            if coll.startswith("system."):
                continue
            options = {k: v for k, v in info.get("options", {}).items() if k != "uuid"}
            target.create_collection(coll, **options)
            for index in source[coll].list_indexes():
                if index["name"] == "_id_":
                    continue
                spec = {k: v for k, v in index.items() if k not in _INDEX_KEYS_DROPPED}
                target[coll].create_index(list(index["key"].items()), name=index["name"], **spec)
            # $out into the prepared collection keeps its options and indexes
            source[coll].aggregate(
                [{"$out": {"db": database, "coll": coll}}], bypassDocumentValidation=True
            )
        self.client[META_DATABASE].workspaces.replace_one(
            {"_id": database}, {"_id": database, "snapshot": name}, upsert=True
        )

    def drop(self, database: str) -> None:
        self.client.drop_database(database)
        self.client[META_DATABASE].workspaces.delete_one({"_id": database})

    def workspaces(self) -> dict[str, str]:
        return {doc["_id"]: doc["snapshot"] for doc in self.client[META_DATABASE].workspaces.find()}
