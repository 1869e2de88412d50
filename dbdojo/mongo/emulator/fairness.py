"""Long writes share the emulator: no client waits long behind another client's operation.

mongoeco runs ``update_many`` and ``delete_many`` as one coroutine writing document after
document; each write takes its collection's asyncio lock uncontended, so the coroutine never
yields and the event loop serves no other client until the last document (another client
waited 3.7 s behind one ``update_many`` of 2,000 documents); an ``insert`` of many documents is
one call into the engine. MongoDB does not isolate a multi-document write either: each
document's write is atomic, the operation as a whole is not, and other operations interleave
with it (the manual's "Atomicity and Transactions"). So a multi-document write yields to the
event loop between two documents once a time slice is used up, and a large ``insert`` outside a
transaction runs as consecutive inserts of :data:`INSERT_SLICE` documents.

Long replies share it too: the documents of a cursor's batch are encoded to BSON one by one,
taking turns (:func:`encoded_in_turns`), before mongoeco encodes the reply around them in one
piece (a find of 20,000 orders with no batch size held the others 1.2-1.5 s while its reply
was encoded).
"""

from __future__ import annotations

import asyncio
import functools
import time
from collections.abc import AsyncIterable, AsyncIterator, Awaitable, Callable
from typing import Any

Run = Callable[[dict[str, Any]], Awaitable[dict[str, Any]]]

#: How long one operation may hold the event loop before other clients are served.
SLICE_SECONDS = 0.02

#: The per-document writes mongoeco's multi-document operations call in a loop.
PER_DOCUMENT_WRITES = ("update_with_operation", "delete_with_operation", "delete_document")

#: Documents per slice of a large ``insert``.
INSERT_SLICE = 200

#: Documents in a cursor's batch from which the batch is encoded in turns.
LONG_BATCH = 200


class _Clock:
    """When the event loop last served other clients."""

    last = time.monotonic()


async def _take_turn() -> None:
    """Let the event loop serve other clients if this operation has used its slice."""
    if time.monotonic() - _Clock.last > SLICE_SECONDS:
        await asyncio.sleep(0)
        _Clock.last = time.monotonic()


def _yielding[**P, R](write: Callable[P, Awaitable[R]]) -> Callable[P, Awaitable[R]]:
    @functools.wraps(write)
    async def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        await _take_turn()
        return await write(*args, **kwargs)

    wrapper.__dojo_yields__ = True  # type: ignore[attr-defined]
    return wrapper


def _yielding_scan[**P](scan: Callable[P, AsyncIterable[Any]]) -> Callable[P, AsyncIterator[Any]]:
    """A collection scan that takes turns between documents. mongoeco's scan is lazy and holds
    no lock while it yields a document (its candidates are pinned as one read view), so other
    operations may run between two documents as they do between a MongoDB query's yields."""

    @functools.wraps(scan)
    async def wrapper(*args: P.args, **kwargs: P.kwargs) -> AsyncIterator[Any]:
        async for document in scan(*args, **kwargs):
            await _take_turn()
            yield document

    wrapper.__dojo_yields__ = True  # type: ignore[attr-defined]
    return wrapper


def patch_yielding_writes() -> None:
    """Make mongoeco's per-document writes and its collection scans yield once a time slice is
    used (idempotent)."""
    from mongoeco.engines.memory import MemoryEngine

    for name in PER_DOCUMENT_WRITES:
        write: Any = getattr(MemoryEngine, name)
        if not getattr(write, "__dojo_yields__", False):
            setattr(MemoryEngine, name, _yielding(write))
    scan: Any = MemoryEngine.scan_find_semantics
    if not getattr(scan, "__dojo_yields__", False):
        MemoryEngine.scan_find_semantics = _yielding_scan(scan)  # type: ignore[method-assign]


def sliced_insert(command: dict[str, Any]) -> bool:
    """Whether an ``insert`` command runs in slices: many documents, not in a transaction."""
    documents = command.get("documents")
    return (
        isinstance(documents, list)
        and len(documents) > INSERT_SLICE
        and "autocommit" not in command
        and "startTransaction" not in command
    )


async def insert_in_slices(body: dict[str, Any], run: Run) -> dict[str, Any]:
    """Run the ``insert`` ``body`` as inserts of :data:`INSERT_SLICE` documents with ``run``,
    yielding between them, and answer as the whole insert would: ``n`` summed, ``writeErrors``
    indexed into the whole list, an ordered insert stopped at its first error."""
    documents = body["documents"]
    ordered = body.get("ordered", True) is not False
    # A retryable write's txnNumber would make the second slice a retry of the first.
    base = {k: v for k, v in body.items() if k not in ("documents", "txnNumber")}
    inserted, errors, answer = 0, [], None
    for start in range(0, len(documents), INSERT_SLICE):
        if start:
            await asyncio.sleep(0)
        answer = await run({**base, "documents": documents[start : start + INSERT_SLICE]})
        if answer.get("ok") != 1:
            return answer
        inserted += answer.get("n", 0)
        slice_errors = answer.get("writeErrors", [])
        errors += [{**error, "index": error["index"] + start} for error in slice_errors]
        if ordered and slice_errors:
            break
    merged = {**answer, "n": inserted} if answer else {"ok": 1, "n": 0}
    merged.pop("writeErrors", None)
    if errors:
        merged["writeErrors"] = errors
    return merged


async def encoded_in_turns(result: Any) -> Any:
    """``result`` with the documents of its cursor batch, when there are many, as BSON already
    (``RawBSONDocument``, which the reply's encoding copies as they are), encoded taking turns.
    The bytes are those mongoeco's encoding of the whole reply would give them."""
    cursor = result.get("cursor") if isinstance(result, dict) else None
    if not isinstance(cursor, dict):
        return result
    for key in ("firstBatch", "nextBatch"):
        documents = cursor.get(key)
        if isinstance(documents, list) and len(documents) > LONG_BATCH:
            from bson import BSON
            from bson.raw_bson import RawBSONDocument
            from mongoeco.wire.bson_bridge import encode_wire_value

            encoded = []
            for document in documents:
                if isinstance(document, dict):
                    document = RawBSONDocument(BSON.encode(encode_wire_value(document)))
                encoded.append(document)
                await _take_turn()
            cursor[key] = encoded
    return result
