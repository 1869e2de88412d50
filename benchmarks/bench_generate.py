"""Generation time and peak memory per scale (each scale in a fresh process).

.venv/bin/python benchmarks/bench_generate.py [tiny default large]
"""

from __future__ import annotations

import multiprocessing
import resource
import sys
import time


def _run(scale: str, queue) -> None:
    from dbdojo.dataset.generate import generate

    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.perf_counter()
    data = generate(scale)
    generated = time.perf_counter() - started
    started = time.perf_counter()
    checksum = data.checksum()
    encoded = time.perf_counter() - started
    rows = sum(data.rows(t) for t in data.tables)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    queue.put((scale, rows, generated, encoded, (peak - base) / 1024, peak / 1024, checksum[:12]))


def main(scales: list[str]) -> None:
    ctx = multiprocessing.get_context("spawn")
    print(f"{'scale':8} {'rows':>11} {'generate s':>10} {'rows/s':>11} {'encode s':>9} "
          f"{'peak MiB':>9} {'checksum':>13}")  # fmt: skip
    for scale in scales:
        queue = ctx.Queue()
        proc = ctx.Process(target=_run, args=(scale, queue))
        proc.start()
        name, rows, gen, enc, _, peak, checksum = queue.get()
        proc.join()
        print(
            f"{name:8} {rows:>11,} {gen:>10.1f} {rows / gen:>11,.0f} {enc:>9.1f} "
            f"{peak:>9,.0f} {checksum:>13}"
        )


if __name__ == "__main__":
    main(sys.argv[1:] or ["tiny", "default"])
