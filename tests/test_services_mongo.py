"""The MongoDB service on its emulator backend: real processes, real pymongo clients."""

from __future__ import annotations

import os
import signal
import socket
import time
from pathlib import Path

import pymongo
import pytest
from bson.decimal128 import Decimal128

from dbdojo import procs, state
from dbdojo.mongo.service import MongoService, describe, emulator_available
from dbdojo.records import ServerRecord
from dbdojo.workspace import Workspace
from tests.helpers import Running, running_emulator

pytestmark = pytest.mark.skipif(  # a skip that says what is missing, never hides a failure
    emulator_available() is not None, reason=f"no MongoDB emulator: {emulator_available()}"
)


emulator = pytest.fixture(scope="module")(running_emulator)


def test_start_round_trip_and_describe(emulator: Running) -> None:
    record = emulator.record
    assert record is not None and record.backend == "emulator"
    assert procs.is_ours(record.pid, record.extra["started"], record.extra["marker"])
    with emulator.client() as client:
        coll = client.roundtrip.things
        coll.insert_one({"_id": 1, "name": "Ada", "tags": ["x", "y"]})
        assert coll.find_one({"tags": "y"}) == {"_id": 1, "name": "Ada", "tags": ["x", "y"]}
        info = describe(client)
    assert info["kind"] == "emulator"
    assert info["label"].startswith("mongoeco 4.11") and "not a real MongoDB" in info["label"]
    assert info["limits_doc"] == "notebooks/MONGODB-EMULATOR.md"
    assert (Path(__file__).parents[1] / info["limits_doc"]).is_file()
    health = emulator.service.probe(record.url)
    assert health.healthy and "emulator" in health.version


def test_probe_of_nothing_is_unhealthy() -> None:
    port = procs.free_port()
    health = MongoService().probe(f"mongodb://127.0.0.1:{port}/?serverSelectionTimeoutMS=300")
    assert not health.healthy and health.detail


def test_start_adopts_the_running_server(emulator: Running) -> None:
    assert emulator.record is not None
    again = emulator.service.start(emulator.record)
    assert again.pid == emulator.record.pid and again.port == emulator.record.port


def test_clean_restart_keeps_changed_data(emulator: Running) -> None:
    from dbdojo.mongo import snapshots as mongo_snapshots

    mongo_snapshots.build_snapshot("svc_base", lambda db: db.items.insert_many([{"n": 1}]))
    ws = Workspace("svc_clean")
    mongo_snapshots.restore(ws, "svc_base")
    with emulator.client() as client:
        client[ws.database].items.insert_one({"n": 2})
        client.scratch.notes.insert_one({"kept": True})  # a database no snapshot knows
    emulator.stop()
    emulator.start()
    with emulator.client() as client:
        assert sorted(d["n"] for d in client[ws.database].items.find()) == [1, 2]
        assert client.scratch.notes.count_documents({"kept": True}) == 1


def test_kill_9_then_start_recovers_workspaces_with_their_writes(emulator: Running) -> None:
    from dbdojo.mongo import snapshots as mongo_snapshots

    mongo_snapshots.build_snapshot("svc_crash", lambda db: db.items.insert_many([{"n": 7}]))
    ws = Workspace("svc_crash")
    mongo_snapshots.restore(ws, "svc_crash")
    with emulator.client() as client:
        client[ws.database].items.insert_one({"n": 8})  # journaled: survives a crash
    assert emulator.record is not None
    old_pid = emulator.record.pid
    assert old_pid is not None
    os.kill(old_pid, signal.SIGKILL)
    assert _gone(old_pid)
    record = emulator.start()
    assert record.pid != old_pid
    with emulator.client() as client:
        assert sorted(d["n"] for d in client[ws.database].items.find()) == [7, 8]


def test_taken_port_moves_to_another(emulator: Running) -> None:
    assert emulator.record is not None
    emulator.stop()
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", emulator.record.port or 0))
        squatter.listen()
        record = emulator.start()
        assert record.port != squatter.getsockname()[1]
    with emulator.client() as client:
        assert client.admin.command("ping")["ok"] == 1


def test_stop_kills_an_emulator_that_ignores_sigterm(emulator: Running) -> None:
    record = emulator.record
    assert record is not None and record.pid
    os.kill(record.pid, signal.SIGSTOP)  # like a busy server: SIGTERM is not acted on
    service = MongoService()
    service.stop_timeout = 1
    began = time.monotonic()
    service.stop(record)
    assert _gone(record.pid)
    assert time.monotonic() - began < 10
    record.pid = None
    state.put_record(record)
    emulator.start()


def _gone(pid: int, timeout: float = 10) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if procs.started_at(pid) is None:
            return True
        time.sleep(0.05)
    return False


def test_what_out_writes_survives_a_restart(emulator: Running) -> None:
    """$out (evaluated by the kit around mongoeco) stores plain documents: the database is
    saved at stop and loaded at start (mongoeco's immutable result containers could not be
    loaded back, and the database came back empty)."""
    grouped = [
        {
            "$group": {
                "_id": {"day": "$day"},
                "n": {"$sum": 1},
                "total": {"$sum": "$price"},
                "items": {"$push": "$item"},
            }
        },
        {"$out": "dst"},
    ]
    with emulator.client() as client:
        client.outsave.src.insert_many(
            [{"day": "mon", "price": Decimal128("1.25"), "item": {"x": [1]}} for _ in range(2)]
        )
        client.outsave.src.aggregate(grouped)
    emulator.stop()
    emulator.start()
    with emulator.client() as client:
        assert list(client.outsave.dst.find()) == [
            {
                "_id": {"day": "mon"},
                "n": 2,
                "total": Decimal128("2.50"),
                "items": [{"x": [1]}, {"x": [1]}],
            }
        ]


def test_requires_real_mongodb_stops_on_the_emulator(emulator: Running) -> None:
    from dbdojo.mongo.gaps import EMULATOR_GAPS, RequiresRealMongoDB, requires_real_mongodb

    with emulator.client() as client:
        with pytest.raises(RequiresRealMongoDB, match=r"needs a real MongoDB.*changeStream"):
            requires_real_mongodb("change_streams", client)
        with pytest.raises(KeyError, match="unknown emulator gap"):
            requires_real_mongodb("no_such_feature", client)
        # the gap is real: the stage fails on the emulator
        with pytest.raises(pymongo.errors.OperationFailure, match="changeStream"):
            client.gaps.t.watch()
    assert "$centerSphere" in EMULATOR_GAPS


def test_requests_wait_for_the_database_being_recovered(emulator: Running) -> None:
    """Right after a restart the emulator recovers in the background; a query for a workspace
    it has not recovered yet waits for it instead of seeing an empty database."""
    from dbdojo.mongo import snapshots as mongo_snapshots

    docs = [{"n": i} for i in range(300)]
    mongo_snapshots.build_snapshot("svc_lazy", lambda db: db.items.insert_many(docs))
    names = [Workspace(f"svc_lazy{i}") for i in range(4)]
    for ws in names:
        mongo_snapshots.restore(ws, "svc_lazy")
    emulator.stop()
    record = emulator.service.start(state.get_record("mongo"))  # listening, maybe not serving
    state.put_record(record)
    emulator.record = record
    with pymongo.MongoClient(record.url, serverSelectionTimeoutMS=60000) as client:
        assert client[names[-1].database].items.count_documents({}) == 300
        status = mongo_control_status(record)
        assert set(status) >= {"ready", "recovering"} and status["ready"] is True
        assert {ws.database for ws in names} <= set(client.list_database_names())


def mongo_control_status(record: ServerRecord) -> dict:
    from dbdojo.mongo.emulator import control

    found = control.status(record.extra["control"])
    assert found is not None, "the emulator's control socket does not answer"
    return found
