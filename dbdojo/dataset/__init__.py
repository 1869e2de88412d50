"""The course dataset: a last-mile delivery marketplace in PostgreSQL, MongoDB and Redis.

``seeding.seed()`` generates and loads it (``dojo seed``), ``reset()`` puts a workspace back
to the seeded state (``dojo reset``; ``dbdojo.dataset.reset()`` in a notebook),
``ensure_seeded()`` seeds when nothing is, ``edge_workspaces()`` /
``ensure_edge_variants()`` give the answer checker its edge-case datasets. The data
dictionary is ``datasets/README.md``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from dbdojo.workspace import Workspace

__all__ = ["edge_workspaces", "ensure_edge_variants", "ensure_seeded", "reset"]


def ensure_seeded(scale: str | None = None) -> dict[str, str]:
    from dbdojo.dataset.seeding import ensure_seeded as _ensure

    return _ensure(scale)


def reset(ws: Workspace | str | None = None) -> Workspace:
    """Reset the workspace (default: the current one) in PostgreSQL, MongoDB and Redis."""
    from dbdojo.dataset.workspaces import reset as _reset

    return _reset(ws)


def edge_workspaces() -> list[Workspace]:
    from dbdojo.dataset.edge_names import edge_workspaces as _edge

    return _edge()


def ensure_edge_variants() -> list[Workspace]:
    from dbdojo.dataset.seeding import ensure_edge_variants as _ensure
    from dbdojo.dataset.seeding import seed_lock

    with seed_lock():  # it builds as a seed does: not while one runs
        return _ensure()
