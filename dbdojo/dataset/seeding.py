"""``dojo seed``: generate the dataset and load it into PostgreSQL, MongoDB and Redis.

Each database gets a *snapshot* built aside and swapped in atomically (PostgreSQL: the template
database; MongoDB: a named snapshot; Redis: a generation in the snapshot database), then the
main workspace is reset from them. A seed killed at any point leaves the previous snapshots
usable; the next seed (or ``ensure_seeded``) redoes the work.

Both also make the checker's edge-case workspaces (``edge_*``, small variants with NULLs, ties,
a region cycle...: :mod:`dbdojo.dataset.edge`), rebuilt only when their inputs change, so a
learner's ``%%check`` runs the edge-case checks the labs promise.
"""

from __future__ import annotations

import contextvars
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future
from contextlib import contextmanager, suppress
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from dbdojo.connect import ServiceDown
from dbdojo.dataset import pg
from dbdojo.dataset.edge import LAYOUT, inputs_of, variant
from dbdojo.dataset.edge_names import edge_workspaces
from dbdojo.dataset.generate import GENERATOR_VERSION, Dataset, generate
from dbdojo.dataset.heartbeat import heartbeat
from dbdojo.dataset.phases import timed
from dbdojo.dataset.scales import DEFAULT_SEED, SCALES, Scale, get_scale
from dbdojo.dataset.workspaces import MAIN, SERVICES, mongo_snapshot_name, reset
from dbdojo.workspace import Workspace


def seeded_meta(dataset: str = MAIN) -> dict[str, str] | None:
    """What PostgreSQL's template holds (scale, seed, checksum, ...), or None."""
    with pg.admin() as conn:
        return pg.template_meta(conn, dataset)


def is_current(meta: dict[str, str] | None, scale: Scale, seed: int) -> bool:
    """Whether ``meta`` records this scale and seed, by this generator, with as many orders
    in MongoDB as the scale now holds there."""
    return bool(
        meta
        and meta.get("scale") == scale.name
        and meta.get("seed") == str(seed)
        and meta.get("generator_version") == GENERATOR_VERSION
        and meta.get("mongo_orders", _mongo_orders(scale)) == _mongo_orders(scale)
    )


def _mongo_orders(scale: Scale) -> str:
    return str(min(scale.mongo_orders, scale.orders))


def load_snapshots(
    data: Dataset,
    dataset: str = MAIN,
    services: Iterable[str] = SERVICES,
    console: Console | None = None,
    layout_sql: str = "",
    **extra: str,
) -> dict[str, str]:
    """Build the snapshots of ``data`` in each service; returns the recorded metadata.
    ``layout_sql``: see :func:`dbdojo.dataset.pg.build_template`.

    Redis's and MongoDB's snapshots are built from ``data`` in a thread beside PostgreSQL's
    and MariaDB's loads: those are the servers' work, the snapshots this process's (the
    recorded checksum, known once PostgreSQL has its rows, is what they wait for)."""
    console = console or Console(stderr=True)
    services = list(services)
    meta = pg.metadata(data, **extra)
    columns = [
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.completed:,.0f}/{task.total:,.0f}"),
        TimeElapsedColumn(),
    ]
    recorded: Future[dict[str, str]] = Future()
    with (
        Progress(
            *columns, console=console, transient=False, disable=not console.is_terminal
        ) as bar,
        heartbeat(bar, console),
    ):
        side = [s for s in ("redis", "mongo") if s in services]
        beside = background(
            load_documents, data, recorded.result, dataset, side, bar, console,
            name="dojo-seed-snapshots",
        )  # fmt: skip
        try:
            if "postgres" in services:
                total = sum(data.rows(t) for t in data.tables)
                task = bar.add_task(f"PostgreSQL {pg.template_name(dataset)}", total=total)

                def report(what: str, rows: int) -> None:
                    bar.update(task, advance=rows, description=f"PostgreSQL: {what}")

                meta = pg.build_template(
                    data, meta, dataset, report, layout_sql, copied=recorded.set_result
                )
            else:
                meta["checksum"] = data.checksum()
                recorded.set_result(meta)
            prefix = "" if dataset == MAIN else f"{dataset}: "
            if "mysql" in services:  # a copy of PostgreSQL's new template
                from dbdojo.dataset import mysql_data

                task = bar.add_task("MariaDB/MySQL copy", total=None)
                with timed(f"{prefix}mysql"):
                    took = (
                        mysql_data.build_template_apart(dataset)
                        if dataset == MAIN  # the edge cases' few rows: here
                        else mysql_data.build_template(dataset)
                    )
                bar.update(task, total=1, completed=1)
                if took is not None and dataset == MAIN:
                    console.print(f"MariaDB/MySQL: the tables copied in {took:.1f} s")
        except BaseException as exc:
            if not recorded.done():  # the snapshots wait for it: they are not made
                recorded.set_exception(exc)
            raise
        with timed(f"{prefix}waiting for the Redis and MongoDB snapshots"):
            beside.result()
    return meta


def background(fn: Callable[..., None], *args: Any, name: str) -> Future[None]:
    """``fn(*args)`` in a daemon thread ``name`` (an interrupted seed does not wait for it),
    its phases recorded with the caller's; the future holds its outcome."""
    outcome: Future[None] = Future()
    context = contextvars.copy_context()

    def run() -> None:
        try:
            outcome.set_result(context.run(fn, *args))
        except BaseException as exc:
            outcome.set_exception(exc)

    threading.Thread(target=run, name=name, daemon=True).start()
    return outcome


def load_documents(
    data: Dataset,
    meta: Callable[[], dict[str, str]],
    dataset: str,
    services: list[str],
    bar: Progress,
    console: Console,
) -> None:
    """Build the Redis and MongoDB snapshots of ``data`` (those in ``services``)."""
    prefix = "" if dataset == MAIN else f"{dataset}: "
    if "redis" in services:
        from dbdojo.dataset import redis_data, redis_store

        with timed(f"{prefix}Redis keys"):
            keys = redis_data.build(data)
        task = bar.add_task("Redis snapshot", total=len(keys.commands))
        info = meta()
        with timed(f"{prefix}Redis snapshot"):
            redis_store.build_snapshot(keys, info, dataset)
        bar.update(task, completed=len(keys.commands))
    if "mongo" in services:
        with timed(f"{prefix}MongoDB snapshot"):
            load_mongo(data, meta, dataset, bar, console)


def load_mongo(
    data: Dataset,
    meta: Callable[[], dict[str, str]],
    dataset: str,
    bar: Progress,
    console: Console,
) -> None:
    from dbdojo.dataset import mongo_data
    from dbdojo.mongo import snapshots as mongo_snapshots

    build = mongo_data.builder(data, meta)
    task = bar.add_task("MongoDB snapshot", total=None)
    try:
        mongo_snapshots.build_snapshot(mongo_snapshot_name(dataset), build)
    except mongo_snapshots.SnapshotsUnsupported as exc:
        console.print(f"[yellow]MongoDB skipped:[/] {exc}")
    bar.update(task, total=1, completed=1)


def snapshots_missing(meta: dict[str, str], dataset: str = MAIN) -> list[str]:
    """The services (besides PostgreSQL) whose snapshot of ``dataset`` is absent or stale."""
    from dbdojo.dataset import redis_store
    from dbdojo.mongo import snapshots as mongo_snapshots

    missing = []
    redis_meta = redis_store.snapshot_meta(dataset)
    if not redis_meta or redis_meta.get("checksum") != meta.get("checksum"):
        missing.append("redis")
    try:
        if mongo_snapshot_name(dataset) not in mongo_snapshots.snapshots():
            missing.append("mongo")
    except mongo_snapshots.SnapshotsUnsupported:
        pass  # nothing can be loaded there; the seed says so
    return missing


def repair_mysql(
    meta: dict[str, str], services: Iterable[str] = SERVICES, dataset: str = MAIN
) -> bool:
    """Copy the seeded data of ``dataset`` into a configured MariaDB/MySQL server that lacks
    it (started after the seed, its data lost, or seeded before edge cases were copied), and
    drop the main workspace's copy of older data there; True if it did."""
    from dbdojo.dataset import mysql_data

    if "mysql" not in services or not mysql_data.configured():
        return False
    if mysql_data.template_checksum(dataset) == meta.get("checksum"):
        return False
    if mysql_data.build_template(dataset) is None:
        return False
    if dataset == MAIN:
        mysql_data.drop(Workspace(MAIN))
    return True


def repair_snapshots(
    meta: dict[str, str],
    dataset: str = MAIN,
    services: Iterable[str] = SERVICES,
    console: Console | None = None,
) -> list[str]:
    """Rebuild the MongoDB and Redis snapshots of ``dataset`` that are missing or stale (a
    lost Redis snapshot database, say) from the same scale and seed as PostgreSQL's template;
    returns the services repaired."""
    missing = [s for s in snapshots_missing(meta, dataset) if s in services]
    if missing:
        if dataset == MAIN:
            data = generate(get_scale(meta["scale"]), int(meta["seed"]))
        else:
            data = variant(dataset.removeprefix("edge_"))
        load_snapshots(data, dataset, missing, console, **_extra(meta))
    return missing


def _extra(meta: dict[str, str]) -> dict[str, str]:
    """The metadata beyond what :func:`pg.metadata` computes (kept when reloading)."""
    return {
        k: v for k, v in meta.items() if k not in ("scale", "seed", "generator_version", "checksum")
    }


@contextmanager
def seed_lock() -> Iterator[None]:
    """One seed at a time per PostgreSQL server (test workers and users share servers); what
    an interrupted seed left behind is removed first (:func:`clear_leftovers`)."""
    with pg.admin() as conn:
        conn.execute("SELECT pg_advisory_lock(hashtext('dbdojo.seed'))")
        clear_leftovers(conn)
        yield


def clear_leftovers(conn) -> list[str]:
    """Drop what an interrupted seed leaves (only under the seed lock): its build databases
    in PostgreSQL, a half-written generation in Redis's snapshot database. Returns what went
    (``dojo workspaces`` counts them meanwhile)."""
    from dbdojo.dataset import redis_store

    gone = []
    for name in pg.build_leftovers(conn):
        pg.drop(conn, name)
        gone.append(f"PostgreSQL {name}")
    with suppress(ServiceDown):
        if strays := redis_store.clear_strays(redis_store.snapshot_client()):
            gone.append(f"{strays} Redis keys")
    return gone


def seed(
    scale: str = "default",
    seed: int = DEFAULT_SEED,
    force: bool = False,
    services: Iterable[str] = SERVICES,
    console: Console | None = None,
) -> dict[str, str]:
    """Seed the main dataset (skipped when the same scale and seed are already seeded, unless
    ``force``), then reset the main workspace from it. Returns the recorded metadata."""
    with seed_lock(), edges_beside(console):
        return _seed(scale, seed, force, services, console)


@contextmanager
def edges_beside(console: Console | None = None) -> Iterator[None]:
    """Make the edge-case workspaces (:func:`ensure_edges`) in a thread meanwhile: their
    small loads keep the servers busy while this process builds the main snapshots."""
    edges = background(ensure_edges, console, name="dojo-seed-edges")
    yield  # an interrupted seed does not wait for them: the next one finishes them
    edges.result()


def ensure_edges(console: Console | None = None) -> None:
    """Load the edge-case variants whose snapshots are missing or stale (seconds when
    current)."""
    console = console or Console(stderr=True)
    started = time.perf_counter()
    with console.status("Edge-case data for the checker (NULLs, ties, duplicates, cycles)"):
        ensure_edge_variants(console=console)
    console.print(f"Edge-case workspaces ready ({time.perf_counter() - started:.1f} s)")


def ensure_edge_variants(force: bool = False, console=None) -> list[Workspace]:
    """Load every variant whose snapshots are missing or stale; create missing workspaces."""
    for ws in edge_workspaces():
        name = ws.name.removeprefix("edge_")
        inputs = inputs_of(name)
        with pg.admin() as conn:
            meta = pg.template_meta(conn, ws.name)
            present = pg.exists(conn, ws.database)
        stale = force or meta is None or meta.get("inputs") != inputs
        with timed(f"edge variant {name}"):
            if stale:
                with timed(f"{ws.name}: generate"):
                    data = variant(name)
                load_snapshots(
                    data,
                    ws.name,
                    console=console,
                    layout_sql=LAYOUT.get(name, ""),
                    variant=ws.name,
                    inputs=inputs,
                )
            missing = [] if stale else repair_snapshots(meta or {}, ws.name, console=console)
            if not stale:
                repair_mysql(meta or {}, dataset=ws.name)
            if stale or not present:
                with timed(f"{ws.name}: reset"):
                    reset(ws)
            elif missing:  # a lost Redis or MongoDB snapshot of the variant: rebuilt above
                reset(ws, services=missing)
    return edge_workspaces()


def _seed(
    scale: str, seed: int, force: bool, services: Iterable[str], console: Console | None
) -> dict[str, str]:
    console = console or Console(stderr=True)
    chosen = get_scale(scale)
    services = list(services)
    current = seeded_meta()
    if not force and is_current(current, chosen, seed) and current is not None:
        repaired = repair_snapshots(current, MAIN, [s for s in services if s != "postgres"])
        repaired += ["MariaDB"] if repair_mysql(current, services) else []
        if repaired:
            console.print(f"Repaired the {' and '.join(repaired)} snapshot of the seeded data.")
        console.print(f"Already seeded ({chosen.name}, seed {seed}); `dojo seed --force` rebuilds.")
        reset(Workspace(MAIN), services=services)
        return current
    started = time.perf_counter()
    if not console.is_terminal:  # no spinner there: say what the next seconds are for
        console.print(f"Generating the {chosen.name} dataset (seed {seed})…")
    with console.status(f"Generating the {chosen.name} dataset (seed {seed})"), timed("generate"):
        data = generate(chosen, seed)
    rows = sum(data.rows(t) for t in data.tables)
    console.print(f"Generated {rows:,} rows in {time.perf_counter() - started:.1f} s")
    meta = load_snapshots(data, MAIN, services, console, mongo_orders=_mongo_orders(chosen))
    with timed("reset main"):
        reset(Workspace(MAIN), services=[s for s in services if s != "mysql"])
    if "mysql" in services:  # a copy of the old data: lesson X3 makes the new one on first use
        from dbdojo.dataset import mysql_data

        mysql_data.drop(Workspace(MAIN))
    elapsed = time.perf_counter() - started
    console.print(f"Seeded {chosen.name} in {elapsed:.1f} s (checksum {meta['checksum'][:12]})")
    return meta


def ensure_seeded(scale: str | None = None, console: Console | None = None) -> dict[str, str]:
    """Seed if nothing is seeded, or an older generator's data, or data whose MongoDB holds
    another count of orders than its scale now does, or (when ``scale`` is given) a different
    scale; make the edge-case workspaces if missing."""
    with seed_lock():
        meta = seeded_meta()
        fresh = meta is not None and meta.get("generator_version") == GENERATOR_VERSION
        if (
            fresh
            and meta["scale"] in SCALES
            and not is_current(meta, SCALES[meta["scale"]], int(meta["seed"]))
        ):
            scale = scale or meta["scale"]  # reseeded below, at its own scale
            fresh = False
        if fresh and (scale is None or meta.get("scale") == scale):
            # e.g. a new MongoDB or Redis server next to a seeded PostgreSQL, a lost snapshot
            if missing := repair_snapshots(meta, MAIN, SERVICES, console):
                reset(Workspace(MAIN), services=missing)
            repair_mysql(meta)
            ensure_edges(console)
        else:
            with edges_beside(console):
                meta = _seed(scale or "default", DEFAULT_SEED, False, SERVICES, console)
        return meta
