"""Disk per learner and copy/reset time: clones in an XFS image vs full copies (issue 23).

Uses the servers and dataset of this checkout (``dojo up && dojo seed``: the default scale is
the one that counts; the scale is printed). Runs as root with ``mkfs.xfs``: it brings up the
classroom's storage (:mod:`dbdojo.classroom.storage`: a sparse XFS image, a tablespace, one
full copy of the template as the class base), clones N learners' workspaces from the base,
has each run a typical writing lesson step (an UPDATE of 1,000 orders and a CREATE INDEX),
resets some, then makes K full copies of the template where the data directory is (ext4
here), the kit's path without the image. Everything it made is dropped, the image removed.

    .venv-test/bin/python benchmarks/bench_learner_disk.py [--learners 30] [--full 3]

Private bytes per learner: the image's used bytes after the N clones minus before, over N
(the file system's own count), and the mean of each clone's unshared extents (FIEMAP).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from dbdojo import settings
from dbdojo.classroom import storage
from dbdojo.connect import pg_connect
from dbdojo.dataset import pg, pgfiles, xfsimage
from dbdojo.dataset.workspaces import reset
from dbdojo.workspace import Workspace

TARGET_BYTES = 100 * 10**6
TARGET_RESET = 0.3
MB = 10**6
LESSON_STEP = (
    "UPDATE orders SET delivery_lat = delivery_lat + 0.001 WHERE order_id IN "
    "(SELECT order_id FROM orders ORDER BY order_id LIMIT 1000)",
    "CREATE INDEX bench_orders_placed ON orders (placed_at)",
)


def timed(action) -> float:
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def checkpoint_used() -> int:
    with pg.admin() as conn:
        conn.execute("CHECKPOINT")
    return xfsimage.used_bytes(storage.mount_dir())


def mean_private(databases: list[str]) -> float:
    with pg.admin() as conn:
        return statistics.mean(pgfiles.on_disk(conn, d)[0] for d in databases)


def row(what: str, value: str, target: str = "") -> None:
    print(f"  {what:<58} {value:>14}  {target}")


def clones(n: int, resets: int) -> dict[str, float]:
    """N clones of the class base: their private bytes fresh and after a lesson step, copy
    and reset times."""
    said: list[str] = []
    started = time.perf_counter()
    source = storage.prepare(n, said.append)
    base_seconds = time.perf_counter() - started
    for line in said:
        print(f"  storage: {line}")
    if source != storage.BASE:
        raise SystemExit("no copy-on-write storage here (see above): nothing to compare")
    learners = [Workspace(f"bench_disk_{i:02d}") for i in range(n)]
    before = checkpoint_used()
    with settings.spares(False):  # spares come later, timed on their own
        copy_times = [
            timed(lambda ws=ws: reset(ws, services=("postgres",), source=storage.source()))
            for ws in learners
        ]
    fresh = (checkpoint_used() - before) / n
    fresh_fiemap = mean_private([ws.database for ws in learners])
    for ws in learners:
        with pg_connect(ws, autocommit=True) as conn:
            for statement in LESSON_STEP:
                conn.execute(statement)
    written = (checkpoint_used() - before) / n
    written_fiemap = mean_private([ws.database for ws in learners])
    with settings.spares(False):
        reset_times = [
            timed(lambda ws=ws: reset(ws, services=("postgres",), source=storage.source()))
            for ws in learners[:resets]
        ]
    after_reset = (checkpoint_used() - before) / n
    with settings.spares(True):
        for ws in learners[:resets]:  # each starts its spare's job
            reset(ws, services=("postgres",), source=storage.source())
        wait_for_spares(learners[:resets])
        spare_private = mean_private([pg.spare_name(ws.database) for ws in learners[:resets]])
        swap_times = [
            timed(lambda ws=ws: reset(ws, services=("postgres",), source=storage.source()))
            for ws in learners[:resets]
        ]
    with pg.admin() as conn:
        for ws in learners:
            drop_copies(conn, ws)
    storage.release(lambda _: None)
    return {
        "base": base_seconds,
        "fresh": fresh,
        "fresh_fiemap": fresh_fiemap,
        "written": written,
        "written_fiemap": written_fiemap,
        "after_reset": after_reset,
        "copy_median": statistics.median(copy_times),
        "copy_max": max(copy_times),
        "reset_median": statistics.median(reset_times),
        "reset_max": max(reset_times),
        "spare_private": spare_private,
        "swap_median": statistics.median(swap_times),
        "swap_max": max(swap_times),
    }


def wait_for_spares(learners: list[Workspace], timeout: float = 600) -> None:
    deadline = time.monotonic() + timeout
    with pg.admin() as conn:
        for ws in learners:
            while not pg.spare_ready(conn, storage.BASE, ws.database):
                if time.monotonic() > deadline:
                    raise SystemExit(f"no spare for {ws.name} in {timeout:.0f} s")
                time.sleep(0.2)


def drop_copies(conn, ws: Workspace) -> None:
    """``ws``'s database, spare and their leftovers (after its spare job, if one runs)."""
    lock = f"dbdojo.spare.{ws.database}"
    conn.execute("SELECT pg_advisory_lock(hashtext(%s))", (lock,))
    for suffix in ("", "_new", "_old", "_spare", "_spare_new"):
        pg.drop(conn, ws.database + suffix)
    conn.execute("SELECT pg_advisory_unlock(hashtext(%s))", (lock,))


def full_copies(k: int) -> dict[str, float]:
    """K full copies of the template where the data directory is (no spare)."""
    template = pg.template_name()
    names = [f"dojo_bench_full_{i}" for i in range(k)]
    times = []
    with pg.admin() as conn:
        if pgfiles.clones(conn, template):
            print("  (the data directory clones files: these 'full' copies are clones too)")
        for name in names:
            pg.drop(conn, name)
            times.append(timed(lambda name=name: pg.create_copy(conn, template, name, "FILE_COPY")))
        size = statistics.mean(
            conn.execute("SELECT pg_database_size(%s)", (n,)).fetchone()[0] for n in names
        )
        for name in names:
            pg.drop(conn, name)
    return {"size": size, "copy_median": statistics.median(times)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--learners", type=int, default=30)
    parser.add_argument("--full", type=int, default=3, help="full copies to compare with")
    parser.add_argument("--resets", type=int, default=10, help="learners reset after writing")
    args = parser.parse_args()
    with pg.admin() as conn:
        meta = pg.template_meta(conn) or {}
    print(f"dataset scale: {meta.get('scale', 'not seeded')}; {args.learners} learners")
    c = clones(args.learners, min(args.resets, args.learners))
    f = full_copies(args.full)
    print("Clones of the class base in a loop-mounted XFS image (reflink):")
    row("class base: image, tablespace, one full copy (once)", f"{c['base']:.1f} s")
    target = f"target <= {TARGET_BYTES / MB:.0f} MB"
    row("private per learner, fresh (image used delta / N)", f"{c['fresh'] / MB:.2f} MB", target)
    row("private per learner, fresh (FIEMAP, unshared extents)", f"{c['fresh_fiemap'] / MB:.2f} MB")
    row(
        "private per learner, after the lesson step (used / N)",
        f"{c['written'] / MB:.1f} MB",
        target,
    )
    row("private per learner, after the lesson step (FIEMAP)", f"{c['written_fiemap'] / MB:.1f} MB")
    row("private per learner, after resetting some (used / N)", f"{c['after_reset'] / MB:.1f} MB")
    reset_target = f"target <= {TARGET_RESET} s"
    row(
        "copy for a learner (clone), median / max",
        f"{c['copy_median']:.2f} / {c['copy_max']:.2f} s",
    )
    row(
        "a spare (a clone made after a reset), private, FIEMAP", f"{c['spare_private'] / MB:.2f} MB"
    )
    row(
        "reset with a spare ready (rename), median / max",
        f"{c['swap_median']:.3f} / {c['swap_max']:.3f} s",
        reset_target,
    )
    row(
        "reset without a spare (clone), median / max",
        f"{c['reset_median']:.2f} / {c['reset_max']:.2f} s",
        reset_target,
    )
    print("Full copies of the template in the data directory (ext4 here), no spare:")
    row("bytes per learner (pg_database_size)", f"{f['size'] / MB:.0f} MB", target)
    row("bytes per learner outside a classroom (copy + spare)", f"{2 * f['size'] / MB:.0f} MB")
    row("copy for a learner, median", f"{f['copy_median']:.2f} s")
    print("Ratios (full copy / clone):")
    row("disk per learner, after the lesson step", f"{f['size'] / c['written']:.0f}x")
    row("time to make a learner's copy", f"{f['copy_median'] / c['copy_median']:.1f}x")


if __name__ == "__main__":
    main()
