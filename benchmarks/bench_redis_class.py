"""Redis for a class: workspaces on one server, concurrent Redis checks, and what Valkey's ACLs
enforce.

1. Logical databases: Valkey's memory with 64 and with 1,024 databases (throwaway servers).
2. ``--workspaces N`` (default 100) workspaces get their Redis database on the kit's server,
   each restored from the seeded snapshot (the Redis half of creating a workspace), then dropped.
3. ``--checks N`` (default 30) Redis checks of one exercise at once, each in its own process
   (as N learners' kernels would): failures, median and p95; first with every answer's process
   running at once, then as the kit runs them (``RUNNING`` at a time, the others waiting for a
   turn before their time limit starts: :mod:`dbdojo.checking.sandbox.process`).
4. Valkey 9's ACLs on a throwaway server: what a key pattern and a ``db=`` selector refuse
   (a possible per-learner scoping for classroom mode).

Uses the servers of this checkout (``dojo up`` and ``dojo seed`` first).

    .venv-test/bin/python benchmarks/bench_redis_class.py [--workspaces 100] [--checks 30]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import redis

from dbdojo.dataset import disk, redis_store
from dbdojo.launch import choose_port
from dbdojo.services.redis import embedded_binary
from dbdojo.workspace import REDIS_DATABASES, Workspace

EXERCISE = "intro.top-drivers"


def throwaway(databases: int, home: Path) -> tuple[subprocess.Popen, redis.Redis]:
    port = choose_port(None)
    server = subprocess.Popen(
        [str(embedded_binary()), "--port", str(port), "--databases", str(databases),
         "--save", "", "--appendonly", "no", "--dir", str(home)],
        stdout=subprocess.DEVNULL,
    )  # fmt: skip
    client = redis.Redis(port=port, decode_responses=True)
    for _ in range(100):
        try:
            client.ping()
            break
        except redis.ConnectionError:
            time.sleep(0.05)
    return server, client


def databases_memory() -> None:
    with tempfile.TemporaryDirectory() as home:
        used = {}
        for count in (64, REDIS_DATABASES):
            server, client = throwaway(count, Path(home))
            used[count] = client.info("memory")["used_memory"]
            server.terminate()
            server.wait()
    extra = used[REDIS_DATABASES] - used[64]
    print(f"Valkey memory: 64 databases {used[64] / 1e6:.2f} MB, {REDIS_DATABASES} "
          f"databases {used[REDIS_DATABASES] / 1e6:.2f} MB (+{extra / 1e3:.0f} kB)")  # fmt: skip


def workspaces(count: int) -> None:
    names = [Workspace(f"bench_class_{i}") for i in range(count)]
    failures, times = [], []
    try:
        for ws in names:
            started = time.perf_counter()
            try:
                redis_store.restore(ws)
            except Exception as exc:  # counted and shown, the run goes on
                failures.append(f"{ws.name}: {exc}")
            times.append(time.perf_counter() - started)
    finally:
        for ws in names:
            disk._drop_redis(ws)
    verdict = "OK" if not failures else "FAILED"
    print(f"{count} workspaces' Redis databases restored from the snapshot: {len(failures)} "
          f"failures, median {statistics.median(times) * 1000:.0f} ms each (target: 100 with "
          f"no failure): {verdict}")  # fmt: skip
    for failure in failures[:3]:
        print("  ", failure)


def one_check(_: int) -> tuple[str, float, str]:
    from dbdojo.checking import discovery
    from dbdojo.checking.engine import Checker

    ex = discovery.find(EXERCISE)
    started = time.perf_counter()
    verdict = Checker().check(ex, ex.reference or "")
    return verdict.status, time.perf_counter() - started, verdict.message


def concurrent_checks(count: int, turns: int) -> None:
    from dbdojo.checking.sandbox import process

    process.RUNNING = turns  # the pool's processes are forked: they inherit it
    with ProcessPoolExecutor(count) as pool:
        list(pool.map(one_check, range(count)))  # warm: every process imported and connected
        started = time.perf_counter()
        results = list(pool.map(one_check, range(count)))
        wall = time.perf_counter() - started
    times = sorted(seconds for _, seconds, _ in results)
    failed = [(status, message) for status, _, message in results if status != "passed"]
    p95 = times[max(0, round(0.95 * len(times)) - 1)]
    verdict = "OK" if not failed else "FAILED"
    print(f"{count} concurrent Redis checks ({EXERCISE}), {turns} answers running at once: "
          f"{len(failed)} not passed, median "
          f"{statistics.median(times):.2f} s, p95 {p95:.2f} s, all in {wall:.1f} s (target: "
          f"30 with no failure): {verdict}")  # fmt: skip
    for status, message in failed[:3]:
        print(f"   {status}: {message[:160]}")


def acls() -> None:
    with tempfile.TemporaryDirectory() as home:
        server, admin = throwaway(16, Path(home))
        try:
            admin.execute_command("ACL", "SETUSER", "ann", "on", ">pw", "~ann:*", "+@all",
                                  "-@dangerous", "db=3")  # fmt: skip
            ann = redis.Redis(port=admin.connection_pool.connection_kwargs["port"], db=3,
                              username="ann", password="pw", decode_responses=True)  # fmt: skip
            ann.set("ann:x", 1)
            for what, action in (
                ("a key outside ~ann:*", lambda: ann.set("bob:x", 1)),
                ("SELECT 5 (db=3 only)", lambda: ann.execute_command("SELECT", 5)),
                ("FLUSHDB (-@dangerous)", ann.flushdb),
                ("KEYS * (-@dangerous)", lambda: ann.keys("*")),
            ):
                try:
                    action()
                    print(f"Valkey ACL: {what}: allowed")
                except redis.ResponseError as exc:
                    print(f"Valkey ACL: {what}: refused ({exc})")
        finally:
            server.terminate()
            server.wait()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--workspaces", type=int, default=100)
    parser.add_argument("--checks", type=int, default=30)
    args = parser.parse_args()
    databases_memory()
    workspaces(args.workspaces)
    from dbdojo.checking.sandbox import process

    # as before the sandbox's turns (every answer at once), then as the kit runs them
    for turns in (args.checks, process.RUNNING):
        concurrent_checks(args.checks, turns)
    acls()


if __name__ == "__main__":
    main()
