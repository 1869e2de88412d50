"""Reset time vs a full re-seed, per database and per PostgreSQL clone strategy.

Seeds ``scale`` (timed: that is the re-seed figure), then resets a scratch workspace several
times. Uses the servers the kit is configured with (``dojo up`` or DOJO_*_URL).

    .venv/bin/python benchmarks/bench_reset.py [scale] [runs]     # default: default 3
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from collections.abc import Callable

from dbdojo.dataset import pg
from dbdojo.dataset.seeding import seed
from dbdojo.dataset.workspaces import reset, reset_mongo
from dbdojo.workspace import Workspace

WS = Workspace("bench_reset")


def timed(action: Callable[[], object], runs: int) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        action()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def wait_for_spare(timeout: float = 600) -> float:
    """Block until the background job has a spare copy ready; returns the seconds waited."""
    started = time.perf_counter()
    with pg.admin() as conn:
        while time.perf_counter() - started < timeout:
            ready = pg.exists(conn, pg.spare_name(WS.database)) and not pg.exists(
                conn, f"{WS.database}_old"
            )
            if ready:
                return time.perf_counter() - started
            time.sleep(0.05)
    raise TimeoutError("no spare copy after 10 minutes: see .dojo/logs/reset-spares.log")


def main(scale: str, runs: int) -> None:
    started = time.perf_counter()
    seed(scale, force=True)
    reseed = time.perf_counter() - started
    with pg.admin() as conn:
        [(size,)] = conn.execute(
            "SELECT pg_size_pretty(pg_database_size(%s))", (pg.template_name(),)
        ).fetchall()
    reset(WS)
    figures = {}
    for strategy in ("FILE_COPY", "WAL_LOG"):

        def clone(strategy: str = strategy) -> None:
            with pg.admin() as conn:
                pg.clone(conn, pg.template_name(), WS.database, strategy)

        figures[f"PostgreSQL clone {strategy}"] = timed(clone, runs)
    from dbdojo.dataset import redis_store

    figures["Redis restore"] = timed(lambda: redis_store.restore(WS), runs)
    figures["MongoDB restore"] = timed(lambda: reset_mongo(WS, "main"), runs)
    os.environ["DOJO_RESET_SPARES"] = "0"
    figures["dojo reset, no spare"] = timed(lambda: reset(WS), runs)
    os.environ["DOJO_RESET_SPARES"] = "1"
    reset(WS)
    with_spare = []
    for _ in range(runs):
        wait_for_spare()
        started = time.perf_counter()
        reset(WS)
        with_spare.append(time.perf_counter() - started)
    figures["dojo reset (all three)"] = statistics.median(with_spare)
    wait_for_spare()
    print(f"scale {scale}: template {size}; full re-seed {reseed:.1f} s")
    for what, seconds in figures.items():
        print(f"{what:28} {seconds:7.3f} s   {reseed / seconds:8.0f}x faster than a re-seed")
    print("(with a spare: the wait for the background copy is excluded; it is the clone time)")
    total = figures["dojo reset (all three)"]
    print(
        "target: reset <= 0.3 s and >= 20x: "
        + ("met" if total <= 0.3 and reseed / total >= 20 else "NOT met")
    )
    with pg.admin() as conn:
        for name in (WS.database, pg.spare_name(WS.database)):
            pg.drop(conn, name)


if __name__ == "__main__":
    main(
        sys.argv[1] if len(sys.argv) > 1 else "default",
        int(sys.argv[2]) if len(sys.argv) > 2 else 3,
    )
