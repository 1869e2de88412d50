"""Which seeded dataset a workspace holds, as far as stored digests care: a student build's
expected results are only valid on the same scale, seed and generator version."""

from __future__ import annotations

from typing import Any

from dbdojo.checking.model import MONGO_KINDS, SQL_KINDS
from dbdojo.workspace import Workspace

FIELDS = ("scale", "seed", "generator_version")
BUILD_SCALE = "default"


def identity(kind: str, ws: Workspace) -> dict[str, str] | None:
    """``{scale, seed, generator_version}`` of the data ``kind`` reads on ``ws``, None when
    the kind reads no dataset or the database holds none."""
    from dbdojo.checking import connections

    meta: dict[str, Any] | None = None
    if kind in SQL_KINDS:
        try:
            rows = connections.pg(ws).execute("SELECT key, value FROM dataset_info").fetchall()
        except Exception:  # no dataset_info table: not a seeded workspace
            return None
        meta = dict(rows)
    elif kind in MONGO_KINDS:
        meta = connections.mongo(ws).dataset_info.find_one({"_id": "dataset"})
    elif kind == "redis":
        from dbdojo.dataset import redis_store

        meta = redis_store.snapshot_meta()
    if not meta:
        return None
    return {f: str(meta.get(f, "")) for f in FIELDS}


def mismatch(kind: str, ws: Workspace, built: dict[str, str]) -> str:
    """Why stored digests built on ``built`` cannot judge ``ws`` ("" when they can)."""
    mine = identity(kind, ws)
    if mine is None or mine == built:
        return ""
    if mine["scale"] != built["scale"]:
        what = f"the {built['scale']!r} scale of the dataset, yours is {mine['scale']!r}"
    else:
        what = f"seed {built['seed']}, generator {built['generator_version']}; yours differs"
    return (
        f"this lab's expected results were computed on {what} (workspace {ws.name!r}), so "
        f"it cannot judge your answer: run `dojo seed --scale {built['scale']} --force`, "
        "then `dojo reset`"
    )
