"""Job queue throughput: workers that take one job per transaction with ``FOR UPDATE`` vs
``FOR UPDATE SKIP LOCKED``, for 1 to 8 workers, with and without work done while the job's
row is locked (the P5 notebook's plot, measured on its own). Every run checks that each job
ran exactly once.

Runs in a schema of its own in the checker's scratch database (``dojocheck_concurrent``) on the
kit's PostgreSQL (``dojo up``), dropped afterwards.

    .venv-test/bin/python benchmarks/bench_skip_locked.py [--jobs 400] [--work-ms 0 10]
"""

from __future__ import annotations

import argparse
import threading
import time

from dbdojo.checking.runners import pg_scratch

SCHEMA = "bench_skip_locked"
LOCKING = ("FOR UPDATE", "FOR UPDATE SKIP LOCKED")
WORKERS = (1, 2, 4, 8)


def worker(locking: str, work: float, name: str) -> None:
    with pg_scratch.connect(options=f"-c search_path={SCHEMA}") as conn:
        while True:
            with conn.transaction():
                job = conn.execute(
                    f"SELECT job_id FROM queue WHERE status = 'queued' "
                    f"ORDER BY job_id LIMIT 1 {locking}"
                ).fetchone()
                if job is None:
                    return
                if work:
                    time.sleep(work)
                conn.execute("UPDATE queue SET status = 'done' WHERE job_id = %s", job)
                conn.execute("INSERT INTO runs VALUES (%s, %s)", (job[0], name))


def throughput(admin, jobs: int, workers: int, locking: str, work: float) -> float:
    """Jobs per second of ``workers`` threads emptying a queue of ``jobs`` jobs."""
    admin.execute(f"TRUNCATE {SCHEMA}.runs")
    admin.execute(f"UPDATE {SCHEMA}.queue SET status = 'queued'")
    threads = [
        threading.Thread(target=worker, args=(locking, work, f"w{i}")) for i in range(workers)
    ]
    began = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - began
    runs, distinct = admin.execute(
        f"SELECT count(*), count(DISTINCT job_id) FROM {SCHEMA}.runs"
    ).fetchone()
    assert runs == distinct == jobs, f"{locking}, {workers} workers: {runs} runs of {distinct} jobs"
    return jobs / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=400)
    parser.add_argument("--work-ms", type=float, nargs="+", default=[0.0, 10.0])
    args = parser.parse_args()
    pg_scratch.ensure_database()
    with pg_scratch.connect() as admin:
        admin.execute(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE")
        admin.execute(f"CREATE SCHEMA {SCHEMA}")
        admin.execute(f"CREATE TABLE {SCHEMA}.queue (job_id int PRIMARY KEY, status text NOT NULL)")
        admin.execute(f"CREATE TABLE {SCHEMA}.runs (job_id int NOT NULL, worker text NOT NULL)")
        admin.execute(
            f"INSERT INTO {SCHEMA}.queue SELECT g, 'queued' FROM generate_series(1, %s) g",
            (args.jobs,),
        )
        try:
            for work_ms in args.work_ms:
                print(f"\n{args.jobs} jobs, {work_ms:g} ms of work per job (jobs per second)")
                print(f"{'workers':>8}  {'FOR UPDATE':>12}  {'SKIP LOCKED':>12}  {'ratio':>6}")
                skip = []
                for n in WORKERS:
                    plain, skipping = (
                        throughput(admin, args.jobs, n, lk, work_ms / 1000) for lk in LOCKING
                    )
                    skip.append(skipping)
                    print(f"{n:>8}  {plain:>12.0f}  {skipping:>12.0f}  {skipping / plain:>5.1f}×")
                print(f"SKIP LOCKED, {WORKERS[-1]} workers vs 1: {skip[-1] / skip[0]:.1f}×")
        finally:
            admin.execute(f"DROP SCHEMA {SCHEMA} CASCADE")


if __name__ == "__main__":
    main()
