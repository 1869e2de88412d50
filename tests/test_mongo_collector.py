"""The emulator's garbage collection policy (dbdojo.mongo.emulator.collector): no automatic
full pass inside an operation; the oldest generation collected when the emulator is idle, or
after a while of unbroken traffic."""

from __future__ import annotations

import asyncio
import gc

import pytest

from dbdojo.mongo.emulator import collector


@pytest.fixture
def thresholds():
    saved = gc.get_threshold()
    yield
    gc.set_threshold(*saved)


def _promote(times: int) -> None:
    for _ in range(times):
        gc.collect(1)  # each pass over the middle generation counts one for the oldest


def test_full_passes_wait_for_an_idle_moment(thresholds, monkeypatch):
    monkeypatch.setattr(collector, "LOOK_EVERY", 0.01)
    monkeypatch.setattr(collector, "IDLE", 0.05)
    usual = gc.get_threshold()[2]
    assert collector.defer_full_passes() == usual
    assert gc.get_threshold()[2] == collector.NEVER
    assert collector.defer_full_passes() == 10  # twice: still deferred, the usual due

    async def scenario() -> tuple[int, int]:
        activity = collector.Activity()
        task = asyncio.create_task(collector.collect_when_idle(activity, due=3))
        activity.begin()  # a request runs: no full pass, however due
        _promote(5)
        await asyncio.sleep(0.2)
        during = gc.get_count()[2]
        activity.end()
        await asyncio.sleep(0.2)  # idle now: collected
        after = gc.get_count()[2]
        task.cancel()
        return during, after

    during, after = asyncio.run(scenario())
    assert during >= 5 and after == 0


def test_unbroken_traffic_gets_a_full_pass_after_a_while(thresholds, monkeypatch):
    monkeypatch.setattr(collector, "LOOK_EVERY", 0.01)
    monkeypatch.setattr(collector, "FORCE", 0.1)
    collector.defer_full_passes()

    async def scenario() -> int:
        activity = collector.Activity()
        activity.begin()
        task = asyncio.create_task(collector.collect_when_idle(activity, due=2))
        _promote(3)
        await asyncio.sleep(0.4)
        task.cancel()
        return gc.get_count()[2]

    assert asyncio.run(scenario()) == 0
