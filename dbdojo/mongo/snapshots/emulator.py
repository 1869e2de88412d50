"""Snapshots on the kit's own emulator: files in its home, restored by the emulator process.

A snapshot is built in this process (:mod:`dbdojo.mongo.snapshots.inprocess`, no wire) and
swapped in atomically; the emulator copies it into a workspace database in-process in
O(collections) when asked over its control socket (:mod:`dbdojo.mongo.emulator.control`).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dbdojo.connect import ServiceDown
from dbdojo.mongo.emulator import control

if TYPE_CHECKING:
    from pymongo.database import Database

    from dbdojo.records import ServerRecord


class EmulatorSnapshots:
    """The snapshots of the emulator that ``record`` describes."""

    def __init__(self, record: ServerRecord) -> None:
        self.record = record
        self.directory = Path(str(record.data_dir)) / "snapshots"

    def build(self, name: str, build: Callable[[Database], None]) -> None:
        from dbdojo.mongo.snapshots import inprocess

        inprocess.save_snapshot(self.directory, name, inprocess.build_image(build))

    def restore(self, database: str, snapshot: str) -> None:
        self._control("restore", database=database, snapshot=snapshot)

    def drop(self, database: str) -> None:
        self._control("drop", database=database)

    def names(self) -> list[str]:
        from dbdojo.mongo.emulator.server import SnapshotStore

        return SnapshotStore(self.directory).names()

    def workspaces(self) -> dict[str, str]:
        return dict(self._control("workspaces")["workspaces"])

    def _control(self, op: str, **args: Any) -> dict[str, Any]:
        if not self.record.pid:
            raise ServiceDown("mongo", "the emulator is stopped")
        try:
            return control.request(self.record.extra["control"], op, **args)
        except OSError as exc:
            raise ServiceDown(
                "mongo", f"the emulator's control socket does not answer ({exc})"
            ) from exc
