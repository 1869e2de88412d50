"""A dataset's MongoDB snapshot, built in a forked child while the seed loads the other servers.

The build is Python work of its own (documents made from the generated columns, stored into
an in-memory engine, saved; or sent to a real MongoDB): run after PostgreSQL, MariaDB and Redis
it added its whole time to the seed; beside them it uses the machine's other core. The child
is forked, so it shares the generated dataset with the parent instead of regenerating it.

The snapshot records the dataset's checksum, known only once PostgreSQL's COPY has encoded
every row: the child builds everything else, then waits for the metadata (:meth:`finish`).
Where ``fork`` is unavailable or unsafe (macOS), the build runs in the parent at
:meth:`finish`, as it did before.
"""

from __future__ import annotations

import multiprocessing
import sys
import warnings
from collections.abc import Callable
from multiprocessing.connection import Connection
from typing import Any

from dbdojo.dataset.generate import Dataset
from dbdojo.dataset.workspaces import mongo_snapshot_name


def forking() -> bool:
    """Whether the build runs in a forked child here."""
    return sys.platform == "linux" and "fork" in multiprocessing.get_all_start_methods()


def _build(data: Dataset, dataset: str, meta: Callable[[], dict[str, str]]) -> None:
    from dbdojo.dataset import mongo_data
    from dbdojo.mongo import snapshots

    snapshots.build_snapshot(mongo_snapshot_name(dataset), mongo_data.builder(data, meta))


def _child(data: Dataset, dataset: str, meta_in: Connection, result_out: Connection) -> None:
    from dbdojo.mongo.snapshots import SnapshotsUnsupported

    try:
        _build(data, dataset, meta_in.recv)
        result_out.send(("ok", ""))
    except SnapshotsUnsupported as exc:
        result_out.send(("unsupported", str(exc)))
    except EOFError:  # the parent went away before sending the metadata
        result_out.send(("cancelled", ""))
    except BaseException as exc:  # reported to the parent, which raises it
        result_out.send(("error", f"{type(exc).__name__}: {exc}"))


class MongoBuild:
    """The MongoDB snapshot of ``data`` for ``dataset``, under way from construction."""

    def __init__(self, data: Dataset, dataset: str) -> None:
        self.data, self.dataset = data, dataset
        self._process: Any = None
        if not forking():
            return
        context = multiprocessing.get_context("fork")
        meta_in, self._meta_out = context.Pipe(duplex=False)
        self._result_in, result_out = context.Pipe(duplex=False)
        self._process = context.Process(
            target=_child,
            args=(data, dataset, meta_in, result_out),
            name=f"dojo-mongo-snapshot-{dataset}",
            daemon=True,
        )
        with warnings.catch_warnings():
            # "multi-threaded, use of fork() may lead to deadlocks": the child takes no lock
            # another thread may hold (no logging, no output, no client of the parent's)
            warnings.filterwarnings(
                "ignore", "This process .* is multi-threaded", DeprecationWarning
            )
            self._process.start()
        meta_in.close()  # the child's ends: a child that dies then reads as EOF here
        result_out.close()

    def finish(self, meta: dict[str, str]) -> str | None:
        """Record ``meta`` in the snapshot and wait for it: None when built, the reason when
        this MongoDB cannot hold snapshots; raises RuntimeError if the build failed."""
        from dbdojo.mongo.snapshots import SnapshotsUnsupported

        if self._process is None:
            try:
                _build(self.data, self.dataset, lambda: meta)
            except SnapshotsUnsupported as exc:
                return str(exc)
            return None
        try:
            self._meta_out.send(meta)
            outcome, message = self._result_in.recv()
        except (EOFError, BrokenPipeError):
            outcome, message = "error", "the build process ended without a word"
        finally:
            self.cancel()
        if outcome == "ok":
            return None
        if outcome == "unsupported":
            return message
        raise RuntimeError(f"MongoDB snapshot of {self.dataset}: {message}")

    def cancel(self) -> None:
        """Stop the child (if it still runs) and release its pipes; idempotent."""
        if self._process is None:
            return
        process, self._process = self._process, None
        self._meta_out.close()  # a child still waiting for the metadata reads EOF and ends
        process.join(timeout=5)
        if process.is_alive():
            process.kill()
            process.join()
        self._result_in.close()
