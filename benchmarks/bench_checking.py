"""Checking speed: the median time of one ``%%check`` per exercise kind, and the wall time of
``tests/test_checking_labs.py`` for one lab.

Runs on the servers the kit is configured with (``dojo up`` or DOJO_*_URL), on a freshly reset
workspace ``bench_checking`` and the edge workspaces. Each check is the reference or a planted
wrong answer, run by a new ``Checker`` per check (as a notebook cell does: ``dojo.check`` makes
one per call) after one warm-up check per exercise.

    .venv/bin/python benchmarks/bench_checking.py [--lab 00] [--per-kind 4] [--save F] [--compare F]

``--save`` writes the figures as JSON; ``--compare`` prints them next to figures saved earlier
(the "before" run) with the ratio before/after.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from pathlib import Path

from dbdojo.checking import discovery
from dbdojo.checking.engine import Checker
from dbdojo.connect import server_url
from dbdojo.dataset import edge_workspaces, reset
from dbdojo.workspace import Workspace

WS = Workspace("bench_checking")
REPO = Path(__file__).resolve().parents[1]  # the checkout whose tests are timed


def per_kind(per: int) -> dict[str, float]:
    """Median seconds of one check, per kind (reference and wrong answers alike)."""
    by_kind: dict[str, list] = {}
    for ex in discovery.exercises():
        by_kind.setdefault(ex.kind, []).append(ex)
    edges = list(edge_workspaces())
    figures = {}
    for kind, exercises in sorted(by_kind.items()):
        times = []
        for ex in exercises[:per]:
            Checker(WS, edges).check(ex, ex.reference)  # warm-up
            for answer in [ex.reference, *ex.wrong[:2]]:
                started = time.perf_counter()
                Checker(WS, edges).check(ex, answer)
                times.append(time.perf_counter() - started)
        figures[f"check {kind}"] = statistics.median(times)
        print(f"  check {kind:15} {figures[f'check {kind}']:8.3f} s  ({len(times)} checks)")
    return figures


def lab_tests(lab: str) -> dict[str, float]:
    """Wall time of tests/test_checking_labs.py on the one lab whose file starts with ``lab``."""
    [path] = [
        p for p in discovery.lab_paths(discovery.default_labs_dir()) if p.name[: len(lab)] == lab
    ]
    env = dict(os.environ)
    for service, var in (("postgres", "POSTGRES"), ("mongo", "MONGO"), ("redis", "REDIS")):
        env[f"DOJO_{var}_URL"] = server_url(service)  # the running servers, not new ones
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / path.name).symlink_to(path)
        env["DOJO_LABS_DIR"] = tmp
        report = Path(tmp) / "junit.xml"
        started = time.perf_counter()
        done = subprocess.run(
            [sys.executable, "-m", "pytest", "-q", "-n", "0", "-p", "no:nbval",
             "-o", "addopts=", "-o", "junit_duration_report=call", f"--junitxml={report}",
             "tests/test_checking_labs.py"],
            cwd=REPO, env=env, capture_output=True, text=True,
        )  # fmt: skip
        seconds = time.perf_counter() - started
        calls = sum(float(case.get("time", 0)) for case in ET.parse(report).iter("testcase"))
    summary = done.stdout.strip().splitlines()[-1] if done.stdout.strip() else done.stderr[-500:]
    print(f"  tests/test_checking_labs.py on {path.name}: {seconds:.1f} s wall, {calls:.1f} s")
    print(f"    in the tests themselves (without the workspace reset) ({summary})")
    return {f"labs test {lab} wall": seconds, f"labs test {lab} calls": calls}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lab", default="00", help="lab file prefix for the test timing")
    parser.add_argument("--per-kind", type=int, default=4, help="exercises per kind (0: none)")
    parser.add_argument("--save", type=Path, help="write the figures to this JSON file")
    parser.add_argument("--compare", type=Path, help="figures saved earlier (before)")
    parser.add_argument("--no-tests", action="store_true", help="skip the lab test timing")
    args = parser.parse_args()
    if args.per_kind:
        reset(WS)
    print(f"checks on workspace {WS.name} + {len(edge_workspaces())} edge workspaces:")
    figures = per_kind(args.per_kind) if args.per_kind else {}
    if not args.no_tests:
        figures.update(lab_tests(args.lab))
    if args.save:
        args.save.write_text(json.dumps(figures, indent=1))
    if args.compare:
        before = json.loads(args.compare.read_text())
        print(f"\n{'figure':28} {'before':>9} {'after':>9} {'ratio':>7}")
        for name, after in figures.items():
            if name in before:
                ratio = before[name] / after if after else float("inf")
                print(f"{name:28} {before[name]:8.3f}s {after:8.3f}s {ratio:6.1f}x")


if __name__ == "__main__":
    main()
