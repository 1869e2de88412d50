"""The X2 lesson's trade-offs, measured on their own: the live order board's three operations
(a driver's position, a job's status change, a depot's board) on PostgreSQL, Redis, MongoDB and,
when the kit runs one, MariaDB, each as a median latency and as a ratio to the fastest store;
then what a transactional outbox costs a request (a status change with its outbox row vs
without, in one transaction).

Runs on the kit's servers (``dojo up``): a schema of its own in the checker's scratch database
(``dojocheck_concurrent``), a scratch Redis logical database of the checker, a MongoDB database
of its own, a MariaDB scratch database of the checker's kind; all dropped afterwards.

    .venv-test/bin/python benchmarks/bench_polyglot.py [--ops 300]
"""

from __future__ import annotations

import argparse
import contextlib
import statistics
import time
from collections.abc import Callable, Iterator

from dbdojo.checking.runners import mysql_scratch, pg_scratch
from dbdojo.checking.runners.redis import scratch_db
from dbdojo.connect import ServiceDown, mongo_client, redis_db_client

SCHEMA = "bench_polyglot"
MONGO_DB = "dojo_bench_polyglot"
DEPOTS, DRIVERS, JOBS = 15, 200, 1200
STATUSES = ("assigned", "picked_up", "delivered")


def median_ms(operation: Callable[[int], object], ops: int) -> float:
    """Median latency of ``operation(i)`` for i in 0..ops-1, in milliseconds."""
    times = []
    for i in range(ops):
        began = time.perf_counter()
        operation(i)
        times.append((time.perf_counter() - began) * 1000)
    return statistics.median(times)


def postgres_ops(pg) -> dict[str, Callable[[int], object]]:
    pg.execute(f"""
        CREATE TABLE {SCHEMA}.jobs (job_id int PRIMARY KEY, depot_id int NOT NULL,
            status text NOT NULL);
        CREATE INDEX ON {SCHEMA}.jobs (depot_id) WHERE status <> 'delivered';
        CREATE TABLE {SCHEMA}.positions (driver_id int PRIMARY KEY, lon float8, lat float8);
        CREATE TABLE {SCHEMA}.events (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            job_id int NOT NULL REFERENCES {SCHEMA}.jobs, status text NOT NULL);
        CREATE TABLE {SCHEMA}.outbox (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            txid xid8 NOT NULL DEFAULT pg_current_xact_id(), payload jsonb NOT NULL);
        INSERT INTO {SCHEMA}.jobs
            SELECT g, g % {DEPOTS}, 'new' FROM generate_series(0, {JOBS - 1}) g;
        ANALYZE {SCHEMA}.jobs""")

    def event(i: int, outbox: bool = False) -> None:
        job, status = i % JOBS, STATUSES[i % 3]
        with pg.transaction():
            pg.execute(
                f"INSERT INTO {SCHEMA}.events (job_id, status) VALUES (%s, %s)", (job, status)
            )
            pg.execute(f"UPDATE {SCHEMA}.jobs SET status = %s WHERE job_id = %s", (status, job))
            if outbox:
                pg.execute(
                    f"INSERT INTO {SCHEMA}.outbox (payload) VALUES (%s)",
                    (f'{{"job_id": {job}, "status": "{status}"}}',),
                )

    return {
        "position": lambda i: pg.execute(
            f"INSERT INTO {SCHEMA}.positions VALUES (%s, %s, %s) ON CONFLICT (driver_id) "
            "DO UPDATE SET lon = excluded.lon, lat = excluded.lat",
            (i % DRIVERS, 4.4 + i % 97 / 1000, 51.9 + i % 89 / 1000),
        ),
        "status event": event,
        "board": lambda i: pg.execute(
            f"SELECT j.job_id, j.status FROM {SCHEMA}.jobs j WHERE j.depot_id = %s "
            "AND j.status <> 'delivered' ORDER BY j.job_id",
            (i % DEPOTS,),
        ).fetchall(),
        "status event + outbox": lambda i: event(i, outbox=True),
    }


def redis_ops(r) -> dict[str, Callable[[int], object]]:
    pipe = r.pipeline(transaction=False)
    for job in range(JOBS):
        pipe.hset(f"job:{job}", mapping={"depot_id": job % DEPOTS, "status": "new"})
        pipe.sadd(f"depot:{job % DEPOTS}:open", job)
    pipe.execute()

    def event(i: int) -> None:
        job, status = i % JOBS, STATUSES[i % 3]
        tx = r.pipeline(transaction=True)
        tx.hset(f"job:{job}", "status", status)
        tx.rpush(f"timeline:{job}", status)
        if status == "delivered":
            tx.srem(f"depot:{job % DEPOTS}:open", job)
        tx.execute()

    def board(i: int) -> list:
        jobs = sorted(r.smembers(f"depot:{i % DEPOTS}:open"))
        read = r.pipeline(transaction=False)
        for job in jobs:
            read.hget(f"job:{job}", "status")
        return read.execute()

    return {
        "position": lambda i: r.geoadd(
            "positions", (4.4 + i % 97 / 1000, 51.9 + i % 89 / 1000, i % DRIVERS)
        ),
        "status event": event,
        "board": board,
    }


def mongo_ops(db) -> dict[str, Callable[[int], object]]:
    db.jobs.insert_many(
        [{"_id": j, "depot_id": j % DEPOTS, "status": "new", "events": []} for j in range(JOBS)]
    )
    db.jobs.create_index([("depot_id", 1), ("status", 1)])
    return {
        "position": lambda i: db.positions.update_one(
            {"_id": i % DRIVERS},
            {"$set": {"lon": 4.4 + i % 97 / 1000, "lat": 51.9 + i % 89 / 1000}},
            upsert=True,
        ),
        "status event": lambda i: db.jobs.update_one(
            {"_id": i % JOBS},
            {"$set": {"status": STATUSES[i % 3]}, "$push": {"events": STATUSES[i % 3]}},
        ),
        "board": lambda i: list(
            db.jobs.find(
                {"depot_id": i % DEPOTS, "status": {"$ne": "delivered"}}, {"status": 1}
            ).sort("_id", 1)
        ),
    }


def mariadb_ops(my) -> dict[str, Callable[[int], object]]:
    """The same operations on MariaDB (InnoDB), through one autocommit connection ``my``."""
    with my.cursor() as cur:
        cur.execute("""CREATE TABLE jobs (job_id INT PRIMARY KEY, depot_id INT NOT NULL,
            status VARCHAR(20) NOT NULL, KEY (depot_id, status))""")
        cur.execute("CREATE TABLE positions (driver_id INT PRIMARY KEY, lon DOUBLE, lat DOUBLE)")
        cur.execute("""CREATE TABLE events (id BIGINT AUTO_INCREMENT PRIMARY KEY,
            job_id INT NOT NULL, status VARCHAR(20) NOT NULL,
            FOREIGN KEY (job_id) REFERENCES jobs (job_id))""")
        cur.executemany(
            "INSERT INTO jobs VALUES (%s, %s, 'new')", [(j, j % DEPOTS) for j in range(JOBS)]
        )
        cur.execute("ANALYZE TABLE jobs")
        cur.fetchall()

    def run(sql: str, args: tuple) -> list:
        with my.cursor() as cur:
            cur.execute(sql, args)
            return list(cur.fetchall())

    def event(i: int) -> None:
        job, status = i % JOBS, STATUSES[i % 3]
        my.begin()
        run("INSERT INTO events (job_id, status) VALUES (%s, %s)", (job, status))
        run("UPDATE jobs SET status = %s WHERE job_id = %s", (status, job))
        my.commit()

    return {
        "position": lambda i: run(
            "INSERT INTO positions VALUES (%s, %s, %s) "
            "ON DUPLICATE KEY UPDATE lon = VALUES(lon), lat = VALUES(lat)",
            (i % DRIVERS, 4.4 + i % 97 / 1000, 51.9 + i % 89 / 1000),
        ),
        "status event": event,
        "board": lambda i: run(
            "SELECT job_id, status FROM jobs WHERE depot_id = %s AND status <> 'delivered' "
            "ORDER BY job_id",
            (i % DEPOTS,),
        ),
    }


@contextlib.contextmanager
def mariadb() -> Iterator[object | None]:
    """An autocommit connection to a scratch MariaDB database, or None without a server."""
    try:
        scratch = mysql_scratch.scratch(None, 60)
        where = scratch.__enter__()
    except ServiceDown as exc:
        print(f"MariaDB left out: {exc}")
        yield None
        return
    try:
        with mysql_scratch.connect(where, 60) as conn:
            yield conn
    finally:
        scratch.__exit__(None, None, None)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ops", type=int, default=300)
    args = parser.parse_args()
    pg_scratch.ensure_database()
    mongo = mongo_client()
    with pg_scratch.connect(autocommit=True) as pg, scratch_db() as scratch, mariadb() as my:
        r = redis_db_client(scratch.redis_db)
        pg.execute(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE")
        pg.execute(f"CREATE SCHEMA {SCHEMA}")
        mongo.drop_database(MONGO_DB)
        try:
            stores = {
                "PostgreSQL": postgres_ops(pg),
                "Redis": redis_ops(r),
                "MongoDB": mongo_ops(mongo[MONGO_DB]),
            }
            if my is not None:
                stores["MariaDB"] = mariadb_ops(my)
            results = {
                name: {op: median_ms(fn, args.ops) for op, fn in ops.items()}
                for name, ops in stores.items()
            }
        finally:
            pg.execute(f"DROP SCHEMA {SCHEMA} CASCADE")
            r.flushdb()
            mongo.drop_database(MONGO_DB)
    print(f"median latency over {args.ops} operations (ms), and × the fastest store")
    print(f"{'operation':14}" + "".join(f"{name:>22}" for name in stores))
    for op in ("position", "status event", "board"):
        best = min(results[name][op] for name in stores)
        cells = "".join(f"{results[n][op]:>12.3f} ({results[n][op] / best:>5.1f}×)" for n in stores)
        print(f"{op:14}{cells}")
    pg_times = results["PostgreSQL"]
    print(
        f"a status event with its outbox row: {pg_times['status event + outbox']:.3f} ms, "
        f"{pg_times['status event + outbox'] / pg_times['status event']:.2f}× without"
    )


if __name__ == "__main__":
    main()
