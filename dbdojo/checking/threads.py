"""The checker's threads: one pool per process, its threads reused from check to check.

Never a new thread per check: libpg_query (under pglast, which splits SQL answers) takes a
pthread key in each new thread that parses and never gives it back, and a process has 1,024.
A CI run made a thread per target of every check and ran out after a few thousand checks;
then anything that needs a key failed (matplotlib's import: "could not initialize the TSS
key"). A forked child gets a pool of its own (the parent's threads are not in it).
"""

from __future__ import annotations

import os
import threading
from concurrent.futures import ThreadPoolExecutor

# An engine check submits one task per target (8 with the edge cases) and may open the
# answer connections in a second batch meanwhile: room for both.
WORKERS = 16

_lock = threading.Lock()
_pool: tuple[int, ThreadPoolExecutor] | None = None


def pool() -> ThreadPoolExecutor:
    """This process's pool (made on first use, and again in a forked child)."""
    global _pool
    with _lock:
        if _pool is None or _pool[0] != os.getpid():
            _pool = (os.getpid(), ThreadPoolExecutor(WORKERS, thread_name_prefix="dojo-check"))
        return _pool[1]
