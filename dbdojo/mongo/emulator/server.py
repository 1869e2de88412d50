"""The MongoDB emulator server process: mongoeco's wire server plus the kit's snapshot control.

Run as ``python -m dbdojo.mongo.emulator.server --port P --home DIR``. It serves a mongoeco
MemoryEngine over the MongoDB wire protocol on 127.0.0.1:P (pymongo connects with a normal
``mongodb://`` URL) and answers the kit on a Unix socket (``DIR/control.sock``, one JSON object
per line) to restore, drop and list databases, which it does in-process in O(collections).

Files under ``DIR``:

- ``snapshots/<name>.snapshot``: database images written by ``build_snapshot`` (atomically).
- ``workspaces.json``: database -> the snapshot it was last restored from.
- ``databases/<db>.image`` + ``databases/CLEAN``: databases changed since their restore, saved
  on a clean stop (SIGTERM), from which the next start recovers them.
- ``users.json``, ``security.json``: the users and whether authorization is on
  (:mod:`dbdojo.mongo.emulator.auth`; ``--auth`` turns it on as ``mongod --auth`` does).
- ``journal.bson``: every acknowledged write since each database's last restore
  (:mod:`dbdojo.mongo.emulator.journal`). After a crash (kill -9) there is no ``CLEAN`` marker:
  each database comes back as its snapshot with the journal replayed, so acknowledged writes
  survive.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import fcntl
import json
import os
import signal
import socket
import sys
import threading
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dbdojo.mongo.emulator import auth as mongo_auth
from dbdojo.mongo.emulator import journal as mongo_journal
from dbdojo.mongo.emulator import wire as mongo_wire
from dbdojo.mongo.emulator.control import MissingSnapshot
from dbdojo.mongo.emulator.costs import MATERIALIZATION_LIMIT

if TYPE_CHECKING:
    from dbdojo.mongo.emulator import memstate

CONTROL_SOCKET = "control.sock"
SNAPSHOT_SUFFIX = ".snapshot"
CLEAN_MARKER = "CLEAN"


def write_atomic(path: Path, data: bytes, mode: int = 0o644) -> None:
    """Write ``path`` so that a crash leaves either the old or the new content, never a mix."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)  # a full disk leaves no partial file taking space
        raise
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


class SnapshotStore:
    """Snapshot images on disk, loaded on first use and reloaded when their file changes."""

    def __init__(
        self, directory: Path, loaded: Callable[[memstate.Image], None] = lambda image: None
    ) -> None:
        self.directory = directory
        self.loaded = loaded  # told of each image read from disk
        self._cache: dict[str, tuple[tuple[int, int], memstate.Image]] = {}

    def path(self, name: str) -> Path:
        return self.directory / f"{name}{SNAPSHOT_SUFFIX}"

    def names(self) -> list[str]:
        if not self.directory.exists():
            return []
        return sorted(p.name.removesuffix(SNAPSHOT_SUFFIX) for p in self._files())

    def _files(self) -> list[Path]:
        return [p for p in self.directory.glob(f"*{SNAPSHOT_SUFFIX}") if not p.name.startswith(".")]

    def get(self, name: str) -> memstate.Image:
        from dbdojo.mongo.emulator import memstate

        path = self.path(name)
        try:
            stat = path.stat()
        except FileNotFoundError:
            raise MissingSnapshot(
                f"no MongoDB snapshot {name!r} (have: {', '.join(self.names()) or 'none'}); "
                "load the dataset with `dojo seed`"
            ) from None
        key = (stat.st_mtime_ns, stat.st_size)
        cached = self._cache.get(name)
        if cached and cached[0] == key:
            return cached[1]
        image = memstate.loads(path.read_bytes())
        memstate.settle()
        self._cache[name] = (key, image)
        self.loaded(image)
        return image


class Emulator:
    """The engine, its snapshots and workspace registry, and the control commands.

    Built before mongoeco is imported (that import takes seconds): :meth:`open` imports it and
    creates the engine; until then :attr:`ready` is unset and requests other than ``status``
    wait for it.
    """

    def __init__(self, home: Path, auth: bool = False) -> None:
        self.home = home
        self.security = mongo_auth.Security(home, _write_private, enabled=auth)
        self.engine: Any = None
        self.ready = asyncio.Event()
        self.snapshots = SnapshotStore(home / "snapshots", loaded=self.warm)
        self.registry_path = home / "workspaces.json"
        self.registry: dict[str, str] = (
            json.loads(self.registry_path.read_text()) if self.registry_path.exists() else {}
        )
        self.saved_dir = home / "databases"
        # db -> the snapshot image it was restored from, to tell unchanged databases cheaply
        self._origin: dict[str, memstate.Image] = {}
        self._loading: dict[str, asyncio.Lock] = {}
        self.journal = mongo_journal.Journal(home)
        self.run_command: mongo_wire.RunCommand | None = None  # set once the wire serves
        self.recovery = Recovery(self)

    async def open(self) -> None:
        """Import mongoeco (in a thread, so the control socket keeps answering) and create
        the engine."""
        engine_class = await asyncio.to_thread(_memory_engine_class)
        self.engine = engine_class(aggregation_materialization_limit=MATERIALIZATION_LIMIT)
        self.ready.set()

    def _save_registry(self) -> None:
        write_atomic(self.registry_path, json.dumps(self.registry, indent=1).encode())

    async def snapshot_image(self, name: str) -> memstate.Image:
        """The image of snapshot ``name``, read from disk in a thread (once at a time)."""
        async with self._loading.setdefault(name, asyncio.Lock()):
            return await asyncio.to_thread(self.snapshots.get, name)

    def warm(self, image: memstate.Image) -> None:
        """Decode a newly loaded image's indexed collections in a thread of its own."""
        from dbdojo.mongo.emulator import memstate

        threading.Thread(
            target=memstate.warm, args=(self.engine, image), name="warm", daemon=True
        ).start()

    async def restore(self, database: str, snapshot: str) -> dict[str, Any]:
        await self.recovery.settle(database)
        await self._install_snapshot(database, snapshot)
        self.journal.database_replaced(database, snapshot)
        return {"database": database, "snapshot": snapshot}

    async def _install_snapshot(self, database: str, snapshot: str) -> None:
        from dbdojo.mongo.emulator import memstate

        image = await self.snapshot_image(snapshot)
        await memstate.install(self.engine, database, image)
        self._origin[database] = image
        self.registry[database] = snapshot
        self._save_registry()

    async def drop(self, database: str) -> dict[str, Any]:
        await self.recovery.settle(database)
        await self.engine.drop_database(database)
        self.journal.database_replaced(database, None)
        self._origin.pop(database, None)
        if self.registry.pop(database, None) is not None:
            self._save_registry()
        return {"database": database}

    async def handle(self, request: dict[str, Any]) -> dict[str, Any]:
        op = request.get("op")
        if op == "status":
            return {
                "ready": self.ready.is_set(),
                "listening": True,
                "pid": os.getpid(),
                "recovering": self.recovery.pending(),
                "authorization": "enabled" if self.security.enabled else "disabled",
                "databases": self.databases() if self.ready.is_set() else [],
            }
        await self.ready.wait()
        if op == "restore":
            return await self.restore(request["database"], request["snapshot"])
        if op == "drop":
            return await self.drop(request["database"])
        if op == "snapshots":
            return {"snapshots": self.snapshots.names()}
        if op == "workspaces":
            return {"workspaces": dict(self.registry)}
        if op == "security":
            return self.security.set_enabled(request["authorization"] == "enabled")
        if op == "settle":
            await self.recovery.settle_all()
            return {"databases": self.databases()}
        raise ValueError(f"unknown control op {op!r}")

    def databases(self) -> list[str]:
        from dbdojo.mongo.emulator import memstate

        return memstate.database_names(self.engine)

    # --- persistence across restarts ---------------------------------------------------

    def unchanged(self, database: str) -> bool:
        """Whether ``database`` still equals the snapshot it was restored from (by identity of
        the engine's persistent roots: any write replaces them)."""
        from dbdojo.mongo.emulator import memstate

        origin = self._origin.get(database)
        if origin is None:
            return False
        now = memstate.capture(self.engine, database)
        return _same_roots(now, origin)

    def save_changed(self, keep: Iterable[str] = ()) -> None:
        """Save every database that differs from its snapshot, then mark the save complete.

        ``keep``: databases saved by an earlier run and not recovered yet; their images stay.
        """
        from dbdojo.mongo.emulator import memstate

        kept = set(keep)
        self.saved_dir.mkdir(exist_ok=True)
        (self.saved_dir / CLEAN_MARKER).unlink(missing_ok=True)
        for old in self.saved_dir.glob("*.image"):
            if old.name.removesuffix(".image") not in kept:
                old.unlink()
        saved = sorted(kept)
        for database in self.databases():
            if database in kept or self.unchanged(database):
                continue
            image = memstate.capture(self.engine, database)
            write_atomic(self.saved_dir / f"{database}.image", memstate.dumps(image))
            saved.append(database)
        write_atomic(self.saved_dir / CLEAN_MARKER, json.dumps(saved).encode())


class Recovery:
    """Brings back the databases of the last run (see the module docstring) in the background.

    A database saved on a clean stop comes back from its image, every other recorded workspace
    from its snapshot. One background task goes through them in order; a request for a database
    not recovered yet recovers that one first and waits for it.
    """

    def __init__(self, emulator: Emulator) -> None:
        self.emulator = emulator
        # database -> snapshot (None: its saved image, "": nothing), then its journal replayed
        self.plan: dict[str, str | None] = {}
        self.replay: dict[str, list[dict[str, Any]]] = {}
        self.tasks: dict[str, asyncio.Task[None]] = {}
        self.background: asyncio.Task[None] | None = None

    def start(self) -> None:
        emulator = self.emulator
        marker = emulator.saved_dir / CLEAN_MARKER
        clean = marker.exists()
        saved: list[str] = json.loads(marker.read_text()) if clean else []
        marker.unlink(missing_ok=True)  # a crash from here on: snapshots and the journal
        self.plan = {database: None for database in saved}
        for database, snapshot in sorted(emulator.registry.items()):
            self.plan.setdefault(database, snapshot)
        entries = mongo_journal.since_last_restore(mongo_journal.read(emulator.journal.path))
        if not clean:  # a crash: the saved images are older than the journal's writes
            self.plan = {db: snapshot for db, snapshot in emulator.registry.items()}
            for entry in entries:
                self.replay.setdefault(entry["db"], []).append(entry)
                self.plan.setdefault(entry["db"], "")
        emulator.journal.open(entries)
        self.background = asyncio.create_task(self._run_all())

    async def _run_all(self) -> None:
        began = time.monotonic()
        for database in list(self.plan):
            task = self.ensure(database)
            if task is not None:
                await asyncio.wait([task])
        log(f"recovered {len(self.plan)} databases in {time.monotonic() - began:.2f} s")

    def ensure(self, database: str) -> asyncio.Task[None] | None:
        """The task recovering ``database`` (started now if need be); None if nothing to do."""
        if database not in self.plan:
            return None
        if database not in self.tasks:
            self.tasks[database] = asyncio.create_task(self._recover(database))
        return self.tasks[database]

    async def _recover(self, database: str) -> None:
        from dbdojo.mongo.emulator import memstate

        emulator, snapshot = self.emulator, self.plan[database]
        try:
            if snapshot is None:
                path = emulator.saved_dir / f"{database}.image"
                data = await asyncio.to_thread(path.read_bytes)
                image = await asyncio.to_thread(memstate.loads, data)
                memstate.settle()
                await memstate.install(emulator.engine, database, image)
                emulator.warm(image)
            elif snapshot:
                await emulator._install_snapshot(database, snapshot)
            await self._replay(database)
        except (MissingSnapshot, ValueError, OSError) as exc:
            log(f"cannot recover {database}: {exc}")

    async def _replay(self, database: str) -> None:
        """Apply the journal's writes to ``database`` (after a crash), in their order."""
        emulator, entries = self.emulator, self.replay.get(database, [])
        assert emulator.run_command is not None or not entries
        for entry in entries:
            if entry["t"] == "restore":
                await emulator._install_snapshot(database, entry["snapshot"])
            elif entry["t"] == "drop":
                await emulator.engine.drop_database(database)
                emulator.registry.pop(database, None)
            else:
                assert emulator.run_command is not None
                reply = await emulator.run_command(database, entry["cmd"])
                if reply.get("ok") != 1:
                    log(f"replaying a write on {database} failed: {reply.get('errmsg')}")
        if entries:
            log(f"replayed {len(entries)} journaled writes on {database}")

    def pending(self) -> list[str]:
        return [db for db in self.plan if db not in self.tasks or not self.tasks[db].done()]

    def unrecovered_images(self) -> list[str]:
        """Saved databases whose image has not been installed (kept on disk at stop)."""
        return [db for db in self.pending() if self.plan[db] is None]

    async def settle(self, database: str) -> None:
        """Wait until ``database`` is recovered (at once if it never needed to be)."""
        if (task := self.ensure(database)) is not None:
            await asyncio.wait([task])

    async def settle_all(self) -> None:
        for database in list(self.plan):
            await self.settle(database)

    async def before_request(self, database: str, command: str) -> None:
        """Hold a wire request until the databases it reads are recovered."""
        if command in HANDSHAKE_COMMANDS:
            return
        if database == "admin" or command == "listDatabases":
            await self.settle_all()
        else:
            await self.settle(database)

    async def cancel(self) -> None:
        """Stop recovering (at shutdown); what was not recovered is recovered next time."""
        running = [t for t in (self.background, *self.tasks.values()) if t and not t.done()]
        for task in running:
            task.cancel()
        await asyncio.gather(*running, return_exceptions=True)


HANDSHAKE_COMMANDS = frozenset(
    {
        "hello",
        "isMaster",
        "ismaster",
        "ping",
        "buildInfo",
        "buildinfo",
        "endSessions",
        "saslStart",
        "saslContinue",
        "getParameter",
        "whatsmyuri",
        "connectionStatus",
    }
)


def _memory_engine_class() -> type:
    from mongoeco.engines.memory import MemoryEngine

    from dbdojo.mongo.emulator.costs import patch_costs

    patch_costs()
    return MemoryEngine


def _same_roots(now: memstate.Image, origin: memstate.Image) -> bool:
    if set(now["_storage"]) != set(origin["_storage"]):
        return False
    for coll, docs in now["_storage"].items():
        if docs._snapshot_state()[0] is not origin["_storage"][coll]._snapshot_state()[0]:
            return False
    for coll, per_index in now["_index_data"].items():
        before = origin["_index_data"].get(coll, {})
        if set(per_index) != set(before):
            return False
    return (
        now["_indexes"] == origin["_indexes"]
        and now["_collection_options"] == origin["_collection_options"]
        and now["_collections"] == origin["_collections"]
    )


def _write_private(path: Path, data: bytes) -> None:
    write_atomic(path, data, 0o600)


def log(message: str) -> None:
    print(f"{time.strftime('%Y-%m-%d %H:%M:%S')} mongo-emulator: {message}", flush=True)


async def _serve_control(emulator: Emulator, path: Path) -> asyncio.Server:
    async def on_client(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(ConnectionError):
            while line := await reader.readline():
                try:
                    reply = {"ok": True, **await emulator.handle(json.loads(line))}
                except Exception as exc:
                    reply = {"ok": False, "error": str(exc), "type": type(exc).__name__}
                writer.write(json.dumps(reply).encode() + b"\n")
                await writer.drain()
        writer.close()

    path.unlink(missing_ok=True)
    server = await asyncio.start_unix_server(on_client, path=str(path), limit=1 << 20)
    os.chmod(path, 0o666)  # the kit may run as root or as the server user
    return server


async def serve(port: int, home: Path, auth: bool = False) -> None:
    # Listen first (a taken port fails here, fast), answer the kit's control socket, then
    # import mongoeco and serve; clients that connect meanwhile wait in the listen backlog.
    try:
        listener = socket.create_server(("127.0.0.1", port), backlog=128)
    except OSError as exc:
        log(f"could not bind 127.0.0.1:{port}: {exc.strerror} (Address already in use?)")
        raise SystemExit(1) from exc
    started = time.monotonic()
    emulator = Emulator(home, auth)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    wire = mongo_wire.Listener(listener, emulator.ready)
    control = await _serve_control(emulator, home / CONTROL_SOCKET)
    await wire.start()
    log(f"listening on 127.0.0.1:{port} (pid {os.getpid()}), loading the engine")
    opening = asyncio.create_task(emulator.open())
    await asyncio.wait([opening, asyncio.create_task(stop.wait())], return_when="FIRST_COMPLETED")
    if not opening.done():  # stopped while starting: nothing was touched yet
        opening.cancel()
        control.close()
        wire.close()
        (home / CONTROL_SOCKET).unlink(missing_ok=True)
        log("stopped before the engine was ready")
        return
    opening.result()
    async with mongo_wire.serving(
        wire,
        emulator.engine,
        emulator.recovery.before_request,
        emulator.journal,
        emulator.security,
    ) as run_command:
        emulator.run_command = run_command
        emulator.recovery.start()
        syncing = asyncio.create_task(emulator.journal.sync_forever())
        log(
            f"ready on 127.0.0.1:{port} in {time.monotonic() - started:.2f} s, recovering "
            f"{len(emulator.recovery.plan)} databases in the background"
        )
        await stop.wait()
        log("stopping: saving changed databases")
        control.close()
        wire.close()
        await emulator.recovery.cancel()
        syncing.cancel()
        emulator.journal.close()
        emulator.save_changed(keep=emulator.recovery.unrecovered_images())
    (home / CONTROL_SOCKET).unlink(missing_ok=True)
    log("stopped")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--home", type=Path, required=True)
    parser.add_argument(
        "--auth", action="store_true", help="require authentication and authorize by roles"
    )
    args = parser.parse_args(argv)
    home = args.home.resolve()
    home.mkdir(parents=True, exist_ok=True)
    # One emulator per home: a second one would share the control socket and snapshot files.
    with open(home / "emulator.lock", "w") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            sys.exit(f"another MongoDB emulator already serves {home}; stop it with `dojo down`")
        asyncio.run(serve(args.port, home, args.auth))


if __name__ == "__main__":
    main()
