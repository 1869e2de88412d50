"""Reset a workspace to the seeded state: clone PostgreSQL's template, restore the snapshots."""

from __future__ import annotations

from collections.abc import Iterable

from rich.console import Console

from dbdojo.connect import NotSeeded
from dbdojo.dataset import pg
from dbdojo.workspace import Workspace, current

SERVICES = ("postgres", "mongo", "redis")
# `dojo reset` and `dojo seed` also reset MariaDB's copy (lesson X3), where a server is
# configured; a notebook's dojo.reset() does not (it takes a minute: X3 resets its own).
WITH_MYSQL = (*SERVICES, "mysql")
EDGE_PREFIX = "edge_"


def dataset_of(ws: Workspace) -> str:
    """Which dataset a workspace is a copy of: its edge variant, else the main dataset."""
    return ws.name if ws.name.startswith(EDGE_PREFIX) else "main"


def reset(ws: Workspace | str | None = None, services: Iterable[str] = SERVICES) -> Workspace:
    """Make the workspace (default: the current one) an exact copy of the seeded data."""
    ws = Workspace(ws) if isinstance(ws, str) else ws or current()
    dataset = dataset_of(ws)
    services = list(services)
    if "postgres" in services:
        with pg.admin() as conn:
            template = pg.template_name(dataset)
            if not pg.exists(conn, template):
                raise NotSeeded(f"PostgreSQL has no {template} database yet: run `dojo seed`.")
            pg.reset_database(conn, template, ws.database)
    if "redis" in services:
        from dbdojo.dataset import redis_store

        redis_store.restore(ws, dataset)
    if "mongo" in services:
        reset_mongo(ws, dataset)
    if "mysql" in services:  # MariaDB's copy: the main workspace's, or one X3 already made
        from dbdojo.dataset import mysql_data

        mysql_data.reset(ws, only_existing=ws.name != "main")
    return ws


def reset_mongo(ws: Workspace, dataset: str) -> None:
    from dbdojo.dataset.seeding import mongo_snapshot_name
    from dbdojo.mongo import snapshots as mongo_snapshots

    try:
        mongo_snapshots.restore(ws, mongo_snapshot_name(dataset))
    except mongo_snapshots.SnapshotsUnsupported as exc:  # PostgreSQL and Redis still reset
        Console(stderr=True).print(f"[yellow]MongoDB not reset:[/] {exc}")


def workspaces() -> list[Workspace]:
    """Every workspace that has a PostgreSQL database on the server."""
    with pg.admin() as conn:
        names = [
            r[0]
            for r in conn.execute("SELECT datname FROM pg_database WHERE datname ~ '^dojo(_|$)'")
        ]
    found = []
    for name in names:
        if name.startswith(("dojo_template", "dojo_build")) or name.endswith(
            ("_new", "_old", "_spare")
        ):
            continue
        found.append(Workspace("main" if name == "dojo" else name.removeprefix("dojo_")))
    return sorted(found, key=lambda w: w.name)
