"""MongoDB snapshots: build the seeded data once, copy it into any workspace fast.

A *snapshot* is a named, complete database (documents, indexes, validators): ``dojo`` holds the
main dataset, ``edge_nulls`` etc. the edge-case variants. :func:`restore` makes a workspace's
database an exact copy of one. The backend is chosen once, by :func:`backend`:

- The kit's emulator (:class:`~dbdojo.mongo.snapshots.emulator.EmulatorSnapshots`): a snapshot
  is a file in the state directory, built in this process (no wire) and swapped in atomically;
  the emulator process copies it into a workspace in-process in O(collections).
- A real MongoDB (``mongod`` on PATH, or the user's URL)
  (:class:`~dbdojo.mongo.snapshots.server.ServerSnapshots`): a snapshot is a database on the
  server, restored with ``$out``.
- An emulator the kit did not start (a foreign mongoeco URL) cannot do either fast: refused
  with :class:`SnapshotsUnsupported`.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol
from urllib.parse import urlsplit

from dbdojo.connect import mongo_client, server_url
from dbdojo.errors import DojoError
from dbdojo.mongo.emulator.control import MissingSnapshot
from dbdojo.workspace import Workspace

if TYPE_CHECKING:
    from pymongo import MongoClient
    from pymongo.database import Database

    from dbdojo.records import ServerRecord

_NAME = re.compile(r"^[a-z][a-z0-9_]{0,40}$")


__all__ = [
    "MissingSnapshot",
    "SnapshotsUnsupported",
    "backend",
    "build_snapshot",
    "drop",
    "reset_all",
    "restore",
    "snapshots",
    "workspaces",
]


class SnapshotsUnsupported(DojoError, RuntimeError):
    """The MongoDB in use cannot hold snapshots (an emulator the kit did not start)."""


class Backend(Protocol):
    """Where snapshots live: the kit's emulator, or a real MongoDB server."""

    def build(self, name: str, build: Callable[[Database], None]) -> None: ...
    def restore(self, database: str, snapshot: str) -> None: ...
    def drop(self, database: str) -> None: ...
    def names(self) -> list[str]: ...
    def workspaces(self) -> dict[str, str]: ...


def backend() -> Backend:
    """The snapshot backend of the MongoDB in use (raises SnapshotsUnsupported if it has none)."""
    record = _kit_emulator()
    if record is not None:
        from dbdojo.mongo.snapshots.emulator import EmulatorSnapshots

        return EmulatorSnapshots(record)
    from dbdojo.mongo.snapshots.server import ServerSnapshots

    return ServerSnapshots(_real_server())


def build_snapshot(name: str, build: Callable[[Database], None]) -> None:
    """Create (or replace) snapshot ``name`` by calling ``build(db)`` on an empty database.

    ``build`` runs ``create_collection`` (with ``$jsonSchema`` validators),
    ``insert_many(..., ordered=False)`` and ``create_index`` on the pymongo-compatible ``db`` it
    is given (on the emulator: mongoeco's in-process database, which takes pymongo's
    arguments). Atomic: if the build is interrupted at any point (even kill -9) the previous
    snapshot of that name stays intact. Workspaces are not touched; call :func:`restore`.
    """
    if not _NAME.match(name):
        raise ValueError(f"snapshot name {name!r}: use lowercase letters, digits and _")
    backend().build(name, build)


def restore(ws: Workspace, snapshot: str = "dojo") -> None:
    """Make the workspace's database ``ws.database`` an exact copy of ``snapshot`` (documents,
    indexes, collection options and validators). Raises MissingSnapshot (a LookupError) if
    there is no such snapshot, ServiceDown if MongoDB is not running."""
    backend().restore(ws.database, snapshot)


def drop(ws: Workspace) -> None:
    """Drop the workspace's database (nothing happens if it does not exist)."""
    backend().drop(ws.database)


def snapshots() -> list[str]:
    """Names of the snapshots that exist, sorted."""
    return backend().names()


def workspaces() -> dict[str, str]:
    """Every workspace database restored so far -> the snapshot it was restored from."""
    return backend().workspaces()


def reset_all() -> list[str]:
    """Restore every workspace database from the snapshot it came from; returns their names."""
    chosen = backend()
    done = []
    for database, snapshot in sorted(chosen.workspaces().items()):
        chosen.restore(database, snapshot)
        done.append(database)
    return done


def _kit_emulator() -> ServerRecord | None:
    """The record of the emulator this checkout runs, if that is the MongoDB in use."""
    from dbdojo import state

    url = server_url("mongo")
    record = state.get_record("mongo")
    if record and record.backend == "emulator" and _address(record.url) == _address(url):
        return record
    return None


def _address(url: str) -> str:
    return urlsplit(url).netloc.rsplit("@", 1)[-1]


def _real_server() -> MongoClient:
    from dbdojo.mongo.service import describe

    client = mongo_client()
    if describe(client)["kind"] == "emulator":
        raise SnapshotsUnsupported(
            f"the MongoDB at {server_url('mongo')} is a mongoeco emulator the kit did not "
            "start: snapshots and fast resets need the kit's own emulator (unset "
            "DOJO_MONGO_URL and run `dojo up`) or a real MongoDB"
        )
    return client
