"""The classroom service's check workers: learners' checks in parallel, each learner's in turn.

A worker is a process of its own (the checker's connection caches and the sandbox's signal
handling are per process, not thread-safe). A learner's check goes to the worker that served
them last if it is idle (their connections are still open there), else to any idle worker;
with none idle it waits. The service keeps one learner's checks (and a reset of their
workspace) one at a time with a lock per learner (:class:`LearnerLocks`).
"""

from __future__ import annotations

import multiprocessing
import os
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from typing import Any, TypeVar

from dbdojo.env import value as env_value

WORKERS_ENV = "DOJO_CLASSROOM_CHECK_WORKERS"
MAX_WORKERS = 4
KEEP = 20  # learners whose checker connections the workers keep open between checks, in all

T = TypeVar("T")


def default_count() -> int:
    """``DOJO_CLASSROOM_CHECK_WORKERS`` if set, else one per core, between 2 and 4."""
    configured = (env_value(WORKERS_ENV) or "").strip()
    if configured:
        return max(1, int(configured))
    return min(MAX_WORKERS, max(2, os.cpu_count() or 1))


class LearnerLocks:
    """One lock per learner: their checks and resets one at a time."""

    def __init__(self) -> None:
        self._locks: dict[str, threading.Lock] = {}
        self._guard = threading.Lock()

    def __call__(self, name: str) -> threading.Lock:
        with self._guard:
            return self._locks.setdefault(name, threading.Lock())


class Workers:
    """``count`` single-process workers, handed out per learner (see the module docstring)."""

    def __init__(self, count: int) -> None:
        self.keep = max(2, KEEP // count)  # per worker: 2 x KEEP PostgreSQL connections in all
        context = multiprocessing.get_context("spawn")  # the service has threads: no fork
        self.pools = [
            ProcessPoolExecutor(1, mp_context=context, initializer=exit_with_parent)
            for _ in range(count)
        ]
        self._idle = set(range(count))
        self._last: dict[str, int] = {}
        self._free = threading.Condition()

    def run(self, learner: str, fn: Callable[..., T], *args: Any) -> T:
        """``fn(*args)`` in a worker for ``learner`` (waits for an idle one)."""
        with self._free:
            self._free.wait_for(lambda: bool(self._idle))
            last = self._last.get(learner)
            index = last if last in self._idle else min(self._idle)
            self._idle.remove(index)
            self._last[learner] = index
        try:
            return self.pools[index].submit(fn, *args).result()
        finally:
            with self._free:
                self._idle.add(index)
                self._free.notify()

    def close(self) -> None:
        for pool in self.pools:
            pool.shutdown(wait=False, cancel_futures=True)


# --- inside a worker ----------------------------------------------------------------------


def exit_with_parent(poll: float = 1.0) -> None:
    """End this worker when the service that started it is gone: ``dojo classroom down``
    stops the service with SIGTERM, which leaves no time to shut the pools down, and an
    orphaned worker would wait for work forever (and hold its connections)."""
    parent = os.getppid()

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(poll)
        os._exit(0)

    threading.Thread(target=watch, name="dojo-exit-with-parent", daemon=True).start()


_recent: OrderedDict[str, Any] = OrderedDict()
_exercises: dict[str, Any] = {}


def check(workspace: str, exercise_id: str, answer: str, keep: int = KEEP) -> Any:
    """Check ``answer`` to ``exercise_id`` on ``workspace`` (in a worker); the Verdict.
    ``keep``: how many learners' connections this worker keeps."""
    from dbdojo.checking import discovery
    from dbdojo.checking.engine import Checker
    from dbdojo.workspace import Workspace

    if not _exercises:
        _exercises.update({ex.id: ex for ex in discovery.exercises()})
    ws = Workspace(workspace)
    verdict = Checker(workspace=ws).check(_exercises[exercise_id], answer)
    _keep_connections(ws, keep)
    return verdict


def _keep_connections(ws: Any, keep: int) -> None:
    """Keep the checker's connections (two per learner) of the last ``keep`` learners this
    worker checked: a learner trying again is served at once, and a class does not hold 2 of
    PostgreSQL's connections per learner."""
    from dbdojo.checking import connections

    _recent[ws.name] = ws
    _recent.move_to_end(ws.name)
    while len(_recent) > keep:
        _, oldest = _recent.popitem(last=False)
        connections.discard_pg(oldest)
