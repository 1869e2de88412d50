"""How long `dojo up` and `dojo down` take, as a user runs them (the installed executable).

    .venv/bin/python benchmarks/bench_up.py [--runs 5] [--only postgres --only redis]

cold up: no state at all (initdb, new passwords, first start); warm up: state and data kept,
servers stopped; down: stopping them. Each figure is the median of --runs runs, each in a
fresh state directory under /var/tmp. Targets (issue 2): cold < 10 s, warm < 2 s.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

DOJO = Path(sys.executable).parent / "dojo"
TARGETS = {"cold up": 10.0, "warm up": 2.0, "down": None}


def timed(args: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    result = subprocess.run([str(DOJO), *args], env=env, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if result.returncode != 0:
        sys.exit(f"`dojo {' '.join(args)}` failed:\n{result.stdout}{result.stderr}")
    return elapsed


def one_run(only: list[str]) -> dict[str, float]:
    root = Path(tempfile.mkdtemp(prefix="dojo-bench-", dir="/var/tmp"))
    root.chmod(0o755)
    env = {k: v for k, v in os.environ.items() if not k.startswith("DOJO_")}
    env["DOJO_STATE_DIR"] = str(root)
    selection = [arg for name in only for arg in ("--only", name)]
    try:
        figures = {"cold up": timed(["up", *selection], env)}
        figures["down"] = timed(["down"], env)
        figures["warm up"] = timed(["up", *selection], env)
        timed(["down"], env)
    finally:
        subprocess.run([str(DOJO), "down"], env=env, capture_output=True)
        shutil.rmtree(root, ignore_errors=True)
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--only", action="append", default=[], help="a service (repeatable)")
    args = parser.parse_args()
    runs = [one_run(args.only) for _ in range(args.runs)]
    services = ", ".join(args.only) or "all services"
    print(f"dojo up/down, {services}, median of {args.runs} runs (min-max):")
    for name, target in TARGETS.items():
        values = [run[name] for run in runs]
        median = statistics.median(values)
        line = f"  {name:8} {median:6.2f} s  ({min(values):.2f}-{max(values):.2f})"
        if target:
            verdict = "meets" if median < target else "MISSES"
            line += f"  target < {target:.0f} s: {median / target:.2f} of it, {verdict}"
        print(line)


if __name__ == "__main__":
    main()
