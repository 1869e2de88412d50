"""The seed's MongoDB snapshot built in a forked child (dbdojo.dataset.mongo_build)."""

from __future__ import annotations

import os

import pytest

from dbdojo.dataset import mongo_build, mongo_data
from dbdojo.dataset.generate import generate
from dbdojo.mongo import snapshots as mongo_snapshots
from dbdojo.mongo.service import emulator_available
from dbdojo.workspace import Workspace
from tests.helpers import Running, running_emulator
from tests.test_mongo_snapshots import checksum

pytestmark = pytest.mark.skipif(
    emulator_available() is not None, reason=f"no MongoDB emulator: {emulator_available()}"
)

emulator = pytest.fixture(scope="module")(running_emulator)


@pytest.fixture(scope="module")
def tiny():
    return generate("tiny")


def _restored(emulator: Running, snapshot: str) -> tuple[str, dict]:
    ws = Workspace(f"{snapshot}_copy")
    mongo_snapshots.restore(ws, snapshot)
    with emulator.client() as client:
        db = client[ws.database]
        return checksum(db), db.dataset_info.find_one({"_id": "dataset"})


def test_a_forked_build_equals_one_built_in_process(
    emulator: Running, tiny, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert mongo_build.forking(), "this test is about the forked build (Linux)"
    forked = mongo_build.MongoBuild(tiny, "mb_forked")
    assert forked._process is not None and forked._process.pid != os.getpid()
    assert forked.finish({"checksum": "c1"}) is None
    monkeypatch.setattr(mongo_build, "forking", lambda: False)
    here = mongo_build.MongoBuild(tiny, "mb_here")
    assert here._process is None
    assert here.finish({"checksum": "c1"}) is None
    forked_sum, forked_info = _restored(emulator, "mb_forked")
    here_sum, _ = _restored(emulator, "mb_here")
    assert forked_sum == here_sum
    assert forked_info["checksum"] == "c1"  # the metadata sent after the documents went in


def test_a_failed_build_raises_with_the_childs_reason(
    emulator: Running, tiny, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(data, meta):
        raise ValueError("no documents today")

    monkeypatch.setattr(mongo_data, "builder", broken)  # the child is forked with it
    build = mongo_build.MongoBuild(tiny, "mb_broken")
    with pytest.raises(RuntimeError, match="mb_broken: ValueError: no documents today"):
        build.finish({"checksum": "c"})
    assert "mb_broken" not in mongo_snapshots.snapshots()


def test_a_cancelled_build_keeps_the_previous_snapshot(emulator: Running, tiny) -> None:
    mongo_snapshots.build_snapshot("mb_keep", lambda db: db.items.insert_many([{"v": "old"}]))
    build = mongo_build.MongoBuild(tiny, "mb_keep")
    process = build._process
    build.cancel()  # what a seed whose PostgreSQL load failed does
    assert process is not None and not process.is_alive()
    ws = Workspace("mb_keep_copy")
    mongo_snapshots.restore(ws, "mb_keep")
    with emulator.client() as client:
        assert [d["v"] for d in client[ws.database].items.find()] == ["old"]
