"""Check latency for one learner and for a class.

1. ``dojo grade`` of an SQL answer, a fresh command each time, answered by the check server
   (:mod:`dbdojo.commands.grade_server`, started if none runs) and graded in its own process
   (``DOJO_CHECK_SERVER=0``: imports, logins, the reference's results from the on-disk
   cache), taking turns so both medians come from the same load: target <= 0.3 s. With
   ``--before DIR`` (a checkout of older code, e.g. ``git worktree add --detach DIR main``)
   that code runs in its own process too, on the same servers. The child processes may write
   bytecode (as a learner's install does), whatever ``PYTHONDONTWRITEBYTECODE`` says here.
2. ``--learners N`` (default 30; 0: only part 1) simulated learners, each a process of its
   own like a kernel, warmed by one check of each kind (a kernel that has checked before), then
   checking SQL and Redis answers at a realistic pace (a check every ``--pace`` seconds on
   average, exponential gaps) for ``--seconds``: median and p95 latency, failures; target
   p95 <= 1 s.

Uses the servers of this checkout (``dojo up`` and ``dojo seed`` first).

    .venv-test/bin/python benchmarks/bench_class_checks.py [--learners 30] [--pace 20]
    .venv-test/bin/python benchmarks/bench_class_checks.py --learners 0 --runs 9 --before DIR
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

SQL = "intro.no-phone"
REDIS = "intro.top-drivers"


def grade_times(runs: int, ways: dict[str, dict[str, str]]) -> dict[str, list[float]]:
    """Seconds of each ``dojo grade`` run, per way of running it (environment variables added:
    ``PYTHONPATH`` puts older code first and runs it as ``python -m dbdojo.cli``), the ways
    taking turns."""
    from dbdojo.checking import discovery
    from dbdojo.paths import project_root

    dojo = Path(sys.executable).parent / "dojo"
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env["DOJO_HOME"] = str(project_root())  # this checkout's servers and labs, whatever the code
    times: dict[str, list[float]] = {name: [] for name in ways}
    with tempfile.NamedTemporaryFile("w", suffix=".sql") as answer:
        answer.write(discovery.find(SQL).reference or "")
        answer.flush()
        args = ["grade", SQL, "--answer", answer.name]
        for run in range(runs + 1):  # the first run of each writes bytecode: not counted
            for name, extra in ways.items():
                older = "PYTHONPATH" in extra
                command = [sys.executable, "-m", "dbdojo.cli", *args] if older else [dojo, *args]
                started = time.perf_counter()
                done = subprocess.run(command, capture_output=True, text=True, env=env | extra)
                if run:
                    times[name].append(time.perf_counter() - started)
                assert done.returncode == 0, done.stdout + done.stderr
    return times


def learner(args: tuple[int, float, float]) -> list[tuple[str, float, str]]:
    """One learner's kernel: checks until ``seconds`` have passed."""
    number, pace, seconds = args
    from dbdojo.checking import connections, discovery
    from dbdojo.checking.engine import Checker

    rng = random.Random(number)
    exercises = [discovery.find(SQL), discovery.find(REDIS)]
    for ex in exercises:  # a kernel that has loaded the extension and checked before
        with connections.bounded():
            Checker().check(ex, ex.reference or "")
    done = []
    deadline = time.monotonic() + seconds
    time.sleep(rng.uniform(0, pace))
    while time.monotonic() < deadline:
        ex = rng.choice(exercises)
        started = time.perf_counter()
        with connections.bounded():
            verdict = Checker().check(ex, ex.reference or "")
        done.append((verdict.status, time.perf_counter() - started, verdict.message))
        time.sleep(rng.expovariate(1 / pace))
    return done


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--learners", type=int, default=30)
    parser.add_argument("--pace", type=float, default=20.0)
    parser.add_argument("--seconds", type=float, default=90.0)
    parser.add_argument("--before", help="a checkout of older code to time `dojo grade` of too")
    args = parser.parse_args()
    from dbdojo.commands import grade_control

    ways = {"check server": {}, "in its own process": {"DOJO_CHECK_SERVER": "0"}}
    if args.before:
        ways[f"before ({args.before})"] = {"PYTHONPATH": str(Path(args.before).resolve())}
    if not grade_control.start(wait=30) or not (before := grade_control.ping()):
        raise SystemExit("the check server does not start: see .dojo/check-server.log")
    load = os.getloadavg()[0]
    times = grade_times(args.runs, ways)
    served = grade_control.ping()["served"] - before["served"]
    print(f"load average {load:.1f} before, {os.getloadavg()[0]:.1f} after, {os.cpu_count()} CPUs")
    medians = {name: statistics.median(found) for name, found in times.items()}
    for name, found in times.items():
        print(f"dojo grade ({SQL}), {name}: median {medians[name]:.2f} s of {args.runs} "
              f"(min {min(found):.2f} s, max {max(found):.2f} s); target <= 0.3 s")  # fmt: skip
    print(f"the check server served {served} of the {args.runs + 1} grades sent its way")
    fast = medians["check server"]
    for name, median in medians.items():
        if name != "check server":
            print(f"ratio {name} / check server: {median / fast:.2f}")
    if args.learners <= 0:
        return
    print(f"load average before the class: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    jobs = [(n, args.pace, args.seconds) for n in range(args.learners)]
    with ProcessPoolExecutor(args.learners) as pool:
        results = [r for one in pool.map(learner, jobs) for r in one]
    latencies = sorted(seconds for _, seconds, _ in results)
    failed = [(status, message) for status, _, message in results if status != "passed"]
    p95 = latencies[max(0, round(0.95 * len(latencies)) - 1)]
    print(f"{args.learners} learners, a check every {args.pace:g} s each on average, for "
          f"{args.seconds:g} s: {len(results)} checks, {len(failed)} not passed, median "
          f"{statistics.median(latencies):.2f} s, p95 {p95:.2f} s (target p95 <= 1 s)")  # fmt: skip
    for status, message in failed[:3]:
        print(f"   {status}: {message[:160]}")


if __name__ == "__main__":
    main()
