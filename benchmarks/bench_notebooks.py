"""Notebook suite timings: total wall time, and per notebook its time in the suite next to the
floor (kernel start plus the notebook's own cell time, the extension's loading excluded).

    .venv/bin/python benchmarks/bench_notebooks.py [--runs 3] [--no-suite]

Needs the checkout's servers up and seeded (the suite does that itself). Targets: the suite
under 10 minutes; per-notebook time under 1.5x its floor.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from collections import defaultdict
from pathlib import Path

import nbformat

from dbdojo.notebook import testenv
from dbdojo.notebook.execute import execute

ROOT = Path(__file__).resolve().parent.parent
SUITE_TARGET_S = 600
OVERHEAD_TARGET = 1.5


def notebooks(chosen: list[str] | None = None) -> list[Path]:
    if chosen:
        return [Path(p).resolve() for p in chosen]
    return sorted([*ROOT.glob("notebooks/*.ipynb"), *ROOT.glob("labs/*.ipynb")])


def run_suite(paths: list[Path]) -> tuple[float, dict[str, float]]:
    """The notebook part of the test suite as the README runs it; per-file seconds from junit."""
    with tempfile.TemporaryDirectory() as tmp:
        report = Path(tmp) / "junit.xml"
        started = time.perf_counter()
        result = subprocess.run(
            [
                sys.executable,
                "-m",
                "pytest",
                "-q",
                "-p",
                "no:cacheprovider",
                f"--junitxml={report}",
                *paths,
            ],
            cwd=ROOT,
            capture_output=True,
            text=True,
        )
        wall = time.perf_counter() - started
        if result.returncode != 0:
            print(result.stdout[-3000:], file=sys.stderr)
            print("warning: the notebook suite did not pass", file=sys.stderr)
        per_file: dict[str, float] = defaultdict(float)
        for case in ET.parse(report).iter("testcase"):
            # junit names a cell's file "notebooks.00-welcome.ipynb"
            per_file[case.get("classname", "")] += float(case.get("time", 0))
    return wall, dict(per_file)


def kernel_start_seconds(runs: int) -> float:
    """Median time to start a kernel, run one empty cell and shut it down."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "empty.ipynb"
        nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("pass")])
        nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3"}
        nbformat.write(nb, path)
        return statistics.median(execute(path).seconds for _ in range(runs))


def own_cell_seconds(path: Path, env: dict[str, str], runs: int) -> tuple[float, float]:
    """Median of (whole run, cells other than `%load_ext dbdojo`) for one notebook."""
    totals, cells = [], []
    ws = testenv.worker_workspace()
    for _ in range(runs):
        with testenv.environ(env):
            testenv.fresh_workspace(ws)
        run = execute(path, env={**env, **testenv.kernel_env(ws)}, timing=True)
        code = [c for c in run.notebook.cells if c.cell_type == "code"]
        own = [
            s
            for c, s in zip(code, run.cell_seconds, strict=True)
            if not c.source.startswith("%load_ext dbdojo")
        ]
        totals.append(run.seconds)
        cells.append(sum(own))
    return statistics.median(totals), statistics.median(cells)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--no-suite", action="store_true", help="skip the full suite run")
    parser.add_argument("paths", nargs="*", help="notebooks to measure (default: all)")
    args = parser.parse_args()
    env = dict(os.environ)
    chosen = notebooks(args.paths)
    testenv.ensure_seeded()
    per_file: dict[str, float] = {}
    if not args.no_suite:
        wall, per_file = run_suite(chosen)
        verdict = "ok" if wall < SUITE_TARGET_S else "OVER"
        print(
            f"suite: {len(per_file)} notebooks in {wall:.1f} s wall "
            f"(target < {SUITE_TARGET_S} s: {verdict})"
        )
        for name, seconds in sorted(per_file.items()):
            print(f"  {name:<45} {seconds:6.2f} s in the suite")
    kernel = kernel_start_seconds(args.runs)
    print(f"kernel start + empty cell + shutdown: {kernel:.2f} s (median of {args.runs})")
    print(f"{'notebook':<35} {'suite s':>8} {'run s':>7} {'floor s':>8} {'ratio':>6}")
    ratios = []
    for path in chosen:
        total, own = own_cell_seconds(path, env, args.runs)
        floor = kernel + own
        key = str(path.relative_to(ROOT)).replace(os.sep, ".")
        in_suite = per_file.get(key, total)  # reset, kernel, extension and nbval included
        ratios.append(in_suite / floor)
        print(f"{path.name:<35} {in_suite:8.2f} {total:7.2f} {floor:8.2f} {in_suite / floor:6.2f}x")
    if ratios:
        median = statistics.median(ratios)
        verdict = "ok" if median < OVERHEAD_TARGET else "OVER"
        print(
            f"median per-notebook time / floor: {median:.2f}x "
            f"(target < {OVERHEAD_TARGET}x: {verdict})"
        )


if __name__ == "__main__":
    main()
