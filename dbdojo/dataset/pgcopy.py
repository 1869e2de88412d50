"""Binary COPY of the generated tables into PostgreSQL.

Rows are encoded in chunks (memory stays flat at any scale) by a worker thread that keeps a
few chunks ahead, so encoding (numpy, mostly outside the GIL) overlaps with the server
parsing the previous chunk: on two cores the load runs close to a raw server-side COPY.
"""

from __future__ import annotations

import itertools
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import AbstractContextManager, nullcontext
from typing import TYPE_CHECKING

from dbdojo.dataset.generate import Dataset
from dbdojo.dataset.pgbinary import HEADER, TRAILER

if TYPE_CHECKING:
    import hashlib

    import psycopg

CHUNK_ROWS = 100_000
AHEAD = 4  # chunks encoded ahead of the one being sent
Report = Callable[[str, int], None]  # (table, rows just loaded)
Phase = Callable[[str], AbstractContextManager[object]]


def _chunks(data: Dataset, vector: bool, digest: hashlib._Hash | None) -> Iterator[Callable]:
    """One task per chunk, in table order; each returns (table, rows, encoded bytes).

    The tasks run one after another on a single worker, so ``digest`` sees the bytes in
    exactly the order :meth:`Dataset.checksum` hashes them (with the vector column).
    """
    for table in data.tables:
        total = data.rows(table)
        for start in range(0, max(total, 1), CHUNK_ROWS):
            stop = min(start + CHUNK_ROWS, total)

            def task(table: str = table, start: int = start, stop: int = stop):
                chunk = data.encode(table, start, stop, vector)
                if digest is not None:
                    if start == 0:
                        digest.update(table.encode())
                    digest.update(chunk if vector else data.encode(table, start, stop, True))
                return table, stop - start, chunk

            yield task


def _encoded_ahead(tasks: Iterator[Callable]) -> Iterator[tuple[str, int, bytes]]:
    with ThreadPoolExecutor(1, thread_name_prefix="dojo-encode") as pool:
        pending: deque[Future] = deque()
        try:
            for task in tasks:
                pending.append(pool.submit(task))
                if len(pending) > AHEAD:
                    yield pending.popleft().result()
            while pending:
                yield pending.popleft().result()
        finally:
            for future in pending:
                future.cancel()


def copy_tables(
    conn: psycopg.Connection,
    data: Dataset,
    vector: bool,
    report: Report = lambda table, rows: None,
    digest: hashlib._Hash | None = None,
    phase: Phase = lambda table: nullcontext(),
) -> None:
    """COPY every table of ``data`` (``phase(table)`` wraps each table's COPY, for timing)."""
    encoded = _encoded_ahead(_chunks(data, vector, digest))
    for table, chunks in itertools.groupby(encoded, key=lambda item: item[0]):
        columns = ", ".join(name for name, _, _ in data.columns(table, vector))
        with (
            phase(table),
            conn.cursor().copy(f"COPY {table} ({columns}) FROM STDIN (FORMAT BINARY)") as copy,
        ):
            copy.write(HEADER)
            for _, rows, chunk in chunks:
                copy.write(chunk)
                report(table, rows)
            copy.write(TRAILER)
