"""Wall-clock time per phase of a seed, for ``benchmarks/bench_seed.py`` (off otherwise).

    with phases.recording() as timings:
        seed(...)
    for name, seconds in timings: ...

Code marks a phase with ``with phases.timed("COPY orders"):``; outside :func:`recording` that
costs one context-variable lookup.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

Timings = list[tuple[str, float]]
_current: ContextVar[Timings | None] = ContextVar("dbdojo_seed_phases", default=None)


@contextmanager
def recording() -> Iterator[Timings]:
    """Collect (phase, seconds) of every :func:`timed` phase run inside, in order."""
    timings: Timings = []
    token = _current.set(timings)
    try:
        yield timings
    finally:
        _current.reset(token)


@contextmanager
def timed(name: str) -> Iterator[None]:
    timings = _current.get()
    if timings is None:
        yield
        return
    started = time.perf_counter()
    try:
        yield
    finally:
        timings.append((name, time.perf_counter() - started))
