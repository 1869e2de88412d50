"""Reset time vs a full re-seed, per database and per PostgreSQL clone strategy.

Seeds ``scale`` (timed: that is the re-seed figure), then resets a scratch workspace several
times. Uses the servers the kit is configured with (``dojo up`` or DOJO_*_URL).

    .venv/bin/python benchmarks/bench_reset.py [scale] [runs]     # default: default 3
"""

from __future__ import annotations

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
    figures["dojo reset (all three)"] = timed(lambda: reset(WS), runs)
    print(f"scale {scale}: template {size}; full re-seed {reseed:.1f} s")
    for what, seconds in figures.items():
        print(f"{what:28} {seconds:7.3f} s   {reseed / seconds:8.0f}x faster than a re-seed")
    total = figures["dojo reset (all three)"]
    print(
        "target: reset <= 0.3 s and >= 20x: "
        + ("met" if total <= 0.3 and reseed / total >= 20 else "NOT met")
    )
    with pg.admin() as conn:
        pg.drop(conn, WS.database)


if __name__ == "__main__":
    main(
        sys.argv[1] if len(sys.argv) > 1 else "default",
        int(sys.argv[2]) if len(sys.argv) > 2 else 3,
    )
