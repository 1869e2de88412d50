"""MongoDB snapshots: build the seeded data once, copy it into any workspace fast.

A *snapshot* is a named, complete database (documents, indexes, validators): ``dojo`` holds the
main dataset, ``edge_nulls`` etc. the edge-case variants. :func:`restore` makes a workspace's
database an exact copy of one.

- The kit's emulator: a snapshot is a file in the state directory, built in this process (no
  wire) and swapped in atomically; the emulator process copies it into a workspace in-process
  in O(collections) (see :mod:`dbdojo.services.mongo_emulator`).
- A real MongoDB (``mongod`` on PATH, or the user's URL): a snapshot is a database on the
  server, restored with ``$out`` (see :mod:`dbdojo.services.mongo_server_snapshots`).
- An emulator the kit did not start (a foreign mongoeco URL) cannot do either fast: refused
  with :class:`SnapshotsUnsupported`.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from dbdojo.connect import ServiceDown, mongo_client, server_url
from dbdojo.services.mongo_control import MissingSnapshot
from dbdojo.workspace import Workspace

if TYPE_CHECKING:
    from pymongo.database import Database

    from dbdojo.services.base import ServerRecord

_NAME = re.compile(r"^[a-z][a-z0-9_]{0,40}$")


__all__ = [
    "MissingSnapshot",
    "SnapshotsUnsupported",
    "build_snapshot",
    "drop",
    "reset_all",
    "restore",
    "snapshots",
    "workspaces",
]


class SnapshotsUnsupported(RuntimeError):
    """The MongoDB in use cannot hold snapshots (an emulator the kit did not start)."""


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
    record = _kit_emulator()
    if record is not None:
        from dbdojo.services import mongo_inprocess

        image = mongo_inprocess.build_image(build)
        mongo_inprocess.save_snapshot(Path(str(record.data_dir)) / "snapshots", name, image)
        return
    from dbdojo.services import mongo_server_snapshots

    mongo_server_snapshots.build(_real_server(), name, build)


def restore(ws: Workspace, snapshot: str = "dojo") -> None:
    """Make the workspace's database ``ws.database`` an exact copy of ``snapshot`` (documents,
    indexes, collection options and validators). Raises MissingSnapshot (a LookupError) if
    there is no such snapshot, ServiceDown if MongoDB is not running."""
    record = _kit_emulator()
    if record is not None:
        _control(record, "restore", database=ws.database, snapshot=snapshot)
        return
    from dbdojo.services import mongo_server_snapshots

    mongo_server_snapshots.restore(_real_server(), ws.database, snapshot)


def drop(ws: Workspace) -> None:
    """Drop the workspace's database (nothing happens if it does not exist)."""
    record = _kit_emulator()
    if record is not None:
        _control(record, "drop", database=ws.database)
        return
    from dbdojo.services import mongo_server_snapshots

    mongo_server_snapshots.drop(_real_server(), ws.database)


def snapshots() -> list[str]:
    """Names of the snapshots that exist, sorted."""
    record = _kit_emulator()
    if record is not None:
        from dbdojo.services.mongo_emulator import SnapshotStore

        return SnapshotStore(Path(str(record.data_dir)) / "snapshots").names()
    from dbdojo.services import mongo_server_snapshots

    return mongo_server_snapshots.names(_real_server())


def workspaces() -> dict[str, str]:
    """Every workspace database restored so far -> the snapshot it was restored from."""
    record = _kit_emulator()
    if record is not None:
        return dict(_control(record, "workspaces")["workspaces"])
    from dbdojo.services import mongo_server_snapshots

    return mongo_server_snapshots.workspaces(_real_server())


def reset_all() -> list[str]:
    """Restore every workspace database from the snapshot it came from; returns their names."""
    done = []
    for database, snapshot in sorted(workspaces().items()):
        restore(_workspace_of(database), snapshot)
        done.append(database)
    return done


def _workspace_of(database: str) -> Workspace:
    return Workspace("main" if database == "dojo" else database.removeprefix("dojo_"))


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


def _control(record: ServerRecord, op: str, **args: Any) -> dict[str, Any]:
    from dbdojo.services import mongo_control

    if not record.pid:
        raise ServiceDown("mongo", "the emulator is stopped")
    try:
        return mongo_control.request(record.extra["control"], op, **args)
    except OSError as exc:
        raise ServiceDown(
            "mongo", f"the emulator's control socket does not answer ({exc})"
        ) from exc


def _real_server():
    from dbdojo.services.mongo import describe

    client = mongo_client()
    if describe(client)["kind"] == "emulator":
        raise SnapshotsUnsupported(
            f"the MongoDB at {server_url('mongo')} is a mongoeco emulator the kit did not "
            "start: snapshots and fast resets need the kit's own emulator (unset "
            "DOJO_MONGO_URL and run `dojo up`) or a real MongoDB"
        )
    return client
