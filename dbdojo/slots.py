"""A pool of numbered slots shared between processes: each slot is a lock file, held (flock)
by whoever uses that slot. The kernel releases a lock when its holder dies, so a crashed
process never keeps a slot."""

from __future__ import annotations

import fcntl
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def first_free(directory: Path, prefix: str, numbers: range) -> Iterator[int | None]:
    """Hold the first free slot of ``numbers`` for the block; None when every one is taken."""
    for number in numbers:
        lock = open(directory / f"{prefix}-{number}.lock", "w")  # noqa: SIM115
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            lock.close()
            continue
        try:
            yield number
        finally:
            lock.close()
        return
    yield None


@contextmanager
def wait_free(directory: Path, prefix: str, numbers: range, timeout: float) -> Iterator[int | None]:
    """Like :func:`first_free`, but waits up to ``timeout`` seconds for a slot to free up."""
    deadline = time.monotonic() + timeout
    while True:
        with first_free(directory, prefix, numbers) as number:
            if number is not None or time.monotonic() >= deadline:
                yield number
                return
        time.sleep(0.05)
