"""The MongoDB emulator's journal: every acknowledged write, so that a crash loses none.

The emulator keeps its databases in memory and saves them on a clean stop. Beside that, each
write command it acknowledges (insert, update, delete, findAndModify, create, drop, index
changes; a transaction's writes when it commits) is appended to ``journal.bson`` in its home
before the reply leaves, and so are restores and drops of whole databases (``dojo reset``,
``dojo drop``). The file reaches the operating system at each write (a killed emulator loses
nothing) and the disk once a second (a power cut loses at most the last second, as Redis's
``appendfsync everysec``).

After a crash, each database comes back as its snapshot (or empty) with the journal's writes
since its last restore replayed in order. At each start the journal is compacted to those.
"""

from __future__ import annotations

import asyncio
import os
import struct
from collections.abc import Iterable
from pathlib import Path
from typing import Any

JOURNAL = "journal.bson"
WRITE_COMMANDS = frozenset(
    {
        "insert",
        "update",
        "delete",
        "findAndModify",
        "findandmodify",
        "create",
        "drop",
        "dropDatabase",
        "createIndexes",
        "dropIndexes",
        "collMod",
    }
)
# what ties a command to its connection and session, not to the data
SESSION_FIELDS = ("lsid", "txnNumber", "autocommit", "startTransaction", "$clusterTime", "$db")
SYNC_INTERVAL = 1.0  # seconds between fsyncs of the journal


def encode(entry: dict[str, Any]) -> bytes:
    from bson import BSON
    from mongoeco.wire.bson_bridge import encode_wire_value

    return bytes(BSON.encode(encode_wire_value(entry)))


def read(path: Path) -> list[dict[str, Any]]:
    """The journal's entries; a last entry cut short by a crash is left out."""
    from bson import BSON
    from mongoeco.wire.bson_bridge import decode_wire_value

    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return []
    entries, position = [], 0
    while position + 4 <= len(data):
        (size,) = struct.unpack_from("<i", data, position)
        if size < 5 or position + size > len(data):
            break  # torn tail
        entries.append(decode_wire_value(BSON(data[position : position + size]).decode()))
        position += size
    return entries


def since_last_restore(entries: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """The entries still meaningful: per database, from its last restore or drop on."""
    kept: list[dict[str, Any]] = []
    for entry in entries:
        if entry["t"] in ("restore", "drop"):
            kept = [e for e in kept if e["db"] != entry["db"]]
        kept.append(entry)
    return kept


class Journal:
    """The journal file, open for appending, with the transactions not committed yet."""

    def __init__(self, home: Path) -> None:
        self.path = home / JOURNAL
        self._file: Any = None
        self._dirty = False
        self._open_transactions: dict[tuple[str, str], list[dict[str, Any]]] = {}

    def open(self, entries: list[dict[str, Any]]) -> None:
        """Rewrite the journal as ``entries`` (compacted), then append to it."""
        tmp = self.path.with_name(f".{JOURNAL}.tmp")
        with open(tmp, "wb") as fh:
            for entry in entries:
                fh.write(encode(entry))
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, self.path)
        self._file = open(self.path, "ab", buffering=0)  # noqa: SIM115 (open until close)

    def command(self, db: str, body: dict[str, Any]) -> None:
        """Journal an acknowledged write command (inside a transaction: once it commits)."""
        command = {k: v for k, v in body.items() if k not in SESSION_FIELDS}
        entry = {"t": "w", "db": db, "cmd": command}
        if body.get("autocommit") is False:
            self._open_transactions.setdefault(_transaction(body), []).append(entry)
        else:
            self._append(entry)

    def transaction_ended(self, body: dict[str, Any], committed: bool) -> None:
        entries = self._open_transactions.pop(_transaction(body), [])
        for entry in entries if committed else []:
            self._append(entry)

    def database_replaced(self, db: str, snapshot: str | None) -> None:
        """``db`` was restored from ``snapshot`` (None: dropped): earlier writes no longer
        count."""
        if snapshot is None:
            self._append({"t": "drop", "db": db})
        else:
            self._append({"t": "restore", "db": db, "snapshot": snapshot})

    def _append(self, entry: dict[str, Any]) -> None:
        if self._file is not None:
            self._file.write(encode(entry))  # unbuffered: in the OS before the reply is sent
            self._dirty = True

    async def sync_forever(self) -> None:
        """fsync the journal once a second while it has new entries."""
        while True:
            await asyncio.sleep(SYNC_INTERVAL)
            if self._dirty and self._file is not None:
                self._dirty = False
                await asyncio.to_thread(os.fsync, self._file.fileno())

    def close(self) -> None:
        if self._file is not None:
            os.fsync(self._file.fileno())
            self._file.close()
            self._file = None


def _transaction(body: dict[str, Any]) -> tuple[str, str]:
    return repr(body.get("lsid")), repr(body.get("txnNumber"))
