"""The MongoDB snapshot built in a child process while PostgreSQL, MariaDB and Redis load.

Building the emulator's snapshot is pure Python (mongoeco in-process) and was the longest phase
of a seed, after PostgreSQL's, whose work happens in the server's processes. A forked child
(the generated data shared copy-on-write, never pickled) inserts the documents meanwhile; it
waits for the dataset's metadata (whose checksum PostgreSQL's COPY computes) before it writes
``dataset_info`` and saves the snapshot, so a seed that fails before the end saves nothing.
Where ``fork`` is not available the snapshot is built in this process, after the others.
"""

from __future__ import annotations

import multiprocessing
import threading
import traceback
from collections.abc import Callable
from multiprocessing.connection import Connection
from typing import Any

from dbdojo.dataset.generate import Dataset

JOIN_SECONDS = 30  # for the child to exit once it has answered
FORK = True  # False: build in this process after the others (benchmarks/bench_seed.py compares)


class Unsupported(Exception):
    """The MongoDB backend cannot hold snapshots (the message says why)."""


def build(data: Dataset, name: str, meta: Callable[[], dict[str, str]]) -> None:
    """Build and save snapshot ``name`` of ``data``; ``meta()`` gives the metadata to record."""
    from dbdojo.dataset import mongo_data
    from dbdojo.mongo import snapshots as mongo_snapshots

    try:
        mongo_snapshots.build_snapshot(name, mongo_data.builder(data, meta))
    except mongo_snapshots.SnapshotsUnsupported as exc:
        raise Unsupported(str(exc)) from exc


def _child(data: Dataset, name: str, conn: Connection) -> None:
    def meta() -> dict[str, str]:
        given = conn.recv()
        if given is None:  # the seed failed: save nothing
            raise SystemExit(0)
        return given

    try:
        build(data, name, meta)
        conn.send(("ok", ""))
    except Unsupported as exc:
        conn.send(("unsupported", str(exc)))
    except Exception:
        conn.send(("error", traceback.format_exc()))


class Job:
    """Snapshot ``name`` of ``data`` being built: in a child process when ``fork`` exists
    (start it before any thread), else in :meth:`finish`."""

    def __init__(self, data: Dataset, name: str) -> None:
        self.data, self.name = data, name
        self.process: Any = None
        self.conn: Connection | None = None
        forkable = "fork" in multiprocessing.get_all_start_methods()
        if FORK and forkable and threading.active_count() == 1:
            parent, child = multiprocessing.Pipe()
            context = multiprocessing.get_context("fork")
            self.process = context.Process(
                target=_child, args=(data, name, child), name="dojo-mongo-snapshot", daemon=True
            )
            self.process.start()
            child.close()
            self.conn = parent

    def finish(self, meta: dict[str, str]) -> None:
        """Record ``meta`` and wait for the snapshot to be saved. Raises Unsupported, or
        RuntimeError with the child's traceback."""
        if self.conn is None:
            build(self.data, self.name, lambda: meta)
            return
        self.conn.send(meta)
        try:
            status, detail = self.conn.recv()
        except EOFError:
            status, detail = "error", f"the process building it exited ({self.process.exitcode})"
        self.process.join(JOIN_SECONDS)
        self.conn.close()
        self.conn = None
        if status == "unsupported":
            raise Unsupported(detail)
        if status != "ok":
            raise RuntimeError(f"building the MongoDB snapshot failed:\n{detail}")

    def cancel(self) -> None:
        """Stop a child that has not finished (the seed failed): killed at any point, it leaves
        the previous snapshot as it was."""
        if self.conn is None:
            return
        self.process.kill()
        self.process.join()
        self.conn.close()
        self.conn = None
