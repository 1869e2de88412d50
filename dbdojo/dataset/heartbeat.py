"""Progress where there is no terminal (``make lab`` in a CI log, a pipe): rich draws bars only
on a terminal, so a seed would be silent for minutes. :func:`heartbeat` prints one line every
few seconds with the task in progress instead."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.progress import Progress, Task

INTERVAL = 5.0


def describe(bar: Progress) -> str:
    """The unfinished tasks of ``bar`` (the seed runs some side by side), or the last one:
    each one's description and how far it is."""
    active = [t for t in bar.tasks if not t.finished] or bar.tasks[-1:]
    if not active:
        return "starting"
    return " | ".join(_state(task) for task in active)


def _state(task: Task) -> str:
    if task.total:
        done = f"{task.completed:,.0f}/{task.total:,.0f}"
        return f"{task.description} {done} ({task.percentage:.0f}%)"
    return task.description


@contextmanager
def heartbeat(bar: Progress, console: Console, interval: float = INTERVAL) -> Iterator[None]:
    """Print ``seeding: <task> (<elapsed> s)`` every ``interval`` seconds, unless ``console``
    is a terminal (where ``bar`` draws itself)."""
    if console.is_terminal:
        yield
        return
    stop = threading.Event()
    started = time.perf_counter()

    def beat() -> None:
        while not stop.wait(interval):
            elapsed = time.perf_counter() - started
            console.print(f"seeding: {describe(bar)} ({elapsed:.0f} s)", highlight=False)

    thread = threading.Thread(target=beat, name="dojo-seed-heartbeat", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()
