"""What running notebooks under the tests needs: the checkout's servers up and seeded (once,
under a file lock shared by the xdist workers), one workspace per worker, reset before each
notebook, and the environment the kernels inherit (``DOJO_WORKSPACE``, ``DOJO_STRICT=1``).
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import IO

from dbdojo.errors import DojoError
from dbdojo.paths import state_dir
from dbdojo.settings import STRICT_ENV, WORKSPACE_ENV, WORKSPACE_SUFFIX_ENV
from dbdojo.workspace import Workspace

LOCK_FILE = "notebook-tests.lock"
MAX_SESSIONS = 8
_ready: set[str] = set()
_slot: tuple[Workspace, IO[str]] | None = None


class NotReady(DojoError, RuntimeError):
    """The servers could not be started or seeded for the notebook runs."""


def worker() -> str:
    """The xdist worker id (``gw0``…), or ``solo`` without xdist."""
    return os.environ.get("PYTEST_XDIST_WORKER", "solo")


def worker_workspace() -> Workspace:
    """The workspace this test worker runs notebooks in: ``nb_gw0`` and so on.

    Two test sessions may run at once in one checkout: each worker holds a lock on its
    workspace for its lifetime (released by the OS even after kill -9), and a second session's
    worker takes the next free one (``nb_gw0_2``...), so their resets never collide.
    """
    global _slot
    if _slot is None:
        for n in range(1, MAX_SESSIONS + 1):
            name = f"nb_{worker()}" + ("" if n == 1 else f"_{n}")
            handle = open(state_dir() / f"{name}.lock", "w")  # noqa: SIM115 (held until exit)
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                handle.close()
                continue
            _slot = (Workspace(name), handle)
            break
        else:
            raise NotReady(f"{MAX_SESSIONS} notebook test sessions already run in this checkout")
    return _slot[0]


def kernel_env(ws: Workspace) -> dict[str, str]:
    """Variables a notebook kernel needs under the tests (added to the base environment)."""
    return {
        WORKSPACE_ENV: ws.name,
        STRICT_ENV: "1",
        WORKSPACE_SUFFIX_ENV: f"_{ws.name}",  # dojo.use_workspace("x") -> x_nb_gw0
    }


@contextmanager
def environ(values: Mapping[str, str]) -> Iterator[None]:
    """Temporarily make ``os.environ`` exactly ``values`` (a kernel inherits it at start)."""
    saved = dict(os.environ)
    os.environ.clear()
    os.environ.update(values)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


@contextmanager
def _exclusive(name: str) -> Iterator[None]:
    with open(state_dir() / name, "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        yield


def ensure_servers() -> None:
    """Start this checkout's servers (``dojo up``), reusing what already runs."""
    if "servers" in _ready:
        return
    from dbdojo.services import manager

    with _exclusive(LOCK_FILE):
        failed = [o for o in manager.up(wait=True) if not o.ok]
    if failed:
        reasons = "; ".join(f"{o.service}: {o.action} ({o.detail})" for o in failed)
        raise NotReady(f"the notebook tests need all three databases: {reasons} (`dojo doctor`)")
    _ready.add("servers")


def ensure_seeded() -> None:
    """Servers up and the dataset seeded at the default scale (learners' scale), once."""
    if "seeded" in _ready:
        return
    ensure_servers()
    from dbdojo.dataset import ensure_seeded as seed_if_needed

    with _exclusive(LOCK_FILE):
        seed_if_needed("default")  # the learners' scale: stored outputs assume it
    _ready.add("seeded")


def drop_worker_workspace() -> list[str]:
    """Drop this worker's notebook workspace, if it took one (its next run resets it before
    its first notebook anyway, so it only held disk between runs); what was dropped."""
    if _slot is None or "seeded" not in _ready:
        return []
    from dbdojo.dataset import disk

    return disk.drop(_slot[0])


def fresh_workspace(ws: Workspace) -> None:
    """Restore ``ws`` to the seeded data in all three databases."""
    ensure_seeded()
    from dbdojo.dataset import reset

    reset(ws)
