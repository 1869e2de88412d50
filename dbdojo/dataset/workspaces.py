"""Reset a workspace to the seeded state: clone PostgreSQL's template, restore the snapshots."""

from __future__ import annotations

from collections.abc import Iterable

from rich.console import Console

from dbdojo.connect import NotSeeded
from dbdojo.dataset import pg
from dbdojo.settings import SERVICES
from dbdojo.workspace import MAIN, Workspace, current

# A notebook's dojo.reset() leaves MariaDB's copy alone (it takes seconds: X3 resets its own);
# `dojo reset` resets a workspace's copy too, where it has one (X3 makes it on first use).
WITH_MYSQL = SERVICES
WITHOUT_MYSQL = tuple(s for s in SERVICES if s != "mysql")
EDGE_PREFIX = "edge_"


def mongo_snapshot_name(dataset: str = MAIN) -> str:
    """The MongoDB snapshot of a dataset: ``dojo`` for the main one, else the variant name."""
    return "dojo" if dataset == MAIN else dataset


def dataset_of(ws: Workspace) -> str:
    """Which dataset a workspace is a copy of: its edge variant, else the main dataset."""
    return ws.name if ws.name.startswith(EDGE_PREFIX) else MAIN


def reset(
    ws: Workspace | str | None = None,
    services: Iterable[str] = WITHOUT_MYSQL,
    source: str | None = None,
) -> Workspace:
    """Make the workspace (default: the current one) an exact copy of the seeded data
    (PostgreSQL: a copy of ``source``, by default the dataset's template).

    Creating a workspace either completes or leaves nothing behind: its Redis database is
    claimed first (the scarce part), and if a later step fails everything made is dropped."""
    ws = Workspace(ws) if isinstance(ws, str) else ws or current()
    services = list(services)
    fresh = ws.name != MAIN and not _exists(ws)
    try:
        if "redis" in services:
            _ = ws.redis_db  # NoRoomForWorkspace before anything is copied
        _reset(ws, services, source)
    except BaseException:
        if fresh:
            _roll_back(ws)
        raise
    return ws


def _exists(ws: Workspace) -> bool:
    from dbdojo.workspace import allocated

    with pg.admin() as conn:
        return pg.exists(conn, ws.database) or ws.name in allocated()


def _roll_back(ws: Workspace) -> None:
    """Drop what a failed creation of ``ws`` made (copies, spare, snapshots, Redis database)."""
    from dbdojo.dataset import disk

    try:
        disk.drop(ws)
    except Exception as exc:  # the original failure is the one to report
        Console(stderr=True).print(f"[yellow]could not drop the half-made {ws.name}:[/] {exc}")


def _reset(ws: Workspace, services: list[str], source: str | None = None) -> None:
    dataset = dataset_of(ws)
    if "postgres" in services:
        with pg.admin() as conn:
            template = source or pg.template_name(dataset)
            if not pg.exists(conn, template):
                raise NotSeeded(f"PostgreSQL has no {template} database yet: run `dojo seed`.")
            pg.reset_database(conn, template, ws.database)
    if "redis" in services:
        from dbdojo.dataset import redis_store

        redis_store.restore(ws, dataset)
    if "mongo" in services:
        reset_mongo(ws, dataset)
    if "mysql" in services:  # MariaDB's copy, if X3 made one
        from dbdojo.dataset import mysql_data

        mysql_data.reset(ws, only_existing=True)


def reset_mongo(ws: Workspace, dataset: str) -> None:
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
        found.append(Workspace.of_database(name))
    return sorted(found, key=lambda w: w.name)
