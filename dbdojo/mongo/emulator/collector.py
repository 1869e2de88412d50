"""The cyclic garbage collector's full passes run between operations, not inside one.

A full pass walks every container the process holds that is not frozen (a loaded image is,
:func:`.memstate.settle`), and nobody is served meanwhile. A read of 20,000 orders makes a few
hundred thousand containers while it runs, enough to set off full passes in the middle of it:
another client waited 0.5-1.35 s during such a find on a loaded machine, 0.10-0.19 s with the
collector off (``benchmarks/bench_mongo_reads.py``). So the automatic collections stop at the
middle generation, and the oldest one is collected here, once as much has reached it as
would have set off a pass: when no request has run for :data:`IDLE` seconds, or after
:data:`FORCE` seconds of unbroken traffic at the latest (a pause once in that while).
"""

from __future__ import annotations

import asyncio
import gc
import time

NEVER = 1 << 30  # a threshold the oldest generation's count does not reach
IDLE = 0.5
FORCE = 60.0
LOOK_EVERY = 0.5


class Activity:
    """Requests in flight and when the last one ended."""

    def __init__(self) -> None:
        self.running = 0
        self.ended = time.monotonic()

    def begin(self) -> None:
        self.running += 1

    def end(self) -> None:
        self.running -= 1
        self.ended = time.monotonic()

    def idle(self) -> bool:
        return not self.running and time.monotonic() - self.ended >= IDLE


def defer_full_passes() -> int:
    """Stop automatic passes over the oldest generation; its usual threshold."""
    young, middle, oldest = gc.get_threshold()
    if oldest != NEVER:
        gc.set_threshold(young, middle, NEVER)
    return oldest if oldest != NEVER else 10


async def collect_when_idle(activity: Activity, due: int) -> None:
    """Collect the oldest generation when ``due`` middle-generation passes have reached it
    (as the automatic collector would) and the emulator is idle, or has not been for
    :data:`FORCE` seconds."""
    waiting_since: float | None = None
    while True:
        await asyncio.sleep(LOOK_EVERY)
        if gc.get_count()[2] < due:
            waiting_since = None
            continue
        waiting_since = waiting_since or time.monotonic()
        if activity.idle() or time.monotonic() - waiting_since >= FORCE:
            gc.collect(2)
            waiting_since = None
