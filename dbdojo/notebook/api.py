"""``dojo.reset()`` and ``dojo.use_workspace()``: the notebook's handle on its workspace."""

from __future__ import annotations

import os

from dbdojo import settings
from dbdojo.notebook.session import session
from dbdojo.workspace import Workspace, current


def _reset_data(ws: Workspace) -> None:
    from dbdojo.dataset import reset as reset_dataset

    reset_dataset(ws)


def reset() -> None:
    """Restore the current workspace's three databases to the seeded data and reconnect."""
    ws = current()
    active = session()
    if active is not None:
        active.close()
    _reset_data(ws)
    print("Your workspace is back to the seeded data (PostgreSQL, MongoDB, Redis).")
    if active is not None:
        active.connect(ws)


def use_workspace(name: str, fresh: bool = True) -> Workspace:
    """Switch this notebook (``%sql``, ``pg``, ``db``, ``r``) to workspace ``name``.

    ``fresh`` first restores it to the seeded data, so the notebook starts from a known state.
    """
    ws = Workspace(name + settings.workspace_suffix())
    active = session()
    if active is not None:
        active.close()
    if fresh:
        _reset_data(ws)
    os.environ[settings.WORKSPACE_ENV] = ws.name  # current(), and the processes it starts
    state = "a fresh copy of the dataset" if fresh else "its data as you left it"
    print(f"Using workspace {name}: {state}.")
    if active is not None:
        active.connect(ws)
    return ws
