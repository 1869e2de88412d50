"""The names of the dataset's edge-case variants and their workspaces, without generating
anything: the checker lists them at every check (importing the generator costs a second)."""

from __future__ import annotations

from dbdojo.workspace import Workspace

VARIANTS = ("nulls", "ties", "duplicates", "empty", "unicode", "dst", "cycles")


def edge_workspaces() -> list[Workspace]:
    """The checker's edge-case workspaces, one per variant."""
    return [Workspace(f"edge_{name}") for name in VARIANTS]
