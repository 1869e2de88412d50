"""Long replies take turns (dbdojo.mongo.emulator.fairness.encoded_in_turns): the event loop
serves other clients between two documents of a long batch, and the reply's bytes are those of
the batch encoded in one piece. The end-to-end view (another client served during a find of
many documents) is in tests/test_mongo_conformance.py; the wait, in benchmarks."""

from __future__ import annotations

import asyncio
import copy

import pytest
from bson import BSON

from dbdojo.mongo.emulator import fairness


def _reply(count: int) -> dict:
    batch = [{"_id": i, "items": [{"k": k, "p": 1.25} for k in range(3)]} for i in range(count)]
    return {"ok": 1, "cursor": {"id": 0, "ns": "d.c", "firstBatch": batch}}


def _encoded_while_ticking(reply: dict) -> tuple[dict, int]:
    """``encoded_in_turns(reply)`` and how often another task ran meanwhile."""

    async def main() -> tuple[dict, int]:
        ticks, stop = [0], asyncio.Event()

        async def other_client() -> None:
            while not stop.is_set():
                ticks[0] += 1
                await asyncio.sleep(0)

        task = asyncio.create_task(other_client())
        await asyncio.sleep(0)
        before = ticks[0]
        result = await fairness.encoded_in_turns(reply)
        during = ticks[0] - before
        stop.set()
        await task
        return result, during

    return asyncio.run(main())


@pytest.fixture
def every_document_a_turn(monkeypatch):
    monkeypatch.setattr(fairness, "SLICE_SECONDS", 0.0)  # a turn after each document


def test_a_long_batch_is_encoded_taking_turns_to_the_same_bytes(every_document_a_turn):
    reply = _reply(1000)
    whole = BSON.encode(copy.deepcopy(reply))
    result, others_ran = _encoded_while_ticking(reply)
    assert others_ran >= 900, f"another task ran {others_ran} times during 1,000 documents"
    assert BSON.encode(result) == whole


def test_a_short_batch_is_left_to_the_reply(every_document_a_turn):
    reply = _reply(fairness.LONG_BATCH)
    result, others_ran = _encoded_while_ticking(reply)
    assert others_ran <= 1
    assert all(type(d) is dict for d in result["cursor"]["firstBatch"])
